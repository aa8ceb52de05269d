"""``manage.py dockerflow_heartbeat``: in-process checks and the ``--url`` probe.

``call_command`` shows the output and raises SystemExit(1) / CommandError;
the real exit codes (0, 1, and 2 for usage errors only) are asserted on
``manage.py`` processes running testproject.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.core.management import CommandError, call_command
from django.dispatch import Signal
from django.test import Client, override_settings

from dockerflow import health
from dockerflow.django import heartbeat as heartbeat_engine
from dockerflow.django.management.commands.dockerflow_heartbeat import Command
from dockerflow.django.signals import heartbeat_failed, heartbeat_passed

from .conftest import free_port
from .test_probe import http, serving

ROOT = Path(__file__).resolve().parent.parent
TESTPROJECT = ROOT / "testproject"

OK = "tests.test_command.check_ok"
WARNS = "tests.test_command.check_warns"
FAILS = "tests.test_command.check_fails"
MANY = "tests.test_command.check_many_messages"
HOSTILE = "tests.test_command.check_hostile_message"
SLOW = "tests.test_command.check_slow"
FLIPPING = "tests.test_command.check_flips"


def check_ok(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return []


def check_warns(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [checks.Warning("disk nearly full", id="tests.W001")]


def check_fails(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [checks.Error("cannot reach the queue", id="tests.E001")]


def check_many_messages(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [checks.Warning(f"problem {i}", id=f"tests.W1{i:02d}") for i in range(10)]


def check_hostile_message(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [checks.Error("line one\nline two\x1b[31m red", id="tests.E002")]


#: check_slow blocks until this is set (or 10 s pass); tests set it when done.
RELEASE_SLOW = threading.Event()


def check_slow(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    RELEASE_SLOW.wait(10)
    return []


#: What check_flips reports: flipped by the tests.
FLIPS = {"failing": False}


def check_flips(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if FLIPS["failing"]:
        return [checks.Error("flipped to failing", id="tests.E003")]
    return []


class Outcome:
    """What one ``call_command`` run printed, and how it ended."""

    def __init__(self, stdout: str, stderr: str, exit_code: int) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.exit_code = exit_code


def heartbeat(*args: str) -> Outcome:
    """``call_command('dockerflow_heartbeat', *args)``; exit 0 unless SystemExit says otherwise."""
    stdout, stderr = StringIO(), StringIO()
    try:
        call_command("dockerflow_heartbeat", *args, stdout=stdout, stderr=stderr)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        return Outcome(stdout.getvalue(), stderr.getvalue(), code)
    return Outcome(stdout.getvalue(), stderr.getvalue(), 0)


# --- In-process --------------------------------------------------------------------


@pytest.mark.django_db
def test_default_checks_pass_on_a_migrated_database() -> None:
    outcome = heartbeat()
    assert outcome.exit_code == 0
    lines = outcome.stdout.splitlines()
    assert lines[0].startswith("check_database_connected")
    assert lines[0].split()[1] == "ok"
    assert lines[0].split()[3] == "ms"
    assert lines[1].startswith("check_migrations_applied")
    assert lines[-1].startswith("healthy: status ok (fails at error), 2 checks in ")
    assert outcome.stderr == ""


@override_settings(DOCKERFLOW_CHECKS=[OK, FAILS])
def test_failing_check_exits_1_with_its_message() -> None:
    outcome = heartbeat()
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    lines = outcome.stderr.splitlines()
    assert lines[0].split()[:2] == ["check_ok", "ok"]
    assert lines[1].split()[:2] == ["check_fails", "error"]
    assert lines[1].endswith("tests.E001: cannot reach the queue")
    assert lines[-1].startswith("unhealthy: status error (fails at error), 2 checks in ")


@override_settings(DOCKERFLOW_CHECKS=[OK, WARNS])
def test_warning_passes_at_the_default_fail_level() -> None:
    outcome = heartbeat()
    assert outcome.exit_code == 0
    assert "tests.W001: disk nearly full" in outcome.stdout
    assert "healthy: status warning (fails at error)" in outcome.stdout


@override_settings(DOCKERFLOW_CHECKS=[OK, WARNS])
def test_fail_level_warning_option_fails_on_a_warning() -> None:
    outcome = heartbeat("--fail-level", "warning")
    assert outcome.exit_code == 1
    assert "unhealthy: status warning (fails at warning)" in outcome.stderr


@override_settings(DOCKERFLOW_CHECKS=[OK, WARNS], DOCKERFLOW_HEARTBEAT_FAIL_LEVEL="warning")
def test_fail_level_follows_the_setting() -> None:
    assert heartbeat().exit_code == 1
    assert heartbeat("--fail-level", "error").exit_code == 0  # the option wins
    assert heartbeat("--fail-level", "ERROR").exit_code == 0  # any case


@override_settings(DOCKERFLOW_CHECKS=[OK, FAILS], DOCKERFLOW_HEARTBEAT_FAIL_LEVEL="nonsense")
def test_bad_fail_level_setting_falls_back_to_error() -> None:
    outcome = heartbeat()
    assert outcome.exit_code == 1
    assert "(fails at error)" in outcome.stderr


@override_settings(DOCKERFLOW_CHECKS=[OK, FAILS, WARNS])
def test_check_option_runs_a_subset() -> None:
    outcome = heartbeat("--check", "check_ok", "--check", "check_warns", "--check", "check_ok")
    assert outcome.exit_code == 0
    names = [line.split()[0] for line in outcome.stdout.splitlines()[:-1]]
    assert names == ["check_ok", "check_warns"]  # check_fails did not run; check_ok once
    assert "2 checks in" in outcome.stdout


@override_settings(DOCKERFLOW_CHECKS=[OK, FAILS])
def test_unknown_check_is_unhealthy_listing_the_valid_ones() -> None:
    # A probe definition that names no configured check must fail, not pass.
    outcome = heartbeat("--check", "check_ok", "--check", "check_nope")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert outcome.stderr.strip() == (
        "unhealthy: no configured check named 'check_nope'; "
        "the configured checks are: check_ok, check_fails"
    )


@override_settings(DOCKERFLOW_CHECKS=[])
def test_unknown_check_with_no_checks_configured() -> None:
    outcome = heartbeat("--check", "database")
    assert outcome.exit_code == 1
    assert "the configured checks are: none (DOCKERFLOW_CHECKS is empty)" in outcome.stderr


@override_settings(DOCKERFLOW_CHECKS=[])
def test_no_checks_configured_is_healthy() -> None:
    outcome = heartbeat()
    assert outcome.exit_code == 0
    assert outcome.stdout.strip().startswith("healthy: status ok (fails at error), no checks")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon", "", "86400"])
def test_bad_timeout_is_a_usage_error(value: str) -> None:
    with pytest.raises(CommandError, match=r"argument --timeout: timeout"):
        heartbeat("--timeout", value)


def test_bad_fail_level_is_a_usage_error() -> None:
    with pytest.raises(
        CommandError, match=r"argument --fail-level: 'critical' is not one of: warning, error"
    ):
        heartbeat("--fail-level", "critical")


def test_bad_format_is_a_usage_error() -> None:
    with pytest.raises(CommandError, match=r"argument --format: invalid choice"):
        heartbeat("--format", "xml")


@override_settings(DOCKERFLOW_CHECKS=[OK, FAILS])
def test_timeout_option_is_passed_to_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    real_run = heartbeat_engine.run

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return real_run(**kwargs)

    monkeypatch.setattr(heartbeat_engine, "run", spy)
    heartbeat("--timeout", "2.5", "--check", "check_ok")
    heartbeat()
    assert seen[0]["timeout"] == 2.5
    assert list(seen[0]["names"]) == ["check_ok"]
    assert seen[1]["timeout"] is None  # the engine applies DOCKERFLOW_HEARTBEAT_TIMEOUT
    assert seen[1]["names"] is None
    assert seen[1]["fail_level"] == "error"
    assert seen[1]["use_cache"] is False  # an exec probe asks about this moment


@override_settings(DOCKERFLOW_CHECKS=[OK, SLOW])
def test_timeout_bounds_the_run_and_names_the_check() -> None:
    RELEASE_SLOW.clear()
    try:
        start = time.monotonic()
        outcome = heartbeat("--timeout", "0.3")
        elapsed = time.monotonic() - start
    finally:
        RELEASE_SLOW.set()
    assert outcome.exit_code == 1
    line = next(line for line in outcome.stderr.splitlines() if line.startswith("check_slow"))
    assert line.split()[1] == "error"
    assert health.ERROR_CHECK_TIMED_OUT in line
    assert "0.3" in line
    assert elapsed < 0.3 + 2.0


@override_settings(DOCKERFLOW_CHECKS=[OK, FAILS])
def test_check_by_dotted_path() -> None:
    outcome = heartbeat("--check", FAILS)
    assert outcome.exit_code == 1
    assert outcome.stderr.splitlines()[0].startswith("check_fails")
    assert "1 check in" in outcome.stderr


@override_settings(DOCKERFLOW_CHECKS=[OK, FLIPPING], DOCKERFLOW_HEARTBEAT_CACHE_SECONDS=300)
def test_never_answers_from_the_heartbeat_cache(client: Client) -> None:
    FLIPS["failing"] = False
    try:
        assert client.get("/__heartbeat__").status_code == 200  # cached for 300 s
        FLIPS["failing"] = True
        assert client.get("/__heartbeat__").status_code == 200  # the view reuses it
        outcome = heartbeat()
    finally:
        FLIPS["failing"] = False
    assert outcome.exit_code == 1
    assert "tests.E003: flipped to failing" in outcome.stderr


@pytest.mark.parametrize(
    ("args", "expected"), [((), heartbeat_passed), (("--fail-level", "warning"), heartbeat_failed)]
)
@override_settings(DOCKERFLOW_CHECKS=[OK, WARNS])
def test_signals_follow_the_fail_level_option(args: tuple[str, ...], expected: Signal) -> None:
    received: list[Signal] = []

    def receiver(signal: Signal, **kwargs: Any) -> None:
        received.append(signal)

    heartbeat_passed.connect(receiver)
    heartbeat_failed.connect(receiver)
    try:
        heartbeat(*args)
    finally:
        heartbeat_passed.disconnect(receiver)
        heartbeat_failed.disconnect(receiver)
    assert received == [expected]


@override_settings(DOCKERFLOW_CHECKS=[OK, MANY])
def test_long_message_lists_are_cut_on_the_text_line() -> None:
    outcome = heartbeat()
    line = next(line for line in outcome.stdout.splitlines() if line.startswith("check_many"))
    assert "tests.W100: problem 0; tests.W101: problem 1; tests.W102: problem 2" in line
    assert "(+7 more; --format json lists them all)" in line
    assert "problem 3" not in line


@override_settings(DOCKERFLOW_CHECKS=[HOSTILE])
def test_messages_stay_on_one_line_without_control_characters() -> None:
    outcome = heartbeat()
    lines = outcome.stderr.splitlines()
    assert len(lines) == 2  # the check and the verdict
    assert "tests.E002: line one line two" in lines[0]
    assert "\x1b" not in outcome.stderr


@override_settings(DOCKERFLOW_CHECKS=[OK, FAILS])
def test_verbosity_0_prints_only_the_verdict() -> None:
    outcome = heartbeat("--verbosity", "0")
    assert outcome.exit_code == 1
    assert outcome.stderr.splitlines() == [outcome.stderr.strip()]
    assert outcome.stderr.startswith("unhealthy: status error")


@override_settings(DOCKERFLOW_CHECKS=[OK])
def test_engine_failure_is_unhealthy_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("postgres://admin:hunter2@db/app unreachable")

    monkeypatch.setattr(heartbeat_engine, "run", broken)
    outcome = heartbeat()
    assert outcome.exit_code == 1
    assert "unhealthy: the heartbeat could not run (RuntimeError)" in outcome.stderr
    assert "hunter2" not in outcome.stderr + outcome.stdout  # details go to the log only
    assert any(record.exc_info for record in caplog.records)


# --- --format json ------------------------------------------------------------------


@pytest.mark.parametrize(
    "configured", [[OK], [OK, WARNS], [OK, FAILS, WARNS], [HOSTILE], [MANY], []]
)
def test_json_is_exactly_the_heartbeat_body_with_details(
    configured: list[str], client: Client
) -> None:
    with override_settings(DOCKERFLOW_CHECKS=configured, DOCKERFLOW_HEARTBEAT_SHOW_DETAILS=True):
        outcome = heartbeat("--format", "json")
        response = client.get("/__heartbeat__")
    printed = outcome.stdout if outcome.stdout else outcome.stderr
    assert printed.rstrip("\n") == response.content.decode()
    body = json.loads(printed)
    assert set(body) == {"status", "checks", "details"}
    assert outcome.exit_code == (1 if response.status_code >= 500 else 0)


@override_settings(DOCKERFLOW_CHECKS=[OK, FAILS], DEBUG=False)
def test_json_shows_details_even_without_debug() -> None:
    outcome = heartbeat("--format", "json")
    assert outcome.exit_code == 1
    body = json.loads(outcome.stdout)
    assert body["status"] == "error"
    assert body["checks"] == {"check_ok": "ok", "check_fails": "error"}
    assert body["details"]["check_fails"]["messages"] == {"tests.E001": "cannot reach the queue"}
    assert outcome.stderr == ""  # JSON only, always on stdout


# --- --url --------------------------------------------------------------------------


def test_url_healthy() -> None:
    with serving(http("200 OK", b'{"status": "ok"}')) as server:
        outcome = heartbeat("--url", server.url + "/__heartbeat__")
    assert outcome.exit_code == 0
    assert outcome.stdout.startswith("healthy: HTTP 200 OK from ")
    assert '{"status": "ok"}' in outcome.stdout


def test_url_5xx_reports_status_and_body() -> None:
    with serving(http("503 Service Unavailable", b'{"status": "error"}')) as server:
        outcome = heartbeat("--url", server.url + "/__heartbeat__")
    assert outcome.exit_code == 1
    assert outcome.stderr.startswith("unhealthy: HTTP 503 Service Unavailable")
    assert '{"status": "error"}' in outcome.stderr


def test_url_redirect_is_unhealthy() -> None:
    raw = http("302 Found", headers="Location: https://web/__lbheartbeat__\r\n")
    with serving(raw) as server:
        outcome = heartbeat("--url", server.url + "/__lbheartbeat__")
    assert outcome.exit_code == 1
    assert "redirect to 'https://web/__lbheartbeat__'" in outcome.stderr
    assert len(server.requests) == 1


def test_url_refused_is_unhealthy() -> None:
    outcome = heartbeat("--url", f"http://127.0.0.1:{free_port()}/__lbheartbeat__")
    assert outcome.exit_code == 1
    assert "connection refused" in outcome.stderr


def test_url_timeout_and_host() -> None:
    stop = threading.Event()
    with serving(lambda conn, head: stop.wait(5) and None) as server:
        outcome = heartbeat("--url", server.url, "--timeout", "0.3", "--host", "web.internal")
        stop.set()
    assert outcome.exit_code == 1
    assert "timed out after 0.3 s" in outcome.stderr
    assert b"\r\nHost: web.internal\r\n" in server.requests[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "ftp://web/"], "only http and https"),
        (["--url", "http://web/", "--check", "check_ok"], "--check cannot be combined with --url"),
        (["--url", "http://web/", "--fail-level", "warning"], "--fail-level cannot be combined"),
        (["--url", "http://web/", "--format", "json"], "--format json cannot be combined"),
        (["--host", "web"], "--host needs --url"),
        (["--url", "http://web/", "--host", "bad host"], "not a valid Host header"),
    ],
)
def test_url_usage_errors(args: list[str], message: str) -> None:
    with pytest.raises(CommandError) as info:
        heartbeat(*args)
    assert message in str(info.value)


# --- The command itself -----------------------------------------------------------------


def test_django_system_checks_are_not_run_first() -> None:
    assert Command.requires_system_checks == []
    assert Command.requires_migrations_checks is False


def test_help_documents_the_exit_codes() -> None:
    help_text = Command().create_parser("manage.py", "dockerflow_heartbeat").format_help()
    assert "Exit codes: 0 healthy; 1 unhealthy" in help_text
    assert "2 usage error only, never a health outcome" in help_text


# --- Real processes: the exit codes Docker sees ----------------------------------------


@pytest.fixture(scope="module")
def migrated_sqlite() -> Iterator[str]:
    """A migrated SQLite database for testproject; its DATABASE_URL."""
    with tempfile.TemporaryDirectory(prefix="dockerflow-command-") as workdir:
        url = f"sqlite:///{workdir}/db.sqlite3"
        done = manage("migrate", "--noinput", "--verbosity", "0", database_url=url)
        assert done.returncode == 0, done.stderr
        yield url


def manage(
    *args: str, database_url: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` of testproject in a fresh process."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "testproject.settings",
        "DATABASE_URL": database_url,
    }
    environment.pop("PYTHONPATH", None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=TESTPROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_process_healthy_exits_0(migrated_sqlite: str) -> None:
    done = manage("dockerflow_heartbeat", database_url=migrated_sqlite)
    assert done.returncode == 0, done.stderr
    assert "healthy: status ok" in done.stdout


def test_process_json_exits_0(migrated_sqlite: str) -> None:
    done = manage("dockerflow_heartbeat", "--format", "json", database_url=migrated_sqlite)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["checks"] == {
        "check_database_connected": "ok",
        "check_migrations_applied": "ok",
    }


def test_process_database_refused_exits_1() -> None:
    url = f"postgres://postgres@127.0.0.1:{free_port()}/test"
    done = manage("dockerflow_heartbeat", "--timeout", "10", database_url=url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "check_database_connected  error" in done.stderr
    assert "unhealthy: status error" in done.stderr


def test_process_unknown_check_exits_1(migrated_sqlite: str) -> None:
    done = manage("dockerflow_heartbeat", "--check", "nope", database_url=migrated_sqlite)
    assert done.returncode == 1
    assert "no configured check named 'nope'; the configured checks are: " in done.stderr
    assert "check_database_connected" in done.stderr


@pytest.mark.parametrize(
    "args",
    [["--timeout", "-3"], ["--fail-level", "fatal"], ["--bogus"], ["--url", "gopher://x/"]],
)
def test_process_usage_errors_exit_2(args: list[str], migrated_sqlite: str) -> None:
    done = manage("dockerflow_heartbeat", *args, database_url=migrated_sqlite)
    assert done.returncode == 2
    assert "usage: manage.py dockerflow_heartbeat" in done.stderr


def test_process_url_refused_exits_1(migrated_sqlite: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/__lbheartbeat__"
    done = manage("dockerflow_heartbeat", "--url", url, database_url=migrated_sqlite)
    assert done.returncode == 1
    assert "connection refused" in done.stderr


def test_process_skips_djangos_system_checks(migrated_sqlite: str) -> None:
    # A wrong setting is a system check *error* (dockerflow.config.E002); a
    # command that ran the system checks first would stop there.
    done = manage(
        "dockerflow_heartbeat",
        database_url=migrated_sqlite,
        env={"DOCKERFLOW_HEARTBEAT_TIMEOUT": "-1"},
    )
    assert "SystemCheckError" not in done.stderr
    assert done.returncode == 0, done.stderr
    assert "check_database_connected" in done.stdout


#: testproject's settings with every log record sent to standard output.
LOGS_ON_STDOUT = """
from testproject.settings import *  # noqa: F403

LOGGING["handlers"]["console"]["stream"] = "ext://sys.stdout"  # noqa: F405
LOGGING["loggers"]["dockerflow"]["level"] = "DEBUG"  # noqa: F405
DOCKERFLOW_CHECKS = ["stdout_logging.failing_check"]


def failing_check(app_configs=None, **kwargs):
    from django.core import checks

    return [checks.Error("the queue is gone", id="tests.E042")]
"""


def test_process_json_is_alone_on_stdout_whatever_logging_says(
    migrated_sqlite: str, tmp_path: Path
) -> None:
    # The failing check logs its reason on dockerflow.checks.registry, which
    # LOGGING sends to stdout: it must land on stderr, not inside the JSON.
    (tmp_path / "stdout_logging.py").write_text(LOGS_ON_STDOUT)
    done = manage(
        "dockerflow_heartbeat",
        "--format",
        "json",
        database_url=migrated_sqlite,
        env={
            "DJANGO_SETTINGS_MODULE": "stdout_logging",
            "PYTHONPATH": f"{tmp_path}{os.pathsep}{TESTPROJECT}",
        },
    )
    assert done.returncode == 1
    body = json.loads(done.stdout)  # one document, nothing else
    assert body["status"] == "error"
    assert body["details"]["failing_check"]["messages"] == {"tests.E042": "the queue is gone"}
    logged = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert any(
        line["Logger"] == "testproject" and line["Type"] == "dockerflow.checks.registry"
        for line in logged
    ), done.stderr
