"""An OpenMetrics heartbeat against a JSON heartbeat of the same checks (ours only).

Mozilla's package has no OpenMetrics answer, so the comparison is with our own
JSON heartbeat: each case runs in a fresh process that configures a tiny
project (``DockerflowMiddleware`` first, SQLite in a temporary directory,
``DEBUG`` off, the default checks: database connected and migrations applied,
``DOCKERFLOW_METRICS_SHOW_CHECKS`` on so a scrape holds every family), and
requests go through Django's ``WSGIHandler`` in-process, JSON probes and
scrapes (Prometheus' ``Accept`` header) taking turns round by round.

- ``metrics.openmetrics_vs_json``: a scrape against a JSON probe, both running
  the checks. Target: at most 1.1x.
- ``metrics.openmetrics_vs_json.cached``: the same with
  ``DOCKERFLOW_HEARTBEAT_CACHE_SECONDS`` on, so neither runs the checks and the
  figure is the cost of the answer alone (no target: it says what writing the
  families and reading ``version.json`` cost next to ``json.dumps`` of one key).

Run: ``python bench/bench_metrics.py`` (prints JSON lines), or ``make bench
BENCH_ARGS="metrics"``. Under Mozilla's package it prints nothing.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import benchlib

HERE = Path(__file__).resolve()
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
CASES = ["run", "cached"]

urlpatterns: list[Any] = []


def configure(case: str, directory: Path) -> None:
    import django
    from django.conf import settings

    (directory / "version.json").write_text(
        json.dumps(
            {
                "source": "https://github.com/example/app",
                "version": "1.2.3",
                "commit": "0" * 40,
                "build": "https://ci.example.com/1",
            }
        )
    )
    extra: dict[str, Any] = {}
    if case == "cached":
        extra["DOCKERFLOW_HEARTBEAT_CACHE_SECONDS"] = 3600
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-not-secret",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="bench_metrics",
        BASE_DIR=directory,
        INSTALLED_APPS=["dockerflow.django"],
        MIDDLEWARE=["dockerflow.django.middleware.DockerflowMiddleware"],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(directory / "db")}
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        LOGGING_CONFIG=None,
        DOCKERFLOW_METRICS_SHOW_CHECKS=True,
        **extra,
    )
    logging.getLogger().addHandler(logging.NullHandler())
    django.setup()


def request(app: Any, **headers: str) -> bytes:
    response = app(benchlib.wsgi_environ("/__heartbeat__", **headers), benchlib.start_response)
    body = b"".join(response)
    response.close()
    return body


def run_case(case: str) -> dict[str, Any]:
    from django.core.handlers.wsgi import WSGIHandler

    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        configure(case, Path(tmp))
        app = WSGIHandler()
        # Warm up, and make sure each side answers what it should.
        assert json.loads(request(app)) == {"status": "ok"}
        scraped = request(app, accept=PROMETHEUS_ACCEPT)
        assert scraped.endswith(b"# EOF\n"), scraped[-200:]
        assert b'dockerflow_check_healthy{check="check_database_connected"} 1' in scraped
        json_probe, scrape = benchlib.best_interleaved(
            [lambda: request(app), lambda: request(app, accept=PROMETHEUS_ACCEPT)],
            number=50 if case == "run" else 500,
        )
        return {"json": json_probe, "openmetrics": scrape}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        print(json.dumps(run_case(sys.argv[2])))
        return
    if not benchlib.is_ours():
        return  # Mozilla's package answers no scrape: nothing to compare
    figures = {case: benchlib.case_in_child(HERE, case) for case in CASES}
    benchlib.emit_baseline(
        "metrics.openmetrics_vs_json",
        figures["run"]["openmetrics"],
        figures["run"]["json"],
        "a JSON heartbeat",
        1.1,
    )
    benchlib.emit_baseline(
        "metrics.openmetrics_vs_json.cached",
        figures["cached"]["openmetrics"],
        figures["cached"]["json"],
        "a cached JSON heartbeat",
        None,
    )


if __name__ == "__main__":
    main()
