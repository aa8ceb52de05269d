"""The soak's judge: it must miss a target whenever the run shows a problem.

``make soak`` runs the real thing; these tests feed its judging code made-up
runs, so that a soak that cannot fail would be caught here.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dockerflow.django import metrics
from dockerflow.django.heartbeat import CheckResult, HeartbeatResult, RunCounts
from soak.soak import (
    AGENT,
    HEARTBEAT_CACHE_SECONDS,
    HEARTBEAT_MARGIN,
    HEARTBEAT_TIMEOUT,
    MAX_CYCLE_SECONDS,
    TRUTH_GRACE,
    WRK_ROLES,
    LogFigures,
    Probe,
    Samples,
    Scrape,
    connection_bound,
    judge,
    phase_at,
    read_log,
    read_scrape,
    schedule,
    with_database,
)

SECONDS = 70.0
WORKERS = 2
MiB = 2**20


def test_schedule_covers_the_run_and_cuts_each_service() -> None:
    phases = schedule(SECONDS)
    assert phases[0].start == 0
    assert phases[-1].end == pytest.approx(SECONDS)
    assert all(a.end == pytest.approx(b.start) for a, b in itertools.pairwise(phases))
    assert phases[0].healthy
    assert phases[-1].healthy
    assert {p.database for p in phases} == {"up", "cut", "stalled"}
    assert {p.redis for p in phases} == {"up", "cut"}
    assert phase_at(phases, 0).name == "healthy"
    assert phase_at(phases, SECONDS + 5) is phases[-1]


@pytest.mark.parametrize("seconds", [15.0, 90.0, 91.0, 300.0, 3600.0])
def test_long_runs_repeat_the_cycle_so_no_fault_outlasts_a_worker_timeout(
    seconds: float,
) -> None:
    phases = schedule(seconds)
    assert phases[-1].end == pytest.approx(seconds)
    assert max(p.end - p.start for p in phases) < 20
    cycles = sum(1 for p in phases if p.database == "stalled")
    assert cycles == math.ceil(seconds / MAX_CYCLE_SECONDS)


def test_soak_database_url() -> None:
    url = with_database("postgres://u:pw@db.example:5432/test", "soak", application_name="x")
    assert url == "postgres://u:pw@db.example:5432/soak?application_name=x"


def summary_line(rid: str, agent: str = AGENT) -> str:
    fields = {"agent": agent, "rid": rid, "path": "/", "code": 200}
    return json.dumps({"Type": "request.summary", "Fields": fields})


def test_read_log_counts_every_kind_of_line(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(
        "\n".join(
            [
                "[2026-01-01 00:00:00 +0000] [1] [INFO] Booting worker with pid: 2",
                summary_line("soak-2-1"),
                summary_line("soak-2-1"),
                summary_line("ready", agent="Python-urllib/3.11"),
                '{"Type": "request.summary", "Fields": {"rid": "cut-off',
                json.dumps({"Type": "django.request", "Fields": {"msg": "Not Found"}}),
            ]
        )
        + "\n"
    )
    figures = read_log(log)
    assert figures.lines == 6
    assert figures.other_lines == 1
    assert figures.invalid_summary_lines == 1
    assert figures.summary_lines == 2  # the launcher's own request is not counted
    assert figures.rids == Counter({"soak-2-1": 2})


def good_run() -> dict[str, Any]:
    """A run where everything went right; each test breaks one thing."""
    phases = schedule(SECONDS)
    wrk = {
        "threads": [
            {"tid": 1, "role": "pages", "sent": 4, "answered": 2, "pending": True,
             "failed": [1], "statuses": {"200": 2}},
            {"tid": 2, "role": "lb", "sent": 3, "answered": 3, "pending": False,
             "failed": [], "statuses": {"200": 3}},
            {"tid": 3, "role": "hb", "sent": 2, "answered": 2, "pending": False,
             "failed": [], "statuses": {"200": 1, "500": 1}},
        ]
    }  # fmt: skip
    probes = []
    for n, phase in enumerate(phases):
        sent = phase.start + TRUTH_GRACE + 0.5
        probes.append(Probe(f"soak-p-{n}", sent, 0.01, 200 if phase.healthy else 500, None, None))
    # A scrape a second, answered by two workers in turn, each running the
    # checks once a second (the cache allows two).
    scrapes = []
    for second in range(int(SECONDS)):
        healthy = 1.0 if phase_at(phases, second + 0.0).healthy else 0.0
        pid = "101" if second % 2 else "102"
        scrapes.append(Scrape(float(second), 0.01, 200, True, healthy, pid, float(second), None))
    rids = Counter(
        ["soak-1-2", "soak-1-3", "soak-2-1", "soak-2-2", "soak-2-3", "soak-3-1", "soak-3-2"]
        + [p.rid for p in probes]
    )
    log = LogFigures(lines=100, summary_lines=sum(rids.values()), rids=rids)
    samples = Samples(
        connections=[(t, 2) for t in range(int(SECONDS))],
        rss=[(float(t), {101: 50 * MiB, 102: 50 * MiB}) for t in range(int(SECONDS))],
    )
    return {
        "phases": phases,
        "wrk_report": wrk,
        "probes": probes,
        "samples": samples,
        "log": log,
        "scrapes": scrapes,
    }


def run_judge(run: dict[str, Any]) -> dict[str, bool]:
    return judge("gunicorn", SECONDS, WORKERS, **run).targets


def test_a_good_run_meets_every_target() -> None:
    targets = run_judge(good_run())
    assert targets
    assert all(targets.values()), targets


def test_the_first_threads_unsent_request_is_not_a_failure() -> None:
    # wrk calls request() once on its first thread before the run; soak-1-1 is never sent.
    run = good_run()
    result = judge("gunicorn", SECONDS, WORKERS, **run)
    assert result.figures["statuses by role"]["pages"]["failed"] == 0


def test_lbheartbeat_non_2xx_is_a_miss() -> None:
    run = good_run()
    run["wrk_report"]["threads"][1]["statuses"] = {"200": 2, "503": 1}
    assert run_judge(run)["lbheartbeat: 0 non-2xx"] is False


def test_lbheartbeat_failed_request_is_a_miss() -> None:
    run = good_run()
    run["wrk_report"]["threads"][1]["failed"] = [2]
    assert run_judge(run)["lbheartbeat: 0 non-2xx"] is False


def test_slow_heartbeat_is_a_miss() -> None:
    run = good_run()
    slow = run["probes"][2]
    run["probes"][2] = Probe(
        slow.rid, slow.sent, HEARTBEAT_TIMEOUT + HEARTBEAT_MARGIN + 0.1, 500, None, None
    )
    assert run_judge(run)["heartbeat: 100% within timeout + margin"] is False


def test_unanswered_heartbeat_is_a_miss() -> None:
    run = good_run()
    probe = run["probes"][1]
    run["probes"][1] = Probe(probe.rid, probe.sent, 0.5, None, None, "ConnectionResetError()")
    assert run_judge(run)["heartbeat: 100% within timeout + margin"] is False


@pytest.mark.parametrize("index", [0, 1])
def test_heartbeat_that_lies_is_a_miss(index: int) -> None:
    run = good_run()
    probe = run["probes"][index]
    wrong = 500 if probe.status == 200 else 200
    run["probes"][index] = Probe(probe.rid, probe.sent, 0.01, wrong, None, None)
    assert run_judge(run)["heartbeat: told the truth"] is False


def test_heartbeat_just_after_a_change_is_not_judged() -> None:
    run = good_run()
    phase = run["phases"][1]  # the database cut
    run["probes"].append(Probe("soak-p-early", phase.start + 0.1, 0.01, 200, None, None))
    run["log"].rids["soak-p-early"] += 1
    assert run_judge(run)["heartbeat: told the truth"] is True


@pytest.mark.parametrize(
    "change",
    ["lost", "duplicated", "never sent", "invalid"],
)
def test_summary_lines_must_match_the_requests(change: str) -> None:
    run = good_run()
    log: LogFigures = run["log"]
    if change == "lost":
        del log.rids["soak-2-2"]
    elif change == "duplicated":
        log.rids["soak-2-2"] += 1
    elif change == "never sent":
        log.rids["soak-9-1"] += 1
    else:
        log.invalid_summary_lines = 1
    assert run_judge(run)["request.summary: one valid JSON line per request"] is False


def test_failed_or_in_flight_requests_may_have_a_line_or_not() -> None:
    run = good_run()
    run["log"].rids["soak-1-4"] += 1  # in flight when wrk stopped
    assert run_judge(run)["request.summary: one valid JSON line per request"] is True


def test_too_many_database_connections_is_a_miss() -> None:
    run = good_run()
    run["samples"].connections.append((SECONDS - 1, connection_bound("gunicorn", WORKERS) + 1))
    assert run_judge(run)["database connections bounded"] is False


def test_asgi_may_hold_one_more_connection_per_concurrent_page() -> None:
    assert connection_bound("uvicorn", 1) == connection_bound("gunicorn", 1) + WRK_ROLES.count(
        "pages"
    )


def test_growing_memory_is_a_miss() -> None:
    run = good_run()
    run["samples"].rss = [
        (float(t), {101: 50 * MiB + t * MiB, 102: 50 * MiB}) for t in range(int(SECONDS))
    ]
    assert run_judge(run)["memory flat"] is False


def test_a_restarted_worker_is_a_miss() -> None:
    run = good_run()
    run["samples"].rss[-1] = (SECONDS - 1, {101: 50 * MiB, 103: 50 * MiB})
    assert run_judge(run)["no worker restarted"] is False


# --- The scrapes ---------------------------------------------------------------------------


def test_a_scrape_is_read_from_the_real_exposition() -> None:
    result = HeartbeatResult((CheckResult("check_database_connected", (), 0.01),), 0.02)
    body = metrics.render_openmetrics(
        metrics.families(result, counts=RunCounts(runs=12), per_check=True, version=False)
    ).decode()
    scrape = read_scrape(3.0, 0.05, 200, metrics.OPENMETRICS_CONTENT_TYPE, body)
    assert scrape.openmetrics
    assert scrape.healthy == 1.0
    assert scrape.runs == 12.0
    assert scrape.pid is not None
    assert scrape.pid.isdigit()
    json_answer = read_scrape(3.0, 0.05, 200, "application/json", '{"status": "ok"}')
    assert not json_answer.openmetrics
    assert json_answer.runs is None


def test_scrapes_that_are_not_openmetrics_or_slow_are_a_miss() -> None:
    target = "scrape: 100% OpenMetrics within timeout + margin"
    for broken in (
        Scrape(5.0, 0.01, 200, False, None, None, None, None),
        Scrape(5.0, HEARTBEAT_TIMEOUT + HEARTBEAT_MARGIN + 0.1, 200, True, 1.0, "101", 5.0, None),
        Scrape(5.0, 0.01, 500, True, 1.0, "101", 5.0, None),
        Scrape(5.0, 0.5, None, False, None, None, None, "ConnectionResetError()"),
    ):
        run = good_run()
        run["scrapes"][5] = broken
        assert run_judge(run)[target] is False, broken


def test_a_scrape_that_lies_is_a_miss() -> None:
    run = good_run()
    phase = run["phases"][1]  # the database cut
    sent = phase.start + TRUTH_GRACE + 0.5
    run["scrapes"].append(Scrape(sent, 0.01, 200, True, 1.0, "101", 1.0, None))
    assert run_judge(run)["scrape: told the truth"] is False


def test_a_scrape_just_after_a_change_is_not_judged() -> None:
    run = good_run()
    phase = run["phases"][1]
    run["scrapes"].append(Scrape(phase.start + 0.1, 0.01, 200, True, 1.0, "101", 1.0, None))
    assert run_judge(run)["scrape: told the truth"] is True


def test_more_than_one_run_per_cache_window_is_a_miss() -> None:
    run = good_run()
    last = run["scrapes"][-1]
    # The worker ran the checks for every probe: far more than the cache allows.
    runs = (last.runs or 0) + SECONDS / HEARTBEAT_CACHE_SECONDS * 3
    run["scrapes"][-1] = Scrape(last.sent, last.seconds, 200, True, 1.0, last.pid, runs, None)
    result = judge("gunicorn", SECONDS, WORKERS, **run)
    assert result.targets["checks: at most one run per cache window"] is False
    assert result.figures["processes over one run per cache window"]


def test_runs_are_judged_only_with_two_scrapes_of_a_process() -> None:
    run = good_run()
    run["scrapes"] = run["scrapes"][:1]
    assert run_judge(run)["checks: at most one run per cache window"] is False
