"""The metrics against the real tools: a Prometheus server scrapes testproject under
gunicorn while PostgreSQL is cut and healed, and ``promtool`` checks the exposition
and the docs' alert rules.

Prometheus and promtool come from Debian's ``prometheus`` package (``.ci/run``
installs it); without them these tests skip. Each test starts its own Prometheus
on a free loopback port and stops it by PID.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from dockerflow.django import heartbeat, metrics
from tests import test_heartbeat as hb
from tests import test_metrics as tm

from .conftest import service_url
from .faultproxy import FaultProxy
from .prometheus import Prometheus, promtool, running_prometheus
from .rst_source import DOCS, directives
from .servers import running_server

#: How long a state may take to show in Prometheus: a scrape every second, a
#: heartbeat timeout of 1 s, and a loaded machine.
SETTLE = 20.0


def docs_block(name: str) -> str:
    """The content of the code block ``:name: <name>`` of the Metrics page."""
    for block in directives(DOCS / "metrics.rst", "code-block"):
        if block.options.get("name") == name:
            return "\n".join(block.content) + "\n"
    raise LookupError(f"metrics.rst has no code block named {name!r}")


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    heartbeat.reset()
    hb.calls.clear()
    yield
    heartbeat.reset()


# --- A real Prometheus, a real server, a real outage -----------------------------------------


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this module (dropped afterwards); its URL."""
    base = service_url("POSTGRES_URL")
    import psycopg

    name = f"dockerflow_metrics_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(base)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def jobs_for(port: int) -> str:
    """The docs' scrape job pointed at ``port``, and the same job choosing by ``Accept`` only."""
    documented = docs_block("metrics-scrape-config")
    assert '"myapp:8000"' in documented
    return documented.replace('"myapp:8000"', f'"127.0.0.1:{port}"') + (
        "  - job_name: by-accept\n"
        "    metrics_path: /__heartbeat__\n"
        "    static_configs:\n"
        f'      - targets: ["127.0.0.1:{port}"]\n'
    )


def each_job(prometheus: Prometheus, expression: str) -> dict[str, Any]:
    """Wait until ``expression`` holds for both jobs; return the vector by job."""
    found: dict[str, Any] = {}
    for job in ("myapp-heartbeat", "by-accept"):
        selected = expression.replace("{", f'{{job="{job}",', 1)
        found[job] = prometheus.wait_for(selected, timeout=SETTLE)
    return found


@pytest.mark.postgres
def test_prometheus_sees_the_database_go_and_come_back(postgres_database: str) -> None:
    upstream = urlsplit(postgres_database)
    with FaultProxy((upstream.hostname or "127.0.0.1", upstream.port or 5432)) as proxy:
        env = {
            "DATABASE_URL": proxy.rewrite(postgres_database),
            "DOCKERFLOW_HEARTBEAT_TIMEOUT": "1",
            "DOCKERFLOW_METRICS_SHOW_CHECKS": "true",
        }
        with (
            running_server("gunicorn", env=env, workers=2) as server,
            running_prometheus(jobs_for(server.port), interval=1.0) as prometheus,
        ):
            database = '{check="check_database_connected"}'
            # Up: both jobs scrape OpenMetrics (not JSON), and every check is healthy.
            each_job(prometheus, "up{} == 1")
            each_job(prometheus, f"dockerflow_check_healthy{database} == 1")
            each_job(prometheus, "dockerflow_heartbeat_healthy{} == 1")
            version = each_job(prometheus, "dockerflow_version_info{}")["myapp-heartbeat"]
            assert version[0]["metric"]["version"] == "dev"
            assert version[0]["metric"]["commit"] == "0" * 40

            proxy.refuse()  # PostgreSQL is gone
            each_job(prometheus, f"dockerflow_check_healthy{database} == 0")
            each_job(prometheus, f"dockerflow_check_level{database} == 40")
            each_job(prometheus, "dockerflow_heartbeat_healthy{} == 0")
            each_job(prometheus, f"dockerflow_check_failures_total{database} > 0")
            # The scrape itself still succeeds: a failed heartbeat is a value.
            each_job(prometheus, "up{} == 1")

            proxy.heal()
            each_job(prometheus, f"dockerflow_check_healthy{database} == 1")
            each_job(prometheus, "dockerflow_heartbeat_healthy{} == 1")

            # Two workers answer the scrapes, each with its own counters (told
            # apart by pid): no series ever went down, so rate() is sound.
            resets = prometheus.query("resets(dockerflow_heartbeat_runs_total[5m]) > 0")
            assert resets == [], resets
            targets = prometheus.targets()
            assert {t["health"] for t in targets} == {"up"}, targets
    assert not server.alive()
    assert prometheus.process.poll() is not None


# --- promtool -----------------------------------------------------------------------------------


def test_promtool_accepts_the_alert_rules_of_the_docs(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(docs_block("metrics-alert-rules"))
    done = promtool("check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 2 rules found" in done.stdout


def test_the_alerts_of_the_docs_fire_when_they_should(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(docs_block("metrics-alert-rules"))
    database = {"check": "database", "instance": "web-1:8000"}
    summary = "web-1:8000: heartbeat check database is failing"
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    # healthy, then failing from minute 1 on
                    {
                        "series": 'dockerflow_check_healthy{check="database",'
                        'instance="web-1:8000"}',
                        "values": "1 0 0 0 0 0",
                    },
                    # one more failure every minute, from two workers
                    {
                        "series": 'dockerflow_check_failures_total{check="database",'
                        'instance="web-1:8000",pid="7"}',
                        "values": "0+1x30",
                    },
                    {
                        "series": 'dockerflow_check_failures_total{check="database",'
                        'instance="web-1:8000",pid="8"}',
                        "values": "0+0x30",
                    },
                ],
                "alert_rule_test": [
                    # pending from minute 1: not yet firing after 1 minute of it
                    {"eval_time": "2m", "alertname": "DockerflowCheckFailing", "exp_alerts": []},
                    {
                        "eval_time": "3m",
                        "alertname": "DockerflowCheckFailing",
                        "exp_alerts": [
                            {
                                "exp_labels": {**database, "severity": "page"},
                                "exp_annotations": {"summary": summary},
                            }
                        ],
                    },
                    {
                        "eval_time": "20m",
                        "alertname": "DockerflowCheckFlapping",
                        "exp_alerts": [
                            {
                                "exp_labels": {**database, "severity": "ticket"},
                                "exp_annotations": {
                                    "summary": "web-1:8000: heartbeat check database "
                                    "failed 15 times in 15 minutes"
                                },
                            }
                        ],
                    },
                ],
            }
        ],
    }
    (tmp_path / "tests.yml").write_text(json.dumps(tests))  # JSON is YAML
    done = promtool("test", "rules", str(tmp_path / "tests.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


class _Replay:
    """A collector that hands back families read from an exposition."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> Iterator[Any]:
        return iter(self.families)


def lint(exposition: bytes) -> tuple[int, str]:
    done = promtool("check", "metrics", stdin=exposition)
    return done.returncode, done.stdout + done.stderr


@override_settings(DOCKERFLOW_CHECKS=[f"{tm.HERE}.hostile_check", hb.path("ok_check")], DEBUG=True)
def test_promtool_accepts_the_exposition(client: Client) -> None:
    response = tm.scrape(client)
    assert response.status_code == 200
    # promtool reads Prometheus' classic text format, not OpenMetrics (it stops at
    # the info type): it lints what prometheus_client writes from the families
    # it parsed out of our OpenMetrics, and the collector's own output.
    parsed = list(text_string_to_metric_families(response.content.decode()))
    replayed = CollectorRegistry(auto_describe=False)
    replayed.register(_Replay(parsed))
    code, output = lint(generate_latest(replayed))
    assert code == 0, output

    registry = CollectorRegistry()
    registry.register(metrics.HeartbeatCollector())
    collected = generate_latest(registry)
    assert b"dockerflow_check_healthy{" in collected
    code, output = lint(collected)
    assert code == 0, output


def test_promtool_finds_problems_when_there_are_some() -> None:
    # The lint above can fail: a counter without _total is reported.
    code, output = lint(
        b"# HELP bad_counter A counter.\n# TYPE bad_counter counter\nbad_counter 1\n"
    )
    assert code != 0
    assert "_total" in output


def test_the_collector_example_of_the_docs_registers_the_collector(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import prometheus_client

    # The example registers on prometheus_client's default registry, imported
    # when ready() runs: give it a fresh one for the test.
    registry = CollectorRegistry()
    monkeypatch.setattr(prometheus_client, "REGISTRY", registry)
    namespace: dict[str, Any] = {}
    exec(compile(docs_block("metrics-collector"), "metrics.rst", "exec"), namespace)
    namespace["MyAppConfig"].ready(None)
    with override_settings(DOCKERFLOW_CHECKS=[hb.path("ok_check")]):
        client.get("/__heartbeat__")
    text = generate_latest(registry).decode()
    assert 'dockerflow_check_healthy{check="ok_check"} 1.0' in text
    assert "dockerflow_heartbeat_runs_total{" in text
