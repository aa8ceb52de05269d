"""Heartbeat results as metrics: the engine's last result and counts, the OpenMetrics
text (read back with prometheus_client's OpenMetrics parser), the view's content
negotiation, hostile names, and the prometheus_client collector.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.test import AsyncClient, Client, override_settings
from hypothesis import example, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import text_string_to_metric_families as classic_families

from dockerflow.django import heartbeat, metrics, views
from dockerflow.django.heartbeat import CheckResult, HeartbeatResult, RunCounts
from tests import test_heartbeat as hb

P = hb.path
HERE = "tests.test_metrics"
PID = str(os.getpid())
PROMETHEUS_2 = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
PROMETHEUS_3 = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
    "application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
)
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
#: Quotes, backslashes, a line feed, a carriage return, a tab, a NUL, what
#: separates labels, and non-ASCII letters and emoji.
HOSTILE = 'db "main" \\ C:\\x\n}{,=\r\t\x00 ünïcödé 数据库 🦊'


def hostile_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [checks.Error("down", id="tests.E001")]


# A check function's name is its check's name; this one is as hostile as it gets.
hostile_check.__name__ = HOSTILE


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    heartbeat.reset()
    hb.calls.clear()
    hb.gate.clear()
    hb.entered.clear()
    yield
    hb.gate.set()
    hb._wait_until(lambda: hb.active[0] == 0, seconds=10)
    heartbeat.reset()


def parse(text: bytes | str) -> dict[str, Any]:
    """The families of an OpenMetrics exposition, by name, as prometheus_client reads them."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return {family.name: family for family in text_string_to_metric_families(text)}


def values(family: Any) -> dict[tuple[tuple[str, str], ...], float]:
    """A parsed family's samples: sorted labels -> value."""
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples}


def scrape(client: Client, path: str = "/__heartbeat__", **headers: str) -> Any:
    return client.get(path, headers={"Accept": PROMETHEUS_2, **headers})


# --- The engine remembers its last result and counts its runs -----------------------------


@override_settings(DOCKERFLOW_CHECKS=[P("ok_check"), P("error_check")])
def test_last_result_is_the_last_run_of_every_check() -> None:
    first = heartbeat.run()
    assert heartbeat.last_result() is first
    heartbeat.run(names=["ok_check"])  # a subset is not the heartbeat
    assert heartbeat.last_result() is first
    second = heartbeat.run()
    assert heartbeat.last_result() is second
    assert [c.name for c in second.checks] == ["ok_check", "error_check"]


@override_settings(DOCKERFLOW_CHECKS=[P("ok_check")], DOCKERFLOW_HEARTBEAT_CACHE_SECONDS=60)
def test_a_cached_answer_is_not_a_new_result_nor_a_run() -> None:
    before = heartbeat.run_counts()
    ran = heartbeat.run()
    cached = heartbeat.run()
    assert cached.cached
    assert heartbeat.last_result() is ran
    assert heartbeat.run_counts().runs == before.runs + 1
    assert hb.calls["ok_check"] == 1


@override_settings(
    DOCKERFLOW_CHECKS=[P("ok_check"), P("error_check"), P("warning_check")],
)
def test_run_counts_count_runs_failures_and_every_check() -> None:
    before = heartbeat.run_counts()
    for _ in range(3):
        heartbeat.run()
    heartbeat.run(names=["ok_check"])  # not counted
    after = heartbeat.run_counts()
    assert after.runs - before.runs == 3
    assert after.failures - before.failures == 3

    def added(field: str, name: str) -> int:
        return int(getattr(after, field).get(name, 0) - getattr(before, field).get(name, 0))

    assert [added("check_runs", n) for n in ("ok_check", "error_check", "warning_check")] == [
        3,
        3,
        3,
    ]
    assert added("check_failures", "error_check") == 3
    assert added("check_failures", "warning_check") == 0  # a warning passes
    # Checks that never failed are counted at 0, so the first failure is an increase.
    assert "ok_check" in after.check_failures
    assert "ok_check" in after.check_timeouts


@override_settings(
    DOCKERFLOW_CHECKS=[P("warning_check")], DOCKERFLOW_HEARTBEAT_FAIL_LEVEL="warning"
)
def test_failures_follow_the_failing_level() -> None:
    before = heartbeat.run_counts()
    heartbeat.run()
    after = heartbeat.run_counts()
    assert after.failures == before.failures + 1
    assert (
        after.check_failures["warning_check"] == before.check_failures.get("warning_check", 0) + 1
    )


@override_settings(
    DOCKERFLOW_CHECKS=[P("async_hanging_check"), P("ok_check")],
    DOCKERFLOW_HEARTBEAT_TIMEOUT=0.1,
)
def test_timeouts_are_counted_per_check() -> None:
    before = heartbeat.run_counts()
    result = heartbeat.run()
    assert result.timed_out == ("async_hanging_check",)
    after = heartbeat.run_counts()
    assert after.check_timeouts["async_hanging_check"] == (
        before.check_timeouts.get("async_hanging_check", 0) + 1
    )
    assert after.check_timeouts["ok_check"] == before.check_timeouts.get("ok_check", 0)


@override_settings(DOCKERFLOW_CHECKS=[P("blocking_check")])
def test_probes_that_share_a_flight_count_one_run() -> None:
    before = heartbeat.run_counts().runs
    results: list[HeartbeatResult] = []
    threads = [threading.Thread(target=lambda: results.append(heartbeat.run())) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert hb.entered.wait(10)
    hb.gate.set()
    for thread in threads:
        thread.join(10)
    assert len(results) == 8
    assert hb.calls["blocking_check"] == 1
    assert heartbeat.run_counts().runs == before + 1


def test_run_counts_add_is_pure() -> None:
    empty = RunCounts()
    result = HeartbeatResult((CheckResult("a"),))
    assert empty.add(result).runs == 1
    assert empty.runs == 0
    assert dict(empty.check_runs) == {}


# --- The families and the text ------------------------------------------------------------


def a_result(**changes: Any) -> HeartbeatResult:
    fields: dict[str, Any] = {
        "checks": (
            CheckResult("database", (), 0.25),
            CheckResult(
                "redis",
                (checks.Error("Redis did not answer in time", id="dockerflow.health.E013"),),
                1.0,
                timed_out=True,
            ),
            CheckResult("migrations", (checks.Warning("Unapplied migration", id="w"),), 0.0001),
        ),
        "duration": 1.5,
        "timeout": 1.0,
    }
    fields.update(changes)
    return HeartbeatResult(**fields)


COUNTS = RunCounts(
    runs=7,
    failures=2,
    check_runs={"database": 7, "redis": 7, "migrations": 7},
    check_failures={"database": 0, "redis": 2, "migrations": 0},
    check_timeouts={"database": 0, "redis": 1, "migrations": 0},
)


def test_the_exposition_line_by_line() -> None:
    text = metrics.render_openmetrics(metrics.families(a_result(), counts=COUNTS)).decode()
    expected = f"""\
# TYPE dockerflow_heartbeat_healthy gauge
# HELP dockerflow_heartbeat_healthy Whether the heartbeat passed (1) or reached the failing level (0).
dockerflow_heartbeat_healthy 0
# TYPE dockerflow_heartbeat_level gauge
# HELP dockerflow_heartbeat_level Highest level any check reported: 0 ok, 10 debug, 20 info, 30 warning, 40 error, 50 critical.
dockerflow_heartbeat_level 40
# TYPE dockerflow_heartbeat_duration_seconds gauge
# UNIT dockerflow_heartbeat_duration_seconds seconds
# HELP dockerflow_heartbeat_duration_seconds Seconds the run of the checks took.
dockerflow_heartbeat_duration_seconds 1.5
# TYPE dockerflow_heartbeat_cached gauge
# HELP dockerflow_heartbeat_cached Whether the result was reused from DOCKERFLOW_HEARTBEAT_CACHE_SECONDS (1) or not (0).
dockerflow_heartbeat_cached 0
# TYPE dockerflow_check_healthy gauge
# HELP dockerflow_check_healthy Whether the check passed (1) or reached the failing level (0).
dockerflow_check_healthy{{check="database"}} 1
dockerflow_check_healthy{{check="redis"}} 0
dockerflow_check_healthy{{check="migrations"}} 1
# TYPE dockerflow_check_level gauge
# HELP dockerflow_check_level Highest level the check reported: 0 ok, 10 debug, 20 info, 30 warning, 40 error, 50 critical.
dockerflow_check_level{{check="database"}} 0
dockerflow_check_level{{check="redis"}} 40
dockerflow_check_level{{check="migrations"}} 30
# TYPE dockerflow_check_duration_seconds gauge
# UNIT dockerflow_check_duration_seconds seconds
# HELP dockerflow_check_duration_seconds Seconds the check took (the timeout, for a check that missed it).
dockerflow_check_duration_seconds{{check="database"}} 0.25
dockerflow_check_duration_seconds{{check="redis"}} 1
dockerflow_check_duration_seconds{{check="migrations"}} 0.0001
# TYPE dockerflow_check_timed_out gauge
# HELP dockerflow_check_timed_out Whether the check missed the heartbeat timeout (1) or not (0).
dockerflow_check_timed_out{{check="database"}} 0
dockerflow_check_timed_out{{check="redis"}} 1
dockerflow_check_timed_out{{check="migrations"}} 0
# TYPE dockerflow_heartbeat_runs counter
# HELP dockerflow_heartbeat_runs Runs of the checks by this process (a cached or shared answer is not a run).
dockerflow_heartbeat_runs_total{{pid="{PID}"}} 7
# TYPE dockerflow_heartbeat_failures counter
# HELP dockerflow_heartbeat_failures Runs of the checks by this process that reached the failing level.
dockerflow_heartbeat_failures_total{{pid="{PID}"}} 2
# TYPE dockerflow_check_runs counter
# HELP dockerflow_check_runs Runs of the check by this process.
dockerflow_check_runs_total{{check="database",pid="{PID}"}} 7
dockerflow_check_runs_total{{check="redis",pid="{PID}"}} 7
dockerflow_check_runs_total{{check="migrations",pid="{PID}"}} 7
# TYPE dockerflow_check_failures counter
# HELP dockerflow_check_failures Runs of the check by this process that reached the failing level.
dockerflow_check_failures_total{{check="database",pid="{PID}"}} 0
dockerflow_check_failures_total{{check="redis",pid="{PID}"}} 2
dockerflow_check_failures_total{{check="migrations",pid="{PID}"}} 0
# TYPE dockerflow_check_timeouts counter
# HELP dockerflow_check_timeouts Runs of the check by this process that missed the heartbeat timeout.
dockerflow_check_timeouts_total{{check="database",pid="{PID}"}} 0
dockerflow_check_timeouts_total{{check="redis",pid="{PID}"}} 1
dockerflow_check_timeouts_total{{check="migrations",pid="{PID}"}} 0
# TYPE dockerflow_version info
# HELP dockerflow_version The application's version and commit, from version.json.
dockerflow_version_info{{version="1.2.3",commit="abc123def4567890abc123def4567890abc12345"}} 1
# EOF
"""  # noqa: E501 - the HELP lines are as long as they are
    assert text == expected


def test_the_parser_reads_every_family_with_its_type_unit_and_values() -> None:
    found = parse(metrics.render_openmetrics(metrics.families(a_result(), counts=COUNTS)))
    assert {name: (f.type, f.unit) for name, f in found.items()} == {
        "dockerflow_heartbeat_healthy": ("gauge", ""),
        "dockerflow_heartbeat_level": ("gauge", ""),
        "dockerflow_heartbeat_duration_seconds": ("gauge", "seconds"),
        "dockerflow_heartbeat_cached": ("gauge", ""),
        "dockerflow_check_healthy": ("gauge", ""),
        "dockerflow_check_level": ("gauge", ""),
        "dockerflow_check_duration_seconds": ("gauge", "seconds"),
        "dockerflow_check_timed_out": ("gauge", ""),
        "dockerflow_heartbeat_runs": ("counter", ""),
        "dockerflow_heartbeat_failures": ("counter", ""),
        "dockerflow_check_runs": ("counter", ""),
        "dockerflow_check_failures": ("counter", ""),
        "dockerflow_check_timeouts": ("counter", ""),
        "dockerflow_version": ("info", ""),
    }
    assert values(found["dockerflow_check_healthy"]) == {
        (("check", "database"),): 1,
        (("check", "redis"),): 0,
        (("check", "migrations"),): 1,
    }
    assert values(found["dockerflow_check_duration_seconds"])[(("check", "migrations"),)] == (
        0.0001
    )
    assert values(found["dockerflow_check_failures"])[(("check", "redis"), ("pid", PID))] == 2
    assert found["dockerflow_version"].samples[0].labels == {
        "version": "1.2.3",
        "commit": "abc123def4567890abc123def4567890abc12345",
    }


def test_help_texts_need_no_escaping_and_names_follow_the_conventions() -> None:
    for family in metrics.families(a_result(), counts=COUNTS):
        assert not set(family.help) & {"\\", '"', "\n"}, family.name
        assert family.name.startswith("dockerflow_")
        assert not family.name.endswith(("_total", "_info")), family.name
        assert family.unit == "" or family.name.endswith("_" + family.unit)


def test_without_a_run_only_the_counts_and_the_version_have_samples() -> None:
    found = parse(metrics.render_openmetrics(metrics.families(None, counts=RunCounts())))
    with_samples = {name for name, family in found.items() if family.samples}
    assert with_samples == {
        "dockerflow_heartbeat_runs",
        "dockerflow_heartbeat_failures",
        "dockerflow_version",
    }
    assert values(found["dockerflow_heartbeat_runs"]) == {(("pid", PID),): 0}


def test_per_check_false_leaves_out_every_check_label() -> None:
    text = metrics.render_openmetrics(
        metrics.families(a_result(), counts=COUNTS, per_check=False)
    ).decode()
    assert "check=" not in text
    assert "redis" not in text
    found = parse(text)
    assert values(found["dockerflow_heartbeat_healthy"]) == {(): 0}


def test_a_cached_result_says_so() -> None:
    found = parse(metrics.render_openmetrics(metrics.families(a_result(cached=True))))
    assert values(found["dockerflow_heartbeat_cached"]) == {(): 1}


# --- Hostile names ------------------------------------------------------------------------


def hostile_version(tmp_path: Path, version: str, commit: str) -> Path:
    (tmp_path / "version.json").write_text(
        json.dumps({"version": version, "commit": commit, "source": "s", "build": "b"})
    )
    return tmp_path


@settings(max_examples=200, deadline=None)
@given(name=st.text(min_size=1), version=st.text())
@example(name=HOSTILE, version=HOSTILE)
@example(name="\\", version='"')
@example(name="\\n", version="\\\\\n")
def test_any_name_and_version_round_trip_through_the_parser(name: str, version: str) -> None:
    result = HeartbeatResult((CheckResult(name, (), 0.5),))
    counts = RunCounts(1, 0, {name: 1}, {name: 0}, {name: 0})
    with override_settings(
        DOCKERFLOW_VERSION_CALLBACK=lambda root: {"version": version, "commit": name}
    ):
        text = metrics.render_openmetrics(metrics.families(result, counts=counts))
    found = parse(text)
    assert values(found["dockerflow_check_healthy"]) == {(("check", name),): 1}
    assert values(found["dockerflow_check_runs"]) == {(("check", name), ("pid", PID)): 1}
    assert found["dockerflow_version"].samples[0].labels == {"version": version, "commit": name}


def test_a_lone_surrogate_becomes_a_question_mark_and_the_output_still_parses() -> None:
    # JSON may hold "\ud800", which UTF-8 cannot encode.
    result = HeartbeatResult((CheckResult("a\ud800b", (), 0.5),))
    with override_settings(
        DOCKERFLOW_VERSION_CALLBACK=lambda root: {"version": "1\udfff", "commit": "c"}
    ):
        text = metrics.render_openmetrics(metrics.families(result, counts=RunCounts()))
    found = parse(text)
    assert values(found["dockerflow_check_level"]) == {(("check", "a?b"),): 0}
    assert found["dockerflow_version"].samples[0].labels["version"] == "1?"


@override_settings(
    DOCKERFLOW_CHECKS=[
        f"{HERE}.hostile_check",
        {"check": P("ok_check"), "name": 'given "name" \\ ñ'},
    ],
    DOCKERFLOW_METRICS_SHOW_CHECKS=True,
)
def test_hostile_names_of_configured_checks_and_version_through_the_view(
    client: Client, tmp_path: Path
) -> None:
    base = hostile_version(tmp_path, HOSTILE, "0" * 40)
    with override_settings(BASE_DIR=base):
        response = scrape(client)
    assert response.status_code == 200
    found = parse(response.content)
    assert values(found["dockerflow_check_healthy"]) == {
        (("check", HOSTILE),): 0,
        (("check", 'given "name" \\ ñ'),): 1,
    }
    assert found["dockerflow_version"].samples[0].labels["version"] == HOSTILE


# --- version.json ---------------------------------------------------------------------------


def test_no_version_json_no_version_sample(tmp_path: Path) -> None:
    with override_settings(BASE_DIR=tmp_path):
        found = parse(metrics.render_openmetrics(metrics.families(a_result())))
    assert found["dockerflow_version"].samples == []


def test_a_broken_version_json_is_logged_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "version.json").write_text("[1, 2")
    with override_settings(BASE_DIR=tmp_path):
        found = parse(metrics.render_openmetrics(metrics.families(a_result())))
    assert found["dockerflow_version"].samples == []
    assert "No dockerflow_version_info: version.json" in caplog.text
    assert str(tmp_path) not in caplog.text


def test_a_raising_version_callback_is_logged_and_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(root: Any) -> Any:
        raise RuntimeError("no")

    with override_settings(DOCKERFLOW_VERSION_CALLBACK=broken):
        found = parse(metrics.render_openmetrics(metrics.families(a_result())))
    assert found["dockerflow_version"].samples == []
    assert "the version callback raised" in caplog.text


def test_missing_version_fields_are_empty_labels() -> None:
    with override_settings(DOCKERFLOW_VERSION_CALLBACK=lambda root: {"version": 3}):
        found = parse(metrics.render_openmetrics(metrics.families(a_result())))
    assert found["dockerflow_version"].samples[0].labels == {"version": "3", "commit": ""}


# --- The view: which answer, and what it holds ---------------------------------------------


@pytest.mark.parametrize(
    ("accept", "query", "expected"),
    [
        (PROMETHEUS_2, "", "openmetrics"),
        (PROMETHEUS_3, "", "openmetrics"),
        ("application/openmetrics-text", "", "openmetrics"),
        ("Application/OpenMetrics-Text; version=1.0.0", "", "openmetrics"),
        ("application/openmetrics-text; version=0.0.1", "", "openmetrics"),
        ("application/json, application/openmetrics-text;q=0.5", "", "json"),
        ("application/json;q=0.5, application/openmetrics-text", "", "openmetrics"),
        ("application/json, application/openmetrics-text", "", "json"),
        (None, "", "json"),
        ("*/*", "", "json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "", "json"),
        ("text/plain", "", "json"),
        ("application/openmetrics-text;q=0", "", "json"),
        ("garbage;;;,,", "", "json"),
        (None, "format=openmetrics", "openmetrics"),
        ("application/json", "format=openmetrics", "openmetrics"),
        (PROMETHEUS_2, "format=json", "json"),
        (PROMETHEUS_2, "format=xml", "json"),
        (None, "other=1", "json"),
    ],
)
@override_settings(DOCKERFLOW_CHECKS=[P("ok_check")])
def test_content_negotiation(client: Client, accept: str | None, query: str, expected: str) -> None:
    headers = {} if accept is None else {"Accept": accept}
    response = client.get("/__heartbeat__" + (f"?{query}" if query else ""), headers=headers)
    assert response.status_code == 200
    assert response["Vary"] == "Accept"
    if expected == "json":
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"status": "ok"}
    else:
        assert response["Content-Type"] == OPENMETRICS
        assert response.content.endswith(b"# EOF\n")
        parse(response.content)


@override_settings(DOCKERFLOW_CHECKS=[P("error_check")])
def test_a_failed_heartbeat_is_200_with_the_failure_in_the_values(client: Client) -> None:
    assert client.get("/__heartbeat__").status_code == 500
    response = scrape(client)
    assert response.status_code == 200
    found = parse(response.content)
    assert values(found["dockerflow_heartbeat_healthy"]) == {(): 0}
    assert values(found["dockerflow_heartbeat_level"]) == {(): 40}


@override_settings(DOCKERFLOW_CHECKS=[P("error_check")])
def test_the_scrape_is_never_cached_and_never_sniffed(client: Client) -> None:
    response = scrape(client)
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("overrides", "per_check"),
    [
        ({}, False),
        ({"DEBUG": True}, True),
        ({"DOCKERFLOW_HEARTBEAT_SHOW_DETAILS": True}, True),
        ({"DOCKERFLOW_METRICS_SHOW_CHECKS": True}, True),
        ({"DOCKERFLOW_METRICS_SHOW_CHECKS": False}, False),
    ],
)
def test_per_check_families_only_where_allowed(
    client: Client, overrides: dict[str, Any], per_check: bool
) -> None:
    with override_settings(DOCKERFLOW_CHECKS=[P("ok_check"), P("error_check")], **overrides):
        response = scrape(client)
    found = parse(response.content)
    assert bool(found["dockerflow_check_healthy"].samples) is per_check
    assert bool(found["dockerflow_check_runs"].samples) is per_check
    assert ("error_check" in response.content.decode()) is per_check
    # What every scrape holds: the heartbeat as a whole, its counts, the version.
    assert values(found["dockerflow_heartbeat_healthy"]) == {(): 0}
    assert found["dockerflow_heartbeat_runs"].samples
    assert found["dockerflow_version"].samples
    # No message text ever: details stay out of the metrics.
    assert b"broken" not in response.content


@override_settings(DOCKERFLOW_CHECKS=[P("ok_check")], DOCKERFLOW_HEARTBEAT_CACHE_SECONDS=60)
def test_scrapes_and_probes_share_one_run_through_the_cache(client: Client) -> None:
    before = heartbeat.run_counts().runs
    assert client.get("/__heartbeat__").status_code == 200
    first = parse(scrape(client).content)
    second = parse(scrape(client, HTTP_X_OTHER="prometheus-2").content)
    assert hb.calls["ok_check"] == 1
    assert heartbeat.run_counts().runs == before + 1
    assert values(first["dockerflow_heartbeat_cached"]) == {(): 1}
    assert values(second["dockerflow_heartbeat_runs"]) == {(("pid", PID),): before + 1}


def test_drain_mode_is_unchanged_for_a_scrape(client: Client, tmp_path: Path) -> None:
    drain = tmp_path / "drain"
    drain.touch()
    with override_settings(DOCKERFLOW_DRAIN_FILE=drain, DOCKERFLOW_CHECKS=[P("ok_check")]):
        response = scrape(client)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "draining"
    assert hb.calls == {}


def test_other_methods_are_refused_as_before(client: Client) -> None:
    response = client.post("/__heartbeat__?format=openmetrics")
    assert response.status_code == 405


@override_settings(DOCKERFLOW_CHECKS=[P("ok_check")])
def test_head_has_the_headers_of_a_scrape(client: Client) -> None:
    response = client.head("/__heartbeat__", headers={"Accept": PROMETHEUS_2})
    assert response.status_code == 200
    assert response["Content-Type"] == OPENMETRICS


@override_settings(DOCKERFLOW_CHECKS=[P("async_ok_check"), P("error_check")], DEBUG=True)
async def test_asgi_scrape(async_client: AsyncClient) -> None:
    response = await async_client.get("/__heartbeat__", headers={"Accept": PROMETHEUS_3})
    assert response.status_code == 200
    assert response["Content-Type"] == OPENMETRICS
    found = parse(response.content)
    assert values(found["dockerflow_check_level"]) == {
        (("check", "async_ok_check"),): 20,
        (("check", "error_check"),): 40,
    }


@override_settings(DOCKERFLOW_CHECKS=[P("ok_check")], ROOT_URLCONF="tests.urls_include")
def test_the_url_include_view_answers_a_scrape_too(client: Client) -> None:
    # The middleware answers /__heartbeat__ only; /ops/ is the URLconf's view.
    response = client.get("/ops/__heartbeat__", headers={"Accept": PROMETHEUS_2})
    assert response.status_code == 200
    assert response["Content-Type"] == OPENMETRICS
    assert values(parse(response.content)["dockerflow_heartbeat_healthy"]) == {(): 1}


def test_wants_openmetrics_is_false_for_a_plain_probe(rf: Any) -> None:
    assert views.wants_openmetrics(rf.get("/__heartbeat__")) is False
    assert views.wants_openmetrics(rf.get("/__heartbeat__?format=openmetrics")) is True


# --- The collector ----------------------------------------------------------------------------


def collected(registry: CollectorRegistry) -> dict[str, Any]:
    from prometheus_client.openmetrics.exposition import generate_latest

    return parse(generate_latest(registry))


@override_settings(DOCKERFLOW_CHECKS=[P("ok_check"), P("error_check")])
def test_the_collector_exposes_the_last_result_without_running_checks() -> None:
    result = heartbeat.run()
    registry = CollectorRegistry()
    registry.register(metrics.HeartbeatCollector())
    runs = dict(hb.calls)
    found = collected(registry)
    found_again = collected(registry)
    assert hb.calls == runs  # scrapes ran nothing
    assert values(found["dockerflow_check_healthy"]) == {
        (("check", "ok_check"),): 1,
        (("check", "error_check"),): 0,
    }
    assert values(found["dockerflow_heartbeat_duration_seconds"]) == {(): result.duration}
    assert values(found_again["dockerflow_heartbeat_runs"]) == {
        (("pid", PID),): heartbeat.run_counts().runs
    }


def test_the_collector_and_the_view_expose_the_same_families(client: Client) -> None:
    with override_settings(DOCKERFLOW_CHECKS=[P("ok_check"), P("error_check")], DEBUG=True):
        from_view = parse(scrape(client).content)
    registry = CollectorRegistry()
    registry.register(metrics.HeartbeatCollector())
    from_collector = collected(registry)
    assert from_collector.keys() == from_view.keys()
    for name, family in from_view.items():
        assert (family.type, family.unit) == (
            from_collector[name].type,
            from_collector[name].unit,
        )
        if "duration" not in name:
            assert values(family) == values(from_collector[name]), name


def test_registering_runs_no_check_and_reads_no_version(tmp_path: Path) -> None:
    (tmp_path / "version.json").write_text("[broken")
    with override_settings(BASE_DIR=tmp_path, DOCKERFLOW_CHECKS=[P("ok_check")]):
        registry = CollectorRegistry()
        registry.register(metrics.HeartbeatCollector())
        names = {m.name for m in metrics.HeartbeatCollector().describe()}
    assert hb.calls == {}
    assert "dockerflow_check_healthy" in names
    assert all(not m.samples for m in metrics.HeartbeatCollector().describe())
    # A second collector would expose the same series: prometheus_client refuses it.
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        registry.register(metrics.HeartbeatCollector())


def test_the_collectors_classic_text_format_reads_back(client: Client) -> None:
    from prometheus_client import generate_latest

    with override_settings(DOCKERFLOW_CHECKS=[P("ok_check")], DEBUG=True):
        scrape(client)
    registry = CollectorRegistry()
    registry.register(metrics.HeartbeatCollector())
    text = generate_latest(registry).decode()
    names = {family.name for family in classic_families(text)}
    assert "dockerflow_check_healthy" in names
    assert "dockerflow_version_info{" in text
    assert "dockerflow_heartbeat_runs_total{" in text
