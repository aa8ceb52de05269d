"""The heartbeat engine: the one implementation behind ``/__heartbeat__``,
``manage.py dockerflow_heartbeat`` and ``manage.py check --deploy --tag dockerflow``.

- Every configured check runs at once: ``async def`` checks are awaited, sync
  checks run in a bounded pool of daemon threads (at least as wide as the
  number of checks) that close their database connections after each check.
- ``DOCKERFLOW_HEARTBEAT_TIMEOUT`` bounds the whole run; checks that miss it
  are reported as errors that name them and the timeout.
- Single flight: concurrent runs in one process share one run of the checks,
  and a sync check still running from an earlier, timed-out run is waited for
  rather than started a second time.
- ``DOCKERFLOW_HEARTBEAT_CACHE_SECONDS`` reuses a fresh result.
- ``SILENCED_SYSTEM_CHECKS`` drops messages by id; credentials are removed
  from every message; each remaining message is logged once per run on
  ``dockerflow.checks.registry`` (``<id>: <text>``, as Mozilla's package does),
  and ``heartbeat_passed`` or ``heartbeat_failed`` is sent once per run.
- The last result of a run of every configured check, and counts of such
  runs, are kept for the metrics (:func:`last_result`, :func:`run_counts`).

All of that is one coroutine, :meth:`Engine.fly`. :func:`arun` awaits it on the
caller's event loop (so async checks share the server's loop); :func:`run`,
for synchronous callers, runs it on :mod:`~dockerflow.django.background`'s loop
and waits. The two differ only in how they wait and how they send the signals.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.core import checks
from django.core.checks import ERROR
from django.core.signals import setting_changed
from django.db import connections
from django.dispatch import Signal

from .. import health
from . import background
from .conf import FAIL_LEVELS, conf, parse_level_name
from .entries import ResolvedCheck, resolve_entries
from .redaction import redact
from .signals import heartbeat_failed, heartbeat_passed

__all__ = [
    "STATUSES",
    "CheckResult",
    "Engine",
    "HeartbeatResult",
    "RunCounts",
    "arun",
    "configured_checks",
    "engine",
    "last_result",
    "level_to_text",
    "reset",
    "run",
    "run_counts",
]

#: Where the heartbeat logs what went wrong with the engine or a receiver.
logger = logging.getLogger("dockerflow.checks")
#: Where each check message of a run is logged (Mozilla's logger name).
results_logger = logging.getLogger("dockerflow.checks.registry")

T = TypeVar("T")

#: Level names, as Mozilla's package spells them.
STATUSES = {
    0: "ok",
    checks.DEBUG: "debug",
    checks.INFO: "info",
    checks.WARNING: "warning",
    checks.ERROR: "error",
    checks.CRITICAL: "critical",
}

#: The pool never has fewer threads available than this.
MIN_POOL_WIDTH = 4
#: How long past the timeout a caller that joined someone else's run waits
#: before it gives up on it (only a bug or a frozen signal receiver needs it).
JOIN_MARGIN = 1.0


def level_to_text(level: int) -> str:
    """The status name of a check level; levels between names round down (35 is "warning")."""
    named = [value for value in STATUSES if value <= level]
    return STATUSES[max(named)] if named else "ok"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check in one heartbeat run."""

    name: str
    messages: tuple[checks.CheckMessage, ...] = ()
    #: Seconds the check took (the timeout, for a check that missed it).
    duration: float = 0.0
    #: Whether the check missed the heartbeat's timeout.
    timed_out: bool = False

    @property
    def level(self) -> int:
        """The highest level among the messages (0 when there are none)."""
        return max((m.level for m in self.messages), default=0)

    @property
    def status(self) -> str:
        """The level as text: ok, debug, info, warning, error or critical."""
        return level_to_text(self.level)

    def detail(self) -> dict[str, Any]:
        """The entry of this check in the ``details`` object (messages by id)."""
        by_id: dict[str, str] = {}
        for m in self.messages:
            key = m.id or ""
            by_id[key] = f"{by_id[key]}; {m.msg}" if key in by_id else str(m.msg)
        return {"status": self.status, "level": self.level, "messages": by_id}


@dataclass(frozen=True)
class HeartbeatResult:
    """The outcome of one heartbeat run."""

    checks: tuple[CheckResult, ...] = ()
    #: Seconds the run took.
    duration: float = 0.0
    #: The lowest check level that fails the heartbeat.
    fail_level: int = ERROR
    #: The timeout the run was bounded by, in seconds.
    timeout: float = 0.0
    #: Whether this result was served from ``DOCKERFLOW_HEARTBEAT_CACHE_SECONDS``.
    cached: bool = False

    @property
    def level(self) -> int:
        """The highest level among all checks."""
        return max((c.level for c in self.checks), default=0)

    @property
    def status(self) -> str:
        """The overall status text."""
        return level_to_text(self.level)

    @property
    def failed(self) -> bool:
        """Whether the run reached the failing level."""
        return self.level >= self.fail_level

    @property
    def timed_out(self) -> tuple[str, ...]:
        """Names of the checks that missed the timeout."""
        return tuple(c.name for c in self.checks if c.timed_out)

    def payload(self, *, details: bool) -> dict[str, Any]:
        """The JSON body of ``/__heartbeat__``; ``details`` adds checks and details."""
        body: dict[str, Any] = {"status": self.status}
        if details:
            body["checks"] = {c.name: c.status for c in self.checks}
            body["details"] = {c.name: c.detail() for c in self.checks if c.level > 0}
        return body


@dataclass(frozen=True)
class RunCounts:
    """How many runs of every configured check this process has made, and how they ended.

    Counted once per run, where the run lands: probes that shared a run or got a
    cached result add nothing. Runs of a subset of the checks (``names=``) are
    not counted. A check fails when it reaches the run's failing level.
    """

    runs: int = 0
    #: Runs that reached the failing level.
    failures: int = 0
    #: Runs of each check, by name.
    check_runs: Mapping[str, int] = field(default_factory=dict)
    #: Runs of each check at or above the failing level, by name.
    check_failures: Mapping[str, int] = field(default_factory=dict)
    #: Runs of each check that missed the timeout, by name.
    check_timeouts: Mapping[str, int] = field(default_factory=dict)

    def add(self, result: HeartbeatResult) -> RunCounts:
        """These counts with one more run, ``result``."""
        runs, failures, timeouts = (
            dict(self.check_runs),
            dict(self.check_failures),
            dict(self.check_timeouts),
        )
        for check in result.checks:
            # Every check that ran gets an entry, 0 included: a counter that
            # appears only at its first failure hides it from rate() and increase().
            runs[check.name] = runs.get(check.name, 0) + 1
            failures[check.name] = failures.get(check.name, 0) + int(
                check.level >= result.fail_level
            )
            timeouts[check.name] = timeouts.get(check.name, 0) + int(check.timed_out)
        return RunCounts(
            self.runs + 1, self.failures + int(result.failed), runs, failures, timeouts
        )


# --- The thread pool ----------------------------------------------------------------


class _Pool:
    """A bounded pool of daemon threads.

    Not ``ThreadPoolExecutor``: its threads are joined at interpreter exit, so
    one check hung on a dead backend would keep a management command (or a
    worker being restarted) from ever exiting.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._work: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Callable[[], Any]]]
        self._work = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self.width = MIN_POOL_WIDTH

    def widen(self, width: int) -> None:
        """Allow at least ``width`` threads."""
        with self._lock:
            self.width = max(self.width, width)

    @property
    def threads(self) -> int:
        """Threads started so far (they live as long as the process)."""
        return len(self._threads)

    def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run ``fn()`` on a pool thread; a thread is started when none is idle."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            self._work.put((future, fn))
            if self._idle > 0:
                self._idle -= 1  # an idle thread will take it
            elif len(self._threads) < self.width:
                thread = threading.Thread(
                    target=self._worker, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            # else: every thread is busy; the work waits for the first one free.
        return future

    def _worker(self) -> None:
        while True:
            future, fn = self._work.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # handed to the waiting caller
                    future.set_exception(exc)
            del future, fn
            with self._lock:
                self._idle += 1


# --- One check, run ------------------------------------------------------------------


def _unexpected(name: str, exc: BaseException) -> checks.CheckMessage:
    """Log ``exc`` with its traceback (credentials removed); the generic error shown instead."""
    formatted = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    logger.error("Check %s raised an unexpected error:\n%s", name, redact(formatted))
    return checks.Error(
        f"Check {name} failed with an unexpected error; details are in the server log.",
        id=health.ERROR_CHECK_RAISED,
    )


def _outcome(name: str, returned: Any, start: float) -> CheckResult:
    if not (
        isinstance(returned, (list, tuple))
        and all(isinstance(m, checks.CheckMessage) for m in returned)
    ):
        returned = [
            checks.Error(
                f"Check {name} returned {type(returned).__name__} instead of a list of "
                "check messages.",
                id=health.ERROR_CHECK_BAD_RESULT,
            )
        ]
    return CheckResult(name, tuple(returned), time.perf_counter() - start)


def _call_sync(check: ResolvedCheck) -> CheckResult:
    """Run a sync check (on a pool thread)."""
    assert check.call is not None
    start = time.perf_counter()
    try:
        return _outcome(check.name, check.call(app_configs=None), start)
    except Exception as exc:
        return CheckResult(check.name, (_unexpected(check.name, exc),), time.perf_counter() - start)
    finally:
        _release_connections(check.name)


async def _call_async(check: ResolvedCheck) -> CheckResult:
    """Run an async check (on the loop that runs the heartbeat)."""
    assert check.acall is not None
    start = time.perf_counter()
    try:
        return _outcome(check.name, await check.acall(app_configs=None), start)
    except Exception as exc:
        return CheckResult(check.name, (_unexpected(check.name, exc),), time.perf_counter() - start)


def _release_connections(name: str) -> None:
    """Close and forget this thread's database connections.

    Pool threads outlive the check: leave no connection open behind it, and no
    connection object either, so the next check on this thread reads the
    database settings of the moment.
    """
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception as exc:
            logger.warning("Closing database %r after %s failed: %r", connection.alias, name, exc)
        # SQLite's close() keeps an in-memory database open, because closing the
        # last connection destroys it. A pool thread's connection is never the
        # last one that matters: a shared-cache database (the test database)
        # lives on in the other connections, and a private ":memory:" one is
        # this thread's alone. Left open, it is reported unclosed at exit.
        if connection.connection is not None:
            connection.connection.close()
            connection.connection = None
        del connections[connection.alias]


def _follow(
    future: concurrent.futures.Future[CheckResult], loop: asyncio.AbstractEventLoop
) -> asyncio.Future[CheckResult]:
    """An asyncio future that follows ``future``, whose cancellation does not travel back.

    ``asyncio.wrap_future`` would cancel the shared pool future when one run
    times out, taking the result away from the later run that waits on it.
    """
    follower: asyncio.Future[CheckResult] = loop.create_future()

    def copy(done: concurrent.futures.Future[CheckResult]) -> None:
        if follower.done():
            return
        exc = done.exception()
        if exc is not None:
            follower.set_exception(exc)
        else:
            follower.set_result(done.result())

    def on_done(done: concurrent.futures.Future[CheckResult]) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(copy, done)

    future.add_done_callback(on_done)
    return follower


def _timed_out(check: ResolvedCheck, timeout: float, still_running: bool) -> CheckResult:
    if still_running:
        message = checks.Error(
            f"Check {check.name} is still running from an earlier heartbeat that timed out, "
            f"so it was not started again, and it did not finish within the heartbeat "
            f"timeout of {timeout:g} seconds.",
            id=health.ERROR_CHECK_STILL_RUNNING,
        )
    else:
        message = checks.Error(
            f"Check {check.name} did not finish within the heartbeat timeout of "
            f"{timeout:g} seconds.",
            id=health.ERROR_CHECK_TIMED_OUT,
        )
    return CheckResult(check.name, (message,), timeout, timed_out=True)


def _cleaned(result: CheckResult, silenced: frozenset[str]) -> CheckResult:
    """``result`` without silenced messages, credentials removed from the others."""
    messages = tuple(
        checks.CheckMessage(
            m.level,
            redact(str(m.msg)),
            hint=None if m.hint is None else redact(str(m.hint)),
            obj=m.obj,
            id=m.id,
        )
        for m in result.messages
        if m.id not in silenced
    )
    return dataclasses.replace(result, messages=messages)


# --- The engine ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """What one call asked for, with the settings of the moment."""

    checks: tuple[ResolvedCheck, ...]
    missing: tuple[str, ...]
    timeout: float
    fail_level: int
    cache_seconds: float
    silenced: frozenset[str]
    #: Whether the plan runs every configured check (no ``names``).
    whole: bool = True

    @property
    def key(self) -> tuple[Any, ...]:
        """Runs with the same key share one flight and one cached result."""
        return (tuple(c.name for c in self.checks), self.missing, self.timeout, self.silenced)


def _as_asked(result: HeartbeatResult, plan: _Plan) -> HeartbeatResult:
    """A shared run's result, judged at the failing level this caller asked for."""
    if result.fail_level == plan.fail_level:
        return result
    return dataclasses.replace(result, fail_level=plan.fail_level)


def _fail_level(value: str | int | None) -> int:
    if value is None:
        value = conf.HEARTBEAT_FAIL_LEVEL
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return FAIL_LEVELS[parse_level_name(value)]


def _timeout(value: float | None) -> float:
    if value is None:
        return conf.HEARTBEAT_TIMEOUT
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e9:
        raise ValueError(f"timeout {value!r} is not a number of seconds greater than 0")
    return float(value)


class Engine:
    """Process-wide state of the heartbeat: pool, flights, cache, running checks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pool = _Pool("dockerflow-heartbeat")
        #: The future of the run in flight, by plan key.
        self._flights: dict[tuple[Any, ...], concurrent.futures.Future[HeartbeatResult]] = {}
        self._cache: tuple[tuple[Any, ...], float, HeartbeatResult] | None = None
        #: Sync checks running on a pool thread, by name: a later run waits for
        #: these instead of starting the same check again.
        self._running: dict[str, concurrent.futures.Future[CheckResult]] = {}
        self._resolved: list[ResolvedCheck] | None = None
        #: Tasks nobody awaits (a leader's run, async checks cancelled at the
        #: timeout), kept referenced until they are done.
        self._pending: set[asyncio.Future[Any]] = set()
        #: The last run of every configured check, and the counts of such runs
        #: (each replaced whole under the lock, so readers need none).
        self.last_result: HeartbeatResult | None = None
        self.counts = RunCounts()

    # -- configuration ------------------------------------------------------------

    def configured(self) -> list[ResolvedCheck]:
        """The resolved ``DOCKERFLOW_CHECKS``, resolved again after a setting changes."""
        resolved = self._resolved
        if resolved is None:
            resolved = self._resolved = resolve_entries(conf.CHECKS)
        return resolved

    def plan(
        self,
        names: Sequence[str] | None,
        timeout: float | None,
        fail_level: str | int | None,
        use_cache: bool,
    ) -> _Plan:
        """Everything one call needs, read once from its arguments and the settings."""
        chosen = self.configured()
        missing: tuple[str, ...] = ()
        if names is not None:
            wanted = list(dict.fromkeys(names))
            chosen = [c for c in chosen if c.name in wanted or set(c.aliases) & set(wanted)]
            known = {c.name for c in chosen} | {a for c in chosen for a in c.aliases}
            missing = tuple(n for n in wanted if n not in known)
        self.pool.widen(len(chosen))
        return _Plan(
            checks=tuple(chosen),
            missing=missing,
            timeout=_timeout(timeout),
            fail_level=_fail_level(fail_level),
            cache_seconds=conf.HEARTBEAT_CACHE_SECONDS if use_cache and names is None else 0.0,
            silenced=frozenset(
                s for s in getattr(settings, "SILENCED_SYSTEM_CHECKS", None) or () if type(s) is str
            ),
            whole=names is None,
        )

    def reset(self) -> None:
        """Forget the cached result and the resolved configuration (not running checks)."""
        with self._lock:
            self._cache = None
            self._resolved = None

    # -- the two doors ---------------------------------------------------------------

    def run(
        self,
        names: Sequence[str] | None = None,
        timeout: float | None = None,
        fail_level: str | int | None = None,
        use_cache: bool = True,
        sender: Any = None,
    ) -> HeartbeatResult:
        """:func:`run`: the flight on the background loop, waited for in this thread."""
        plan = self.plan(names, timeout, fail_level, use_cache)
        cached = self._cached(plan)
        if cached is not None:
            return cached
        flight, leader = self._board(plan)
        if leader:
            background.submit(self.fly(plan, flight))
        try:
            result = flight.result(timeout=plan.timeout + JOIN_MARGIN)
        except concurrent.futures.TimeoutError:
            return self._given_up(plan)
        if leader:
            _report(result)
            _send_signals(result, sender)
        return _as_asked(result, plan)

    async def arun(
        self,
        names: Sequence[str] | None = None,
        timeout: float | None = None,
        fail_level: str | int | None = None,
        use_cache: bool = True,
        sender: Any = None,
    ) -> HeartbeatResult:
        """:func:`arun`: the flight on this event loop, awaited."""
        plan = self.plan(names, timeout, fail_level, use_cache)
        cached = self._cached(plan)
        if cached is not None:
            return cached
        flight, leader = self._board(plan)
        if leader:
            # A task of its own, so a caller that is cancelled (an ASGI client
            # gone) stops waiting but the run completes, announced, for the others.
            waited: asyncio.Future[HeartbeatResult] = asyncio.ensure_future(
                self._lead(plan, flight, sender)
            )
            self._keep(waited)
        else:
            waited = asyncio.wrap_future(flight)
        try:
            result = await asyncio.wait_for(asyncio.shield(waited), plan.timeout + JOIN_MARGIN)
        except asyncio.TimeoutError:
            return self._given_up(plan)
        return _as_asked(result, plan)

    async def _lead(
        self,
        plan: _Plan,
        flight: concurrent.futures.Future[HeartbeatResult],
        sender: Any,
    ) -> HeartbeatResult:
        result = await self.fly(plan, flight)
        _report(result)
        await _asend_signals(result, sender)
        return result

    def _keep(self, task: asyncio.Future[Any]) -> None:
        """Keep a task nobody may await referenced until it is done."""
        self._pending.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: its callers got it (or left)

    # -- single flight ------------------------------------------------------------------

    def _cached(self, plan: _Plan) -> HeartbeatResult | None:
        """The cached result, when the plan may use it and it is still fresh."""
        cache = self._cache
        if plan.cache_seconds <= 0 or cache is None:
            return None
        key, expires, result = cache
        if key != plan.key or time.monotonic() >= expires:
            return None
        return dataclasses.replace(result, fail_level=plan.fail_level, cached=True)

    def _board(self, plan: _Plan) -> tuple[concurrent.futures.Future[HeartbeatResult], bool]:
        """The flight to wait for, and whether this caller leads it (starts the run)."""
        with self._lock:
            flight = self._flights.get(plan.key)
            if flight is not None:
                logger.debug("Heartbeat: joined the run of %d checks in flight", len(plan.checks))
                return flight, False
            flight = self._flights[plan.key] = concurrent.futures.Future()
            # Running from the start: a caller that gives up or is cancelled
            # cannot cancel the run the others wait for.
            flight.set_running_or_notify_cancel()
        logger.debug("Heartbeat: started a run of %d checks", len(plan.checks))
        return flight, True

    async def fly(
        self, plan: _Plan, flight: concurrent.futures.Future[HeartbeatResult]
    ) -> HeartbeatResult:
        """Run the plan's checks, land the result on ``flight`` (and the cache), return it."""
        try:
            result = await self._execute(plan)
        except BaseException as exc:
            with self._lock:
                if self._flights.get(plan.key) is flight:
                    del self._flights[plan.key]
            flight.set_exception(exc)
            raise
        with self._lock:
            if self._flights.get(plan.key) is flight:
                del self._flights[plan.key]
            if plan.cache_seconds > 0:
                self._cache = (plan.key, time.monotonic() + plan.cache_seconds, result)
            if plan.whole:
                self.last_result = result
                self.counts = self.counts.add(result)
        flight.set_result(result)
        return result

    def _given_up(self, plan: _Plan) -> HeartbeatResult:
        results = tuple(_timed_out(c, plan.timeout, still_running=False) for c in plan.checks)
        return HeartbeatResult(results, plan.timeout, plan.fail_level, plan.timeout)

    # -- running the checks ---------------------------------------------------------------

    def _submit(self, check: ResolvedCheck) -> tuple[concurrent.futures.Future[CheckResult], bool]:
        """Start a sync check on the pool, or return its run still going from before."""
        with self._lock:
            running = self._running.get(check.name)
            if running is not None and not running.done():
                return running, True
            future = self.pool.submit(lambda: _call_sync(check))
            self._running[check.name] = future

        def forget(done: concurrent.futures.Future[CheckResult]) -> None:
            with self._lock:
                if self._running.get(check.name) is done:
                    del self._running[check.name]

        future.add_done_callback(forget)
        return future, False

    async def _execute(self, plan: _Plan) -> HeartbeatResult:
        start = time.perf_counter()
        loop = asyncio.get_running_loop()
        waiting: dict[ResolvedCheck, asyncio.Future[CheckResult]] = {}
        joined: set[ResolvedCheck] = set()
        for check in plan.checks:
            if check.problem is not None:
                continue
            if check.is_async:
                waiting[check] = loop.create_task(_call_async(check))
            else:
                future, was_running = self._submit(check)
                waiting[check] = _follow(future, loop)
                if was_running:
                    joined.add(check)
        if waiting:
            await asyncio.wait(waiting.values(), timeout=plan.timeout)
        results = []
        for check in plan.checks:
            awaited = waiting.get(check)
            if awaited is None:
                assert check.problem is not None
                results.append(CheckResult(check.name, (check.problem,)))
            elif not awaited.done():
                # An async check is cancelled; a thread cannot be, and a later
                # run waits for it (see _submit).
                awaited.cancel()
                self._keep(awaited)
                results.append(_timed_out(check, plan.timeout, check in joined))
            elif awaited.cancelled() or awaited.exception() is not None:
                # Only something like SystemExit raised in a check gets here.
                exc = asyncio.CancelledError() if awaited.cancelled() else awaited.exception()
                assert exc is not None
                results.append(CheckResult(check.name, (_unexpected(check.name, exc),)))
            else:
                results.append(awaited.result())
        for name in plan.missing:
            results.append(
                CheckResult(
                    name,
                    (
                        checks.Error(
                            f"No check named {name} is configured in DOCKERFLOW_CHECKS.",
                            id=health.ERROR_UNKNOWN_CHECK,
                        ),
                    ),
                )
            )
        return HeartbeatResult(
            tuple(_cleaned(result, plan.silenced) for result in results),
            time.perf_counter() - start,
            plan.fail_level,
            plan.timeout,
        )


# --- Announcing a run: its log lines and its signal ---------------------------------------


def _report(result: HeartbeatResult) -> None:
    """Log every message of a run once, as Mozilla's package does: ``<id>: <text>``."""
    for check in result.checks:
        for message in check.messages:
            results_logger.log(
                max(message.level, logging.DEBUG),
                "%s: %s",
                message.id,
                message.msg,
                extra={
                    "check": check.name,
                    "check_id": message.id,
                    "check_status": level_to_text(message.level),
                    "check_duration": round(check.duration, 6),
                },
            )


def _signal(result: HeartbeatResult) -> Signal:
    return heartbeat_failed if result.failed else heartbeat_passed


def _receiver_failed(exc: BaseException) -> None:
    formatted = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    logger.error("A heartbeat signal receiver raised:\n%s", redact(formatted))


# Not send_robust(): Django would log a receiver's exception text as it is, and
# that text may hold a password. A receiver that raises is logged with
# credentials removed; the receivers after it are not called for that run.


def _send_signals(result: HeartbeatResult, sender: Any) -> None:
    try:
        _signal(result).send(sender, level=result.level, result=result, checks=result.checks)
    except Exception as exc:
        _receiver_failed(exc)


async def _asend_signals(result: HeartbeatResult, sender: Any) -> None:
    try:
        await _signal(result).asend(sender, level=result.level, result=result, checks=result.checks)
    except Exception as exc:
        _receiver_failed(exc)


# --- The public interface -------------------------------------------------------------

#: The process's engine.
engine = Engine()


def run(
    *,
    names: Sequence[str] | None = None,
    timeout: float | None = None,
    fail_level: str | int | None = None,
    use_cache: bool = True,
    sender: Any = None,
) -> HeartbeatResult:
    """Run the configured checks and return one :class:`HeartbeatResult`.

    ``names`` selects checks by name (or dotted path); a name that matches
    nothing is reported as an error (``dockerflow.health.E016``). ``timeout``
    (seconds) replaces ``DOCKERFLOW_HEARTBEAT_TIMEOUT`` and ``fail_level``
    (``"warning"``/``"error"``) replaces ``DOCKERFLOW_HEARTBEAT_FAIL_LEVEL`` for
    this call; a value that is neither raises ``ValueError``. ``use_cache=False``
    never serves ``DOCKERFLOW_HEARTBEAT_CACHE_SECONDS``' result. ``sender`` is
    the signals' sender (the views and the command pass the heartbeat view, as
    Mozilla's package does). Needs no event loop; safe to call from any thread.
    """
    return engine.run(names, timeout, fail_level, use_cache, sender)


async def arun(
    *,
    names: Sequence[str] | None = None,
    timeout: float | None = None,
    fail_level: str | int | None = None,
    use_cache: bool = True,
    sender: Any = None,
) -> HeartbeatResult:
    """:func:`run` for async callers: async checks run on the caller's event loop."""
    return await engine.arun(names, timeout, fail_level, use_cache, sender)


def last_result() -> HeartbeatResult | None:
    """The result of the last run of every configured check in this process, or None.

    A cached answer is the result it reuses; a run of a subset of the checks
    (``names=``) does not count. Runs no check; the metrics collector reads it.
    """
    return engine.last_result


def run_counts() -> RunCounts:
    """How many runs of every configured check this process has made (:class:`RunCounts`)."""
    return engine.counts


def configured_checks() -> list[ResolvedCheck]:
    """The checks ``DOCKERFLOW_CHECKS`` configures, resolved and named."""
    return engine.configured()


def reset() -> None:
    """Forget the cached result and the resolved ``DOCKERFLOW_CHECKS``."""
    engine.reset()


#: Settings that change what the resolved checks are or mean.
_RESOLUTION_SETTINGS = {"SILENCED_SYSTEM_CHECKS", "DATABASES", "CACHES", "STORAGES"}


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("DOCKERFLOW_") or setting in _RESOLUTION_SETTINGS:
        engine.reset()


setting_changed.connect(_settings_changed, dispatch_uid="dockerflow.heartbeat")
