"""The middleware's fast ``request.summary`` record is exactly a ``LogRecord``."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from typing import Any

import pytest

from dockerflow.django import middleware

# The CPython builds whose LogRecord.__init__ _make_record was written from.
KNOWN_BUILDS = {(3, 10, 13), (3, 11, 7), (3, 12, 1), (3, 13, 0)}

needs_fast_path = pytest.mark.skipif(
    not middleware._FAST_RECORD, reason="LogRecord.__init__ of this Python is not a known one"
)

# Clock readings (seconds since the epoch) where msecs rounding differs:
# whole seconds, just below the next second, odd fractions.
CLOCK_NS = [
    1_700_000_000_000_000_000,
    1_700_000_000_999_999_999,
    1_700_000_000_999_500_000,
    1_700_000_001_123_456_789,
    1_234_567_890_000_999_000,
]


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """``time.time()`` and ``time.time_ns()`` both read ``now[0]``."""
    now = [CLOCK_NS[0]]
    monkeypatch.setattr(time, "time_ns", lambda: now[0])
    monkeypatch.setattr(time, "time", lambda: now[0] / 1e9)
    return now


def real_record(level: int, msg: str, exc_info: Any) -> dict[str, Any]:
    record = logging.LogRecord(
        "request.summary", level, middleware.__file__, 0, msg, (), exc_info, "__call__"
    )
    return record.__dict__


def fast_record(level: int, msg: str, exc_info: Any) -> dict[str, Any]:
    record = middleware._make_record(level, msg, exc_info)
    assert type(record) is logging.LogRecord
    return record.__dict__


def assert_same(level: int = logging.INFO, msg: str = "", exc_info: Any = None) -> None:
    real = real_record(level, msg, exc_info)
    fast = fast_record(level, msg, exc_info)
    # Same attributes, same order (formatters may rely on it), same values.
    assert list(fast) == list(real)
    assert fast == real
    for key, value in real.items():
        assert type(fast[key]) is type(value), key


def test_fast_path_is_on_for_the_known_builds() -> None:
    if tuple(sys.version_info[:3]) not in KNOWN_BUILDS:
        pytest.skip("not one of the CPython builds the fast record was checked against")
    assert middleware._FAST_RECORD


def test_unknown_init_is_not_fast() -> None:
    def init(self: Any) -> None:
        pass

    assert middleware._init_fingerprint(init) not in middleware._KNOWN_INITS


@needs_fast_path
@pytest.mark.parametrize("clock", CLOCK_NS)
@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING, logging.ERROR])
def test_same_as_logrecord(frozen_clock: list[int], clock: int, level: int) -> None:
    frozen_clock[0] = clock
    assert_same(level)


@needs_fast_path
def test_same_with_exception_and_message(frozen_clock: list[int]) -> None:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        exc_info = (type(exc), exc, exc.__traceback__)
    assert_same(logging.ERROR, "ValueError('boom')", exc_info)


@needs_fast_path
def test_same_with_renamed_level(frozen_clock: list[int]) -> None:
    logging.addLevelName(logging.INFO, "NOTE")
    try:
        assert_same(logging.INFO)
        assert fast_record(logging.INFO, "", None)["levelname"] == "NOTE"
    finally:
        logging.addLevelName(logging.INFO, "INFO")


@needs_fast_path
@pytest.mark.parametrize("flag", ["logThreads", "logMultiprocessing", "logProcesses"])
def test_same_with_logging_flag_off(
    frozen_clock: list[int], monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    monkeypatch.setattr(logging, flag, False)
    assert_same()


@needs_fast_path
def test_same_with_asyncio_tasks_off(
    frozen_clock: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging, "logAsyncioTasks", False, raising=False)
    assert_same()


@needs_fast_path
def test_same_in_a_named_thread(frozen_clock: list[int]) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            assert_same()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="worker-7")
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert not errors, errors


@needs_fast_path
def test_same_in_an_asyncio_task(frozen_clock: list[int]) -> None:
    async def main() -> dict[str, Any]:
        assert_same()
        return fast_record(logging.INFO, "", None)

    async def named() -> dict[str, Any]:
        return await asyncio.create_task(main(), name="serve-42")

    attrs = asyncio.run(named())
    if sys.version_info >= (3, 12):
        assert attrs["taskName"] == "serve-42"


@needs_fast_path
def test_same_with_a_broken_multiprocessing(
    frozen_clock: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def current_process(self) -> Any:
            raise RuntimeError("no process")

    monkeypatch.setitem(sys.modules, "multiprocessing", Broken())
    assert_same()
    assert fast_record(logging.INFO, "", None)["processName"] == "MainProcess"


class Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@needs_fast_path
def test_summary_record_same_either_way(
    frozen_clock: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The whole request.summary record, fast path on and off.
    from django.http import HttpResponse
    from django.test import RequestFactory

    keep = Keep()
    logger = logging.getLogger("request.summary")
    monkeypatch.setattr(logger, "level", logging.INFO)
    logger.addHandler(keep)
    try:
        for fast in (True, False):
            monkeypatch.setattr(middleware, "_FAST_RECORD", fast)
            request = RequestFactory().get("/x", HTTP_X_REQUEST_ID="rid-1")
            middleware.DockerflowMiddleware(lambda request: HttpResponse())(request)
    finally:
        logger.removeHandler(keep)
    fast_attrs, slow_attrs = (record.__dict__ for record in keep.records)
    assert list(fast_attrs) == list(slow_attrs)
    fast_attrs.pop("t"), slow_attrs.pop("t")
    assert fast_attrs == slow_attrs
    assert fast_attrs["rid"] == "rid-1"
