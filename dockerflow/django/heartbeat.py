"""The heartbeat runner: the one engine behind ``/__heartbeat__``, the command and
``manage.py check --deploy --tag dockerflow``.

- Every configured check runs at once: ``async def`` checks are awaited, sync
  checks run in a bounded pool of daemon threads (at least as wide as the
  number of checks) that close their database connections after each check.
- ``DOCKERFLOW_HEARTBEAT_TIMEOUT`` bounds the whole run; checks that miss it
  are reported as errors that name them and the timeout.
- Single flight: concurrent runs in one process share one run of the checks,
  and a sync check still running from an earlier, timed-out run is waited for
  rather than started a second time.
- ``DOCKERFLOW_HEARTBEAT_CACHE_SECONDS`` reuses a fresh result.
- ``SILENCED_SYSTEM_CHECKS`` drops messages by id; every remaining non-ok
  message is logged on ``dockerflow.checks``; ``heartbeat_passed`` or
  ``heartbeat_failed`` is sent once per run.

:func:`run` is for synchronous callers (views under WSGI, management
commands: it needs no event loop); :func:`arun` is its native async twin.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.core import checks
from django.core.checks import ERROR
from django.core.signals import setting_changed
from django.db import connections
from django.dispatch import receiver

from .. import health
from . import signals
from .checks import ResolvedCheck, log_unexpected, redact, resolve_entries
from .conf import SETTINGS, conf

logger = logging.getLogger("dockerflow.checks")

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

#: The id of a check that missed the timeout, by whether it was still running from before.
_TIMEOUT_IDS = {False: health.ERROR_CHECK_TIMED_OUT, True: health.ERROR_CHECK_STILL_RUNNING}

#: The pool never has fewer threads available than this.
MIN_POOL_WIDTH = 4
#: How long past the timeout a caller that joined someone else's run waits
#: before it gives up on it (only a bug or a frozen signal receiver needs it).
JOIN_MARGIN = 1.0


def level_to_text(level: int) -> str:
    """The status name of a check level; levels between names round down (35 is "warning")."""
    named = [value for value in STATUSES if value <= level]
    return STATUSES[max(named)] if named else "ok"


def fail_level_from_name(name: str | int) -> int:
    """Turn ``'warning'``/``'error'`` (or a level number) into the failing check level."""
    if isinstance(name, int):
        return name
    return checks.WARNING if name.lower() == "warning" else ERROR


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check in one heartbeat run."""

    name: str
    messages: tuple[checks.CheckMessage, ...] = ()
    duration: float = 0.0

    @property
    def level(self) -> int:
        """The highest level among the messages (0 when there are none)."""
        return max((m.level for m in self.messages), default=0)

    @property
    def status(self) -> str:
        """The level as text: ok, debug, info, warning, error or critical."""
        return level_to_text(self.level)

    @property
    def timed_out(self) -> bool:
        """Whether the check missed the heartbeat's timeout."""
        return any(m.id in _TIMEOUT_IDS.values() for m in self.messages)

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
    duration: float = 0.0
    fail_level: int = ERROR
    extra: dict[str, Any] = field(default_factory=dict)
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


@dataclass(frozen=True)
class _Outcome:
    messages: tuple[checks.CheckMessage, ...]
    duration: float


def _validated(name: str, returned: Any) -> tuple[checks.CheckMessage, ...]:
    if isinstance(returned, (list, tuple)) and all(
        isinstance(m, checks.CheckMessage) for m in returned
    ):
        return tuple(returned)
    return (
        checks.Error(
            f"Check {name} returned {type(returned).__name__} instead of a list of check messages.",
            id=health.ERROR_CHECK_BAD_RESULT,
        ),
    )


def _call_sync(check: ResolvedCheck) -> _Outcome:
    assert check.call is not None
    start = time.perf_counter()
    try:
        messages = _validated(check.name, check.call(app_configs=None))
    except Exception as exc:
        messages = (log_unexpected(check.name, exc),)
    finally:
        _release_connections(check.name)
    return _Outcome(messages, time.perf_counter() - start)


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
        # SQLite keeps an in-memory database open on close() (closing would
        # destroy it); dropping that wrapper would only leak its connection.
        if connection.connection is None:
            del connections[connection.alias]


async def _call_async(check: ResolvedCheck) -> _Outcome:
    assert check.acall is not None
    start = time.perf_counter()
    try:
        messages = _validated(check.name, await check.acall(app_configs=None))
    except Exception as exc:
        messages = (log_unexpected(check.name, exc),)
    return _Outcome(messages, time.perf_counter() - start)


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

    @property
    def key(self) -> tuple[Any, ...]:
        return (tuple(c.name for c in self.checks), self.missing, self.timeout, self.silenced)


class _Flight:
    """One run of the checks that concurrent callers share."""

    def __init__(self) -> None:
        self.future: concurrent.futures.Future[HeartbeatResult] = concurrent.futures.Future()
        # Running from the start: a joiner that gives up or is cancelled (an
        # ASGI client gone) cannot cancel the run the others wait for.
        self.future.set_running_or_notify_cancel()


class Engine:
    """Process-wide state of the heartbeat: pool, flights, cache, running checks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pool = _Pool("dockerflow-heartbeat")
        self._flights: dict[tuple[Any, ...], _Flight] = {}
        self._cache: tuple[tuple[Any, ...], float, HeartbeatResult] | None = None
        #: Sync checks running on a pool thread, by name: a later run waits for
        #: these instead of starting the same check again.
        self._running: dict[str, concurrent.futures.Future[_Outcome]] = {}
        self._resolved: tuple[tuple[Any, ...], list[ResolvedCheck]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Cancelled async checks, kept referenced until they have unwound.
        self._cancelled: set[asyncio.Future[Any]] = set()

    # -- configuration ------------------------------------------------------------

    def configured(self) -> list[ResolvedCheck]:
        """The resolved ``DOCKERFLOW_CHECKS``, resolved again only when the entries change."""
        try:
            entries = tuple(conf.CHECKS)
        except TypeError:
            entries = ()  # not a list: reported at start-up as dockerflow.config.E002
        cached = self._resolved
        if (
            cached is not None
            and len(cached[0]) == len(entries)
            and all(a is b for a, b in zip(cached[0], entries, strict=True))
        ):
            return cached[1]
        resolved = resolve_entries(entries)
        self._resolved = (entries, resolved)
        return resolved

    def plan(
        self,
        names: Sequence[str] | str | None,
        timeout: float | None,
        fail_level: str | int | None,
    ) -> _Plan:
        configured = self.configured()
        missing: tuple[str, ...] = ()
        if names is not None:
            wanted = [names] if isinstance(names, str) else list(names)
            chosen = [c for c in configured if c.name in wanted or set(c.aliases) & set(wanted)]
            known = {c.name for c in chosen} | {a for c in chosen for a in c.aliases}
            missing = tuple(n for n in wanted if n not in known)
            configured = chosen
        self.pool.widen(len(configured))
        return _Plan(
            checks=tuple(configured),
            missing=missing,
            timeout=_positive(timeout, _setting_timeout()),
            fail_level=fail_level_from_name(
                fail_level if fail_level is not None else _setting_fail_level()
            ),
            cache_seconds=_setting_cache_seconds() if names is None else 0.0,
            silenced=frozenset(_silenced()),
        )

    def reset(self) -> None:
        """Forget the cached result and the resolved configuration (not running checks)."""
        with self._lock:
            self._cache = None
            self._resolved = None

    # -- single flight ---------------------------------------------------------------

    def _cached(self, plan: _Plan) -> HeartbeatResult | None:
        cached = self._cache
        if plan.cache_seconds <= 0 or cached is None:
            return None
        key, expires, result = cached
        if key != plan.key or time.monotonic() >= expires:
            return None
        return dataclasses.replace(result, fail_level=plan.fail_level, cached=True)

    def _join_or_lead(self, plan: _Plan) -> tuple[_Flight, bool]:
        with self._lock:
            flight = self._flights.get(plan.key)
            if flight is not None:
                return flight, False
            flight = self._flights[plan.key] = _Flight()
            return flight, True

    def _land(self, plan: _Plan, flight: _Flight, result: HeartbeatResult) -> None:
        with self._lock:
            if self._flights.get(plan.key) is flight:
                del self._flights[plan.key]
            if plan.cache_seconds > 0:
                self._cache = (plan.key, time.monotonic() + plan.cache_seconds, result)
        flight.future.set_result(result)

    def _abort(self, plan: _Plan, flight: _Flight, exc: BaseException) -> None:
        with self._lock:
            if self._flights.get(plan.key) is flight:
                del self._flights[plan.key]
        flight.future.set_exception(exc)

    def run(
        self,
        names: Sequence[str] | str | None = None,
        timeout: float | None = None,
        fail_level: str | int | None = None,
        use_cache: bool = True,
    ) -> HeartbeatResult:
        plan = self.plan(names, timeout, fail_level)
        if use_cache and (cached := self._cached(plan)) is not None:
            return cached
        flight, leader = self._join_or_lead(plan)
        if not leader:
            try:
                result = flight.future.result(timeout=plan.timeout + JOIN_MARGIN)
            except concurrent.futures.TimeoutError:
                return self._given_up(plan)
            return dataclasses.replace(result, fail_level=plan.fail_level)
        try:
            result = self._execute_sync(plan)
        except BaseException as exc:
            self._abort(plan, flight, exc)
            raise
        self._land(plan, flight, result)
        _report(result)
        signals.send_heartbeat_signals(result)
        return result

    async def arun(
        self,
        names: Sequence[str] | str | None = None,
        timeout: float | None = None,
        fail_level: str | int | None = None,
        use_cache: bool = True,
    ) -> HeartbeatResult:
        plan = self.plan(names, timeout, fail_level)
        if use_cache and (cached := self._cached(plan)) is not None:
            return cached
        flight, leader = self._join_or_lead(plan)
        if not leader:
            try:
                result = await asyncio.wait_for(
                    asyncio.wrap_future(flight.future), plan.timeout + JOIN_MARGIN
                )
            except asyncio.TimeoutError:
                return self._given_up(plan)
            return dataclasses.replace(result, fail_level=plan.fail_level)
        # Shielded: if this request is cancelled (client gone), the run still
        # completes for everyone who joined it.
        task = asyncio.ensure_future(self._lead_async(plan, flight))
        return await asyncio.shield(task)

    async def _lead_async(self, plan: _Plan, flight: _Flight) -> HeartbeatResult:
        try:
            result = await self._execute_async(plan)
        except BaseException as exc:
            self._abort(plan, flight, exc)
            raise
        self._land(plan, flight, result)
        _report(result)
        await signals.asend_heartbeat_signals(result)
        return result

    def _given_up(self, plan: _Plan) -> HeartbeatResult:
        results = [_timed_out(c, plan.timeout, still_running=False) for c in plan.checks]
        return self._assemble(plan, results, plan.timeout)

    # -- running the checks ---------------------------------------------------------------

    def _submit(self, check: ResolvedCheck) -> tuple[concurrent.futures.Future[_Outcome], bool]:
        """Start a sync check on the pool, or return its run still going from before."""
        with self._lock:
            running = self._running.get(check.name)
            if running is not None:
                return running, True
            future = self.pool.submit(lambda: _call_sync(check))
            self._running[check.name] = future

        def forget(done: concurrent.futures.Future[_Outcome]) -> None:
            with self._lock:
                if self._running.get(check.name) is done:
                    del self._running[check.name]

        future.add_done_callback(forget)
        return future, False

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        """An event loop on a daemon thread, for async checks run from sync code."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="dockerflow-heartbeat-loop", daemon=True
                ).start()
                self._loop = loop
            return self._loop

    def _execute_sync(self, plan: _Plan) -> HeartbeatResult:
        start = time.perf_counter()
        futures: dict[ResolvedCheck, concurrent.futures.Future[_Outcome]] = {}
        joined: set[ResolvedCheck] = set()
        for check in plan.checks:
            if check.problem is not None:
                continue
            if check.is_async:
                futures[check] = asyncio.run_coroutine_threadsafe(
                    _call_async(check), self._background_loop()
                )
            else:
                futures[check], was_running = self._submit(check)
                if was_running:
                    joined.add(check)
        if futures:
            concurrent.futures.wait(futures.values(), timeout=plan.timeout)
        results = []
        for check in plan.checks:
            future = futures.get(check)
            if future is None:
                results.append(_problem(check))
            elif future.done():
                results.append(_finished(check, future))
            else:
                if check.is_async:
                    future.cancel()  # an async check can be stopped; a thread cannot
                results.append(_timed_out(check, plan.timeout, check in joined))
        return self._assemble(plan, results, time.perf_counter() - start)

    async def _execute_async(self, plan: _Plan) -> HeartbeatResult:
        start = time.perf_counter()
        loop = asyncio.get_running_loop()
        waiting: dict[ResolvedCheck, asyncio.Future[_Outcome]] = {}
        joined: set[ResolvedCheck] = set()
        for check in plan.checks:
            if check.problem is not None:
                continue
            if check.is_async:
                waiting[check] = loop.create_task(_call_async(check))
            else:
                future, was_running = self._submit(check)
                waiting[check] = _bridge(future, loop)
                if was_running:
                    joined.add(check)
        if waiting:
            await asyncio.wait(waiting.values(), timeout=plan.timeout)
        results = []
        for check in plan.checks:
            awaited = waiting.get(check)
            if awaited is None:
                results.append(_problem(check))
            elif awaited.done():
                results.append(_finished(check, awaited))
            else:
                awaited.cancel()
                if check.is_async:
                    self._cancelled.add(awaited)
                    awaited.add_done_callback(self._cancelled.discard)
                results.append(_timed_out(check, plan.timeout, check in joined))
        return self._assemble(plan, results, time.perf_counter() - start)

    def _assemble(
        self, plan: _Plan, results: Iterable[CheckResult], duration: float
    ) -> HeartbeatResult:
        kept = []
        for result in results:
            messages = tuple(_clean(m) for m in result.messages if m.id not in plan.silenced)
            kept.append(dataclasses.replace(result, messages=messages))
        for name in plan.missing:
            kept.append(
                CheckResult(
                    redact(name),
                    (
                        checks.Error(
                            f"No check named {redact(name)} is configured in DOCKERFLOW_CHECKS.",
                            id=health.ERROR_UNKNOWN_CHECK,
                        ),
                    ),
                )
            )
        return HeartbeatResult(
            tuple(kept), duration, plan.fail_level, timeout=plan.timeout, cached=False
        )


def _bridge(
    future: concurrent.futures.Future[_Outcome], loop: asyncio.AbstractEventLoop
) -> asyncio.Future[_Outcome]:
    """An asyncio future that follows ``future``, whose cancellation does not travel back.

    ``asyncio.wrap_future`` would cancel the shared thread-pool future when one
    waiter times out, taking the result away from the other runs that wait on it.
    """
    waiter: asyncio.Future[_Outcome] = loop.create_future()

    def copy(done: concurrent.futures.Future[_Outcome]) -> None:
        if waiter.done():
            return
        exc = done.exception()
        if exc is not None:
            waiter.set_exception(exc)
        else:
            waiter.set_result(done.result())

    def on_done(done: concurrent.futures.Future[_Outcome]) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(copy, done)

    future.add_done_callback(on_done)
    return waiter


def _problem(check: ResolvedCheck) -> CheckResult:
    assert check.problem is not None
    return CheckResult(check.name, (check.problem,), 0.0)


def _finished(
    check: ResolvedCheck, future: concurrent.futures.Future[_Outcome] | asyncio.Future[_Outcome]
) -> CheckResult:
    try:
        outcome = future.result()
    except (asyncio.CancelledError, concurrent.futures.CancelledError) as exc:
        return CheckResult(check.name, (log_unexpected(check.name, exc),), 0.0)
    except BaseException as exc:  # from the pool: SystemExit and the like in a check
        return CheckResult(check.name, (log_unexpected(check.name, exc),), 0.0)
    return CheckResult(check.name, outcome.messages, outcome.duration)


def _timed_out(check: ResolvedCheck, timeout: float, still_running: bool) -> CheckResult:
    if still_running:
        text = (
            f"Check {check.name} is still running from an earlier heartbeat that timed out, "
            f"so it was not started again, and it did not finish within the heartbeat "
            f"timeout of {timeout:g} seconds."
        )
    else:
        text = (
            f"Check {check.name} did not finish within the heartbeat timeout of "
            f"{timeout:g} seconds."
        )
    return CheckResult(check.name, (checks.Error(text, id=_TIMEOUT_IDS[still_running]),), timeout)


def _clean(message: checks.CheckMessage) -> checks.CheckMessage:
    """The message with credentials removed from its text (a copy only when needed)."""
    text = str(message.msg)
    clean = redact(text)
    if clean == text and isinstance(message.msg, str):
        return message
    return checks.CheckMessage(
        message.level, clean, hint=message.hint, obj=message.obj, id=message.id
    )


def _report(result: HeartbeatResult) -> None:
    """Log every non-ok message of a run once, with check name, id, text and duration."""
    for check in result.checks:
        for message in check.messages:
            logger.log(
                max(message.level, logging.DEBUG),
                "Check %s: %s %s (%.3f s)",
                check.name,
                message.id,
                message.msg,
                check.duration,
                extra={
                    "check": check.name,
                    "check_id": message.id,
                    "check_status": level_to_text(message.level),
                    "check_duration": round(check.duration, 6),
                },
            )


# --- Settings, read defensively: a bad value must never crash a probe --------------------


def _positive(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) and number > 0 else default


def _setting_timeout() -> float:
    default = float(SETTINGS["DOCKERFLOW_HEARTBEAT_TIMEOUT"].default)
    try:
        return _positive(conf.HEARTBEAT_TIMEOUT, default)
    except (TypeError, ValueError):
        return default


def _setting_cache_seconds() -> float:
    try:
        return _positive(conf.HEARTBEAT_CACHE_SECONDS, 0.0)
    except (TypeError, ValueError):
        return 0.0


def _setting_fail_level() -> str:
    try:
        return conf.HEARTBEAT_FAIL_LEVEL
    except Exception:
        return "error"


def _silenced() -> list[str]:
    silenced = getattr(settings, "SILENCED_SYSTEM_CHECKS", None) or ()
    return [s for s in silenced if isinstance(s, str)]


# --- The public interface -------------------------------------------------------------

engine = Engine()


def run(
    *,
    names: Sequence[str] | None = None,
    timeout: float | None = None,
    fail_level: str | int | None = None,
    use_cache: bool = True,
) -> HeartbeatResult:
    """Run the configured checks and return one :class:`HeartbeatResult`.

    ``names`` selects checks by name (or dotted path); a name that matches
    nothing is reported as an error (``dockerflow.health.E016``). ``timeout``
    (seconds) replaces ``DOCKERFLOW_HEARTBEAT_TIMEOUT`` and ``fail_level``
    (``"warning"``/``"error"``) replaces ``DOCKERFLOW_HEARTBEAT_FAIL_LEVEL`` for
    this call. Needs no event loop; safe to call from any thread.
    """
    return engine.run(names, timeout, fail_level, use_cache)


async def arun(
    *,
    names: Sequence[str] | None = None,
    timeout: float | None = None,
    fail_level: str | int | None = None,
    use_cache: bool = True,
) -> HeartbeatResult:
    """:func:`run` for async callers: async checks run on the caller's event loop."""
    return await engine.arun(names, timeout, fail_level, use_cache)


def reset() -> None:
    """Forget the cached result and the resolved ``DOCKERFLOW_CHECKS`` (for tests)."""
    engine.reset()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("DOCKERFLOW_") or setting in {
        "SILENCED_SYSTEM_CHECKS",
        "DATABASES",
        "CACHES",
    }:
        engine.reset()
