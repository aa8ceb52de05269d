"""The heartbeat engine: concurrency, timeout, single flight, cache, silencing, signals."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from dockerflow import health
from dockerflow.django import heartbeat
from dockerflow.django.signals import heartbeat_failed, heartbeat_passed

HERE = "tests.test_heartbeat"

# --- Checks used by the tests, referenced by dotted path -----------------------------

calls: dict[str, int] = {}
seen_threads: list[str] = []
seen_loops: list[asyncio.AbstractEventLoop] = []
#: Five checks must all be running at the same moment to get past it.
barrier = threading.Barrier(5, timeout=10)
#: Blocking checks wait on it; every test leaves it set.
gate = threading.Event()
entered = threading.Event()
cancelled = threading.Event()


def _count(name: str) -> None:
    calls[name] = calls.get(name, 0) + 1


def ok_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    _count("ok_check")
    seen_threads.append(threading.current_thread().name)
    return []


def warning_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    _count("warning_check")
    return [checks.Warning("a little off", id="tests.W001")]


def error_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    _count("error_check")
    return [checks.Error("broken", id="tests.E001")]


def critical_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [checks.Critical("on fire", id="tests.C001")]


def raising_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    raise RuntimeError("postgres://admin:hunter2-secret@db.internal/prod is down")


def none_check(app_configs: Any = None, **kwargs: Any) -> None:
    return None


def barrier_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    barrier.wait()
    return []


#: How many blocking checks are running at this moment.
active: list[int] = [0]


def blocking_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    _count("blocking_check")
    active[0] += 1
    entered.set()
    try:
        gate.wait(timeout=30)
    finally:
        active[0] -= 1
    return []


async def async_ok_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    _count("async_ok_check")
    seen_loops.append(asyncio.get_running_loop())
    await asyncio.sleep(0)
    return [checks.Info("async says hi", id="tests.I001")]


async def async_hanging_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    _count("async_hanging_check")
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        cancelled.set()
        raise
    return []


def path(name: str) -> str:
    return f"{HERE}.{name}"


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    heartbeat.reset()
    calls.clear()
    seen_threads.clear()
    seen_loops.clear()
    barrier.reset()
    gate.clear()
    entered.clear()
    cancelled.clear()
    yield
    gate.set()
    _wait_until(lambda: active[0] == 0, seconds=10)
    heartbeat.reset()


def _wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def messages_of(result: heartbeat.HeartbeatResult, name: str) -> list[checks.CheckMessage]:
    return [m for c in result.checks if c.name == name for m in c.messages]


# --- Results and levels --------------------------------------------------------------------


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check")])
def test_ok_run() -> None:
    result = heartbeat.run()
    assert result.status == "ok"
    assert result.level == 0
    assert not result.failed
    assert [c.name for c in result.checks] == ["ok_check"]
    assert result.payload(details=False) == {"status": "ok"}
    assert result.payload(details=True) == {
        "status": "ok",
        "checks": {"ok_check": "ok"},
        "details": {},
    }


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check"), path("warning_check")])
def test_warning_passes_by_default() -> None:
    result = heartbeat.run()
    assert result.status == "warning"
    assert not result.failed
    assert result.payload(details=True)["details"] == {
        "warning_check": {
            "status": "warning",
            "level": checks.WARNING,
            "messages": {"tests.W001": "a little off"},
        }
    }


@override_settings(
    DOCKERFLOW_CHECKS=[path("warning_check")], DOCKERFLOW_HEARTBEAT_FAIL_LEVEL="warning"
)
def test_fail_level_warning_setting() -> None:
    assert heartbeat.run().failed


@override_settings(DOCKERFLOW_CHECKS=[path("warning_check")])
def test_fail_level_argument_overrides_setting() -> None:
    assert heartbeat.run(fail_level="warning").failed
    assert not heartbeat.run(fail_level="error").failed


@override_settings(DOCKERFLOW_CHECKS=[path("error_check"), path("critical_check")])
def test_error_and_critical_fail() -> None:
    result = heartbeat.run()
    assert result.failed
    assert result.status == "critical"
    assert {c.name: c.status for c in result.checks} == {
        "error_check": "error",
        "critical_check": "critical",
    }


def test_levels_between_names_round_down() -> None:
    assert heartbeat.level_to_text(0) == "ok"
    assert heartbeat.level_to_text(35) == "warning"
    assert heartbeat.level_to_text(99) == "critical"
    assert heartbeat.level_to_text(-5) == "ok"


@override_settings(DOCKERFLOW_CHECKS=[path("raising_check")])
def test_unexpected_exception_is_a_generic_error(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        result = heartbeat.run()
    [message] = messages_of(result, "raising_check")
    assert message.id == health.ERROR_CHECK_RAISED
    assert message.level == checks.ERROR
    assert "RuntimeError" not in message.msg
    assert "hunter2" not in message.msg
    tracebacks = [r.getMessage() for r in caplog.records if "Traceback" in r.getMessage()]
    assert tracebacks, "the traceback goes to the log"
    assert "RuntimeError" in tracebacks[0]
    assert "hunter2" not in caplog.text  # even the log never holds the password


@override_settings(DOCKERFLOW_CHECKS=[path("none_check")])
def test_check_returning_none_is_an_error() -> None:
    [message] = messages_of(heartbeat.run(), "none_check")
    assert message.id == health.ERROR_CHECK_BAD_RESULT
    assert "NoneType" in message.msg


# --- Concurrency ---------------------------------------------------------------------------


@override_settings(
    DOCKERFLOW_CHECKS=[
        path("barrier_check"),
        (f"{HERE}.barrier_check"),
        path("barrier_check"),
        path("barrier_check"),
        path("barrier_check"),
    ]
)
def test_sync_checks_run_at_the_same_time() -> None:
    # Five checks that each wait for all five: sequential execution would time out.
    result = heartbeat.run(timeout=10)
    assert result.status == "ok", result.payload(details=True)
    assert [c.name for c in result.checks] == [
        "barrier_check",
        "barrier_check #2",
        "barrier_check #3",
        "barrier_check #4",
        "barrier_check #5",
    ]
    assert heartbeat.engine.pool.width >= 5


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check")])
def test_sync_checks_run_in_pool_threads() -> None:
    heartbeat.run()
    assert seen_threads
    assert seen_threads[0].startswith("dockerflow-heartbeat")


def touching_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from django.db import connection

    connection.ensure_connection()
    seen_threads.append(threading.current_thread().name)
    return []


@pytest.mark.django_db
@override_settings(DOCKERFLOW_CHECKS=[path("touching_check")])
def test_worker_closes_and_forgets_its_database_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import connections

    closed_in: list[tuple[str, str]] = []
    wrapper_class = type(connections["default"])
    real = wrapper_class.close

    def spy(self: Any) -> None:
        closed_in.append((threading.current_thread().name, self.alias))
        real(self)

    monkeypatch.setattr(wrapper_class, "close", spy)
    heartbeat.run()
    heartbeat.run()
    assert closed_in == [(seen_threads[0], "default"), (seen_threads[1], "default")]


@override_settings(DOCKERFLOW_CHECKS=[path("async_ok_check"), path("ok_check")])
def test_async_check_from_sync_run() -> None:
    result = heartbeat.run()
    assert result.status == "info"
    assert calls == {"async_ok_check": 1, "ok_check": 1}


@override_settings(DOCKERFLOW_CHECKS=[path("async_ok_check"), path("ok_check")])
async def test_arun_awaits_async_checks_on_the_callers_loop() -> None:
    result = await heartbeat.arun()
    assert result.status == "info"
    assert seen_loops == [asyncio.get_running_loop()]
    assert seen_threads[0].startswith("dockerflow-heartbeat")  # sync still in the pool


def test_run_needs_no_event_loop() -> None:
    # A management command has no event loop: run() brings what async checks need.
    with override_settings(DOCKERFLOW_CHECKS=[path("async_ok_check")]):
        assert heartbeat.run().status == "info"


# --- Timeout -----------------------------------------------------------------------------


@override_settings(DOCKERFLOW_CHECKS=[path("blocking_check"), path("ok_check")])
def test_timeout_names_the_check_and_the_timeout() -> None:
    result = heartbeat.run(timeout=0.2)
    assert result.failed
    assert result.timed_out == ("blocking_check",)
    [message] = messages_of(result, "blocking_check")
    assert message.id == health.ERROR_CHECK_TIMED_OUT
    assert "blocking_check" in message.msg
    assert "0.2 seconds" in message.msg
    assert messages_of(result, "ok_check") == []


@override_settings(DOCKERFLOW_CHECKS=[path("blocking_check")], DOCKERFLOW_HEARTBEAT_TIMEOUT=0.2)
def test_timeout_setting_is_used() -> None:
    result = heartbeat.run()
    assert result.timed_out == ("blocking_check",)
    assert result.timeout == 0.2


@override_settings(DOCKERFLOW_CHECKS=[path("blocking_check")])
def test_a_check_still_running_is_not_started_again() -> None:
    first = heartbeat.run(timeout=0.1)
    assert first.timed_out == ("blocking_check",)
    second = heartbeat.run(timeout=0.1)
    [message] = messages_of(second, "blocking_check")
    assert message.id == health.ERROR_CHECK_STILL_RUNNING
    assert calls["blocking_check"] == 1
    gate.set()
    assert _wait_until(lambda: active[0] == 0)
    third = heartbeat.run(timeout=5)
    assert third.status == "ok"
    assert calls["blocking_check"] == 2


@override_settings(DOCKERFLOW_CHECKS=[path("blocking_check")])
def test_a_check_still_running_is_joined_when_it_finishes_in_time() -> None:
    heartbeat.run(timeout=0.1)
    threading.Timer(0.05, gate.set).start()
    result = heartbeat.run(timeout=5)
    assert result.status == "ok"
    assert calls["blocking_check"] == 1


@override_settings(DOCKERFLOW_CHECKS=[path("async_hanging_check")])
def test_async_check_past_the_timeout_is_cancelled_sync_run() -> None:
    result = heartbeat.run(timeout=0.1)
    assert result.timed_out == ("async_hanging_check",)
    assert cancelled.wait(5)


@override_settings(DOCKERFLOW_CHECKS=[path("async_hanging_check"), path("blocking_check")])
async def test_async_check_past_the_timeout_is_cancelled_arun() -> None:
    result = await heartbeat.arun(timeout=0.1)
    assert set(result.timed_out) == {"async_hanging_check", "blocking_check"}
    for _ in range(100):
        if cancelled.is_set():
            break
        await asyncio.sleep(0.01)
    assert cancelled.is_set()


@pytest.mark.parametrize("bad", ["abc", -1, 0, float("nan"), float("inf"), None])
def test_bad_timeout_setting_falls_back_to_the_default(bad: Any) -> None:
    with override_settings(DOCKERFLOW_CHECKS=[path("ok_check")], DOCKERFLOW_HEARTBEAT_TIMEOUT=bad):
        result = heartbeat.run()
    assert result.timeout == 5.0
    assert result.status == "ok"


def test_default_timeout_is_five_seconds() -> None:
    with override_settings(DOCKERFLOW_CHECKS=[path("ok_check")]):
        assert heartbeat.run().timeout == 5.0


# --- Single flight -----------------------------------------------------------------------


class _Boarding(logging.Handler):
    """Collects the engine's debug lines: a caller starting a run (True) or joining one (False)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.joins: list[bool] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Heartbeat: started a run"):
            self.joins.append(True)
        elif message.startswith("Heartbeat: joined the run"):
            self.joins.append(False)


@pytest.fixture
def joins() -> Iterator[list[bool]]:
    """Whether each caller led (True) or joined (False) a run, as the engine logs it."""
    handler = _Boarding()
    engine_logger = logging.getLogger("dockerflow.checks")
    level = engine_logger.level
    engine_logger.setLevel(logging.DEBUG)
    engine_logger.addHandler(handler)
    yield handler.joins
    engine_logger.removeHandler(handler)
    engine_logger.setLevel(level)


@override_settings(DOCKERFLOW_CHECKS=[path("blocking_check")])
def test_concurrent_runs_share_one_flight(joins: list[bool]) -> None:
    signalled: list[int] = []

    def on_passed(sender: Any, level: int, **kwargs: Any) -> None:
        signalled.append(level)

    heartbeat_passed.connect(on_passed)
    results: list[heartbeat.HeartbeatResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(heartbeat.run(timeout=10))) for _ in range(8)
    ]
    try:
        for thread in threads:
            thread.start()
        assert _wait_until(lambda: len(joins) == 8)
        gate.set()
        for thread in threads:
            thread.join(10)
    finally:
        heartbeat_passed.disconnect(on_passed)
    assert len(results) == 8
    assert all(r.status == "ok" for r in results)
    assert calls["blocking_check"] == 1
    assert joins.count(True) == 1
    assert signalled == [0]


@override_settings(DOCKERFLOW_CHECKS=[path("blocking_check")])
async def test_async_and_sync_callers_share_one_flight(joins: list[bool]) -> None:
    results: list[heartbeat.HeartbeatResult] = []
    thread = threading.Thread(target=lambda: results.append(heartbeat.run(timeout=10)))
    thread.start()
    tasks = [asyncio.ensure_future(heartbeat.arun(timeout=10)) for _ in range(3)]
    for _ in range(500):
        if len(joins) == 4:
            break
        await asyncio.sleep(0.01)
    gate.set()
    results += await asyncio.gather(*tasks)
    thread.join(10)
    assert [r.status for r in results] == ["ok"] * 4
    assert calls["blocking_check"] == 1
    assert joins.count(True) == 1


@override_settings(DOCKERFLOW_CHECKS=[path("blocking_check")])
async def test_a_cancelled_joiner_does_not_cancel_the_flight(joins: list[bool]) -> None:
    # An ASGI client that hangs up cancels its request's task; the others must not care.
    leader = asyncio.ensure_future(heartbeat.arun(timeout=10))
    quitter = asyncio.ensure_future(heartbeat.arun(timeout=10))
    stayer = asyncio.ensure_future(heartbeat.arun(timeout=10))
    for _ in range(500):
        if len(joins) == 3:
            break
        await asyncio.sleep(0.01)
    quitter.cancel()
    await asyncio.sleep(0.05)
    gate.set()
    results = await asyncio.gather(leader, stayer)
    assert [r.status for r in results] == ["ok", "ok"]
    assert quitter.cancelled()
    assert calls["blocking_check"] == 1


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check")])
def test_sequential_runs_each_run_the_checks() -> None:
    heartbeat.run()
    heartbeat.run()
    assert calls["ok_check"] == 2


# --- Cache -----------------------------------------------------------------------------


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check")], DOCKERFLOW_HEARTBEAT_CACHE_SECONDS=60)
def test_cache_reuses_a_fresh_result() -> None:
    first = heartbeat.run()
    second = heartbeat.run()
    assert calls["ok_check"] == 1
    assert not first.cached
    assert second.cached
    assert second.checks == first.checks


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check")], DOCKERFLOW_HEARTBEAT_CACHE_SECONDS=60)
def test_cache_is_bypassed_on_request_and_for_subsets() -> None:
    heartbeat.run()
    heartbeat.run(use_cache=False)
    heartbeat.run(names=["ok_check"])
    assert calls["ok_check"] == 3


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check")], DOCKERFLOW_HEARTBEAT_CACHE_SECONDS=0.05)
def test_cache_expires() -> None:
    heartbeat.run()
    time.sleep(0.1)
    heartbeat.run()
    assert calls["ok_check"] == 2


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check")], DOCKERFLOW_HEARTBEAT_CACHE_SECONDS=60)
def test_cache_is_dropped_when_settings_change() -> None:
    heartbeat.run()
    with override_settings(DOCKERFLOW_CHECKS=[path("ok_check"), path("warning_check")]):
        assert heartbeat.run().status == "warning"
    assert calls["ok_check"] == 2


@override_settings(DOCKERFLOW_CHECKS=[path("warning_check")], DOCKERFLOW_HEARTBEAT_CACHE_SECONDS=60)
def test_cached_result_follows_the_current_fail_level() -> None:
    assert not heartbeat.run().failed
    assert heartbeat.run(fail_level="warning").failed
    assert calls["warning_check"] == 1


# --- Silencing, selection, signals, logging -------------------------------------------


@override_settings(
    DOCKERFLOW_CHECKS=[path("error_check"), path("warning_check")],
    SILENCED_SYSTEM_CHECKS=["tests.E001"],
)
def test_silenced_ids_are_dropped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="dockerflow.checks"):
        result = heartbeat.run()
    assert result.status == "warning"
    assert not result.failed
    assert "tests.E001" not in caplog.text
    assert "tests.W001" in caplog.text


def deploy_only(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    _count("deploy_only")
    return [checks.Error("not a heartbeat check")]


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check")])
def test_only_configured_checks_run() -> None:
    from django.core.checks.registry import registry

    registry.register(deploy_only, deploy=True)
    try:
        result = heartbeat.run()
    finally:
        registry.deployment_checks.discard(deploy_only)
    assert result.status == "ok"
    assert "deploy_only" not in calls


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check"), path("error_check")])
def test_names_select_checks_by_name_or_path() -> None:
    assert [c.name for c in heartbeat.run(names=["ok_check"]).checks] == ["ok_check"]
    assert [c.name for c in heartbeat.run(names=[path("error_check")]).checks] == ["error_check"]
    assert calls == {"ok_check": 1, "error_check": 1}


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check")])
def test_unknown_name_is_an_error() -> None:
    result = heartbeat.run(names=["nope"])
    assert result.failed
    [message] = messages_of(result, "nope")
    assert message.id == health.ERROR_UNKNOWN_CHECK


@override_settings(DOCKERFLOW_CHECKS=[path("error_check"), path("ok_check")])
def test_signals_carry_level_and_results() -> None:
    received: list[dict[str, Any]] = []

    def on_failed(sender: Any, **kwargs: Any) -> None:
        received.append({"sender": sender, **kwargs})

    from dockerflow.django.views import heartbeat as view

    heartbeat_failed.connect(on_failed)
    try:
        result = heartbeat.run(sender=view)
        heartbeat.run()
    finally:
        heartbeat_failed.disconnect(on_failed)
    [kwargs, direct] = received
    assert kwargs["sender"] is view
    assert direct["sender"] is None  # a direct call names its own sender
    assert kwargs["level"] == checks.ERROR
    assert kwargs["result"] is result
    assert [c.name for c in kwargs["checks"]] == ["error_check", "ok_check"]


@override_settings(DOCKERFLOW_CHECKS=[path("warning_check")])
def test_signals_follow_the_outcome() -> None:
    got: list[str] = []

    def passed(**kwargs: Any) -> None:
        got.append("passed")

    def failed(**kwargs: Any) -> None:
        got.append("failed")

    heartbeat_passed.connect(passed)
    heartbeat_failed.connect(failed)
    try:
        heartbeat.run()
        with override_settings(DOCKERFLOW_HEARTBEAT_FAIL_LEVEL="warning"):
            heartbeat.run()
    finally:
        heartbeat_passed.disconnect(passed)
        heartbeat_failed.disconnect(failed)
    assert got == ["passed", "failed"]


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check")], DOCKERFLOW_HEARTBEAT_CACHE_SECONDS=60)
def test_cached_results_send_no_signal() -> None:
    got: list[int] = []

    def passed(level: int, **kwargs: Any) -> None:
        got.append(level)

    heartbeat_passed.connect(passed)
    try:
        heartbeat.run()
        heartbeat.run()
    finally:
        heartbeat_passed.disconnect(passed)
    assert got == [0]


@override_settings(DOCKERFLOW_CHECKS=[path("ok_check")])
def test_a_broken_receiver_never_breaks_the_heartbeat(caplog: pytest.LogCaptureFixture) -> None:
    def broken(**kwargs: Any) -> None:
        raise ValueError("receiver bug")

    heartbeat_passed.connect(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="dockerflow.checks"):
            assert heartbeat.run().status == "ok"
    finally:
        heartbeat_passed.disconnect(broken)
    assert "receiver bug" in caplog.text


@override_settings(DOCKERFLOW_CHECKS=[path("error_check")])
async def test_async_run_sends_signals() -> None:
    got: list[int] = []

    def failed(level: int, **kwargs: Any) -> None:
        got.append(level)

    heartbeat_failed.connect(failed)
    try:
        await heartbeat.arun()
    finally:
        heartbeat_failed.disconnect(failed)
    assert got == [checks.ERROR]


@override_settings(DOCKERFLOW_CHECKS=[path("error_check"), path("ok_check")])
def test_every_non_ok_result_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="dockerflow.checks"):
        heartbeat.run()
    [record] = [r for r in caplog.records if getattr(r, "check", None)]
    assert record.levelno == logging.ERROR
    assert record.check == "error_check"  # type: ignore[attr-defined]
    assert record.check_id == "tests.E001"  # type: ignore[attr-defined]
    assert record.check_duration >= 0  # type: ignore[attr-defined]
    # As Mozilla's package logs each check message: on its logger, "<id>: <text>".
    assert record.name == "dockerflow.checks.registry"
    assert record.getMessage() == "tests.E001: broken"


def url_in_message(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            "cannot reach redis://:r3dis-pass@cache:6379/0 or host=db password=pg-pass-77",
            id="tests.E002",
        )
    ]


@override_settings(DOCKERFLOW_CHECKS=[path("url_in_message")])
def test_credentials_are_scrubbed_from_messages_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        result = heartbeat.run()
    text = str(result.payload(details=True))
    for secret in ("r3dis-pass", "pg-pass-77"):
        assert secret not in text
        assert secret not in caplog.text
    assert "redis://:***@cache:6379/0" in text


def password_in_message(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [checks.Error("login refused for secret sauce-pw-991", id="tests.E003")]


@override_settings(
    DOCKERFLOW_CHECKS=[path("password_in_message")],
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"PASSWORD": "sauce-pw-991"},
        }
    },
)
def test_configured_passwords_are_scrubbed() -> None:
    # The cache's configured password happens to appear inside the message text.
    text = str(heartbeat.run().payload(details=True))
    assert "sauce-pw-991" not in text
    assert "login refused for secret ***" in text


def test_empty_checks_are_ok() -> None:
    with override_settings(DOCKERFLOW_CHECKS=[]):
        result = heartbeat.run()
    assert result.status == "ok"
    assert result.checks == ()


def test_pool_threads_are_daemons() -> None:
    with override_settings(DOCKERFLOW_CHECKS=[path("ok_check")]):
        heartbeat.run()
    pool_threads = [t for t in threading.enumerate() if t.name.startswith("dockerflow-heartbeat")]
    assert pool_threads
    assert all(t.daemon for t in pool_threads)
