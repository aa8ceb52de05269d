"""A project written as the seed documentation instructs runs unchanged on this package.

``tests/seed_project`` holds the seed's settings, LOGGING dictionary, signal
receivers (with a statsd-style client) and URL include; ``drive.py`` serves it
through Django's test client in a subprocess (its settings cannot share the unit
tests' process) and prints a JSON report, while its logs go to stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from .python_subprocess import ROOT, mozlog_lines, run_python

SEED_PROJECT = Path(__file__).resolve().parent / "seed_project"


def drive(tmp_path: Path, phase: str, **env: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Copy the seed project to ``tmp_path``, run drive.py, return (report, log records)."""
    project = tmp_path / "seed_project"
    shutil.copytree(SEED_PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    pythonpath = os.pathsep.join([str(project / "fakes"), str(project), str(ROOT)])
    result = run_python(
        ["drive.py"], cwd=project, env={"SEED_PHASE": phase, "PYTHONPATH": pythonpath, **env}
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["phase"] == phase
    return report, mozlog_lines(result.stderr)


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Any]]:
    return drive(tmp_path_factory.mktemp("healthy"), "healthy")


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Any]]:
    # Configuration from the environment, as the seed's Configuration chapter asks:
    # a database that cannot be opened.
    unreachable = tmp_path_factory.mktemp("broken") / "missing-directory" / "db.sqlite3"
    return drive(
        tmp_path_factory.mktemp("broken-project"), "broken", DJANGO_DATABASE_NAME=str(unreachable)
    )


class TestHealthyProject:
    """The seed's project, migrated, with its database up."""

    def test_version_serves_version_json_from_base_dir(self, healthy: Any) -> None:
        report, _ = healthy
        expected = json.loads((SEED_PROJECT / "version.json").read_text())
        assert report["/__version__"] == {"status": 200, "body": expected}

    def test_lbheartbeat_answers_200(self, healthy: Any) -> None:
        report, _ = healthy
        assert report["/__lbheartbeat__"]["status"] == 200

    def test_heartbeat_passes_without_details(self, healthy: Any) -> None:
        report, _ = healthy
        # DEBUG is off: the status only, never the checks' details.
        assert report["/__heartbeat__"] == {"status": 200, "body": {"status": "ok"}}

    def test_passed_signal_reaches_the_statsd_receiver(self, healthy: Any) -> None:
        report, _ = healthy
        assert report["statsd"] == [["heartbeat.pass", 1]]

    def test_request_summary_is_mozlog_with_the_seed_logger_name(self, healthy: Any) -> None:
        _, records = healthy
        summaries = [r for r in records if r["Type"] == "request.summary"]
        (page,) = [r for r in summaries if r["Fields"]["path"] == "/"]
        assert page["Logger"] == "<< MySiteName >>"
        assert page["Severity"] == 6
        fields = page["Fields"]
        assert fields["agent"] == "seed-compat"
        assert fields["method"] == "GET"
        assert fields["errno"] == 0
        assert fields["code"] == 200
        assert isinstance(fields["t"], int)
        assert fields["rid"]

    def test_probes_are_not_logged_by_default(self, healthy: Any) -> None:
        _, records = healthy
        paths = {r["Fields"].get("path") for r in records if r["Type"] == "request.summary"}
        assert not paths & {"/__version__", "/__heartbeat__", "/__lbheartbeat__"}

    def test_whitenoise_serves_collected_static_files(self, healthy: Any) -> None:
        report, _ = healthy
        served = report["/static/seedsite/site.css"]
        assert served["status"] == 200
        assert served["body"] == (SEED_PROJECT / "seedsite/static/seedsite/site.css").read_text()

    def test_namespaced_url_include_reverses_and_serves(self, healthy: Any) -> None:
        report, _ = healthy
        assert report["reverse"] == {
            "version": "/__version__",
            "heartbeat": "/__heartbeat__",
            "lbheartbeat": "/__lbheartbeat__",
        }
        assert report["include_only"] == {
            "/__version__": 200,
            "/__lbheartbeat__": 200,
            "/__heartbeat__": 200,
        }

    def test_start_up_checks_only_warn_about_middleware_order(self, healthy: Any) -> None:
        report, _ = healthy
        # The seed puts the middleware among others: a warning, never an error.
        assert report["check_ids"] == ["dockerflow.config.W001"]


class TestBrokenDatabase:
    """The same project with a database that cannot be opened."""

    def test_heartbeat_fails_with_500_json(self, broken: Any) -> None:
        report, _ = broken
        assert report["/__heartbeat__"] == {"status": 500, "body": {"status": "error"}}
        assert report["include_only"]["/__heartbeat__"] == 500

    def test_failed_signal_reaches_the_statsd_receiver(self, broken: Any) -> None:
        report, _ = broken
        assert report["statsd"] == [["heartbeat.fail", 1]]

    def test_lbheartbeat_and_version_do_not_touch_the_database(self, broken: Any) -> None:
        report, _ = broken
        assert report["/__lbheartbeat__"]["status"] == 200
        assert report["/__version__"]["status"] == 200


# The seed's Logging chapter, verbatim (its `'myservice'` logger block was split
# across a page break in the seed; the closing braces are restored).
SEED_LOGGING_CHAPTER = """\
import logging.config

cfg = {
    'version': 1,
    'formatters': {
        'mozlog': {
            '()': 'dockerflow.logging.JsonLogFormatter',
            'logger_name': 'MyServiceName'
        }
    },
    'handlers': {
        'console': {
            'level': 'DEBUG',
            'class': 'logging.StreamHandler',
            'formatter': 'mozlog'
        }
    },
    'loggers': {
        'myservice': {
            'handlers': ['console'],
            'level': 'DEBUG',
        },
    }
}

logging.config.dictConfig(cfg)

logging.info('I am logging in mozlog format now! woo hoo!')
"""


def test_seed_logging_chapter_runs_unchanged(tmp_path: Path) -> None:
    code = SEED_LOGGING_CHAPTER + "logging.getLogger('myservice').info('hello %s', 'world')\n"
    result = run_python(["-c", code], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (record,) = mozlog_lines(result.stderr)  # the root logger's info line goes nowhere
    assert record["Logger"] == "MyServiceName"
    assert record["Type"] == "myservice"
    assert record["Fields"]["msg"] == "hello world"


def test_seed_django_logging_typo_silently_gives_plain_text(tmp_path: Path) -> None:
    """The seed's Django > Logging dict spells the factory key ``'():'``.

    dictConfig ignores unknown keys, so that dict configures a plain
    ``logging.Formatter``: it runs, but the lines are not MozLog. The docs show
    the key as ``'()'`` and say why (see docs/django.rst, Logging).
    """
    code = textwrap.dedent(
        """\
        import logging.config
        LOGGING = {
            'version': 1,
            'formatters': {
                'mozlog': {
                    '():': 'dockerflow.logging.JsonLogFormatter',
                    'logger_name': 'MyServiceName'
                }
            },
            'handlers': {
                'console': {
                    'level': 'DEBUG',
                    'class': 'logging.StreamHandler',
                    'formatter': 'mozlog'
                },
            },
            'loggers': {
                'myservice': {
                    'handlers': ['console'],
                    'level': 'DEBUG',
                },
            },
        }
        logging.config.dictConfig(LOGGING)
        logging.getLogger('myservice').info('plain')
        """
    )
    result = run_python(["-c", code], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "plain\n"
    fixed = code.replace("'():'", "'()'")
    result = run_python(["-c", fixed], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (record,) = mozlog_lines(result.stderr)
    assert record["Fields"]["msg"] == "plain"
