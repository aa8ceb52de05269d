"""Signals sent once after each heartbeat run.

``heartbeat_passed`` is sent when the run stays below the failing level,
``heartbeat_failed`` when it reaches it (``DOCKERFLOW_HEARTBEAT_FAIL_LEVEL``,
error by default, so a warning passes). Receivers get:

``level``
    the highest check level seen in the run (0 when every check is ok), as in
    Mozilla's package;
``result``
    the :class:`~dockerflow.django.heartbeat.HeartbeatResult`;
``checks``
    its per-check results, a tuple of
    :class:`~dockerflow.django.heartbeat.CheckResult`.

The sender is the heartbeat view, whatever started the run (a probe, the
command, ``manage.py check --deploy``), so receivers written for Mozilla's
package keep working. Concurrent probes that share one run cause one signal;
a result served from the cache causes none. A receiver that raises is logged
on ``dockerflow.checks`` (credentials removed) and never fails the heartbeat;
the receivers after it are not called for that run.

E.g. to count heartbeats in statsd::

    from django.dispatch import receiver
    from dockerflow.django.signals import heartbeat_passed, heartbeat_failed
    from statsd.defaults.django import statsd

    @receiver(heartbeat_passed)
    def heartbeat_passed_handler(sender, level, **kwargs):
        statsd.incr('heartbeat.pass')

    @receiver(heartbeat_failed)
    def heartbeat_failed_handler(sender, level, **kwargs):
        statsd.incr('heartbeat.fail')
"""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any

from django.dispatch import Signal

if TYPE_CHECKING:
    from .heartbeat import HeartbeatResult

logger = logging.getLogger("dockerflow.checks")

heartbeat_passed = Signal()
heartbeat_failed = Signal()


def _signal_and_kwargs(result: HeartbeatResult) -> tuple[Signal, Any, dict[str, Any]]:
    from .views import heartbeat as sender

    signal = heartbeat_failed if result.failed else heartbeat_passed
    return signal, sender, {"level": result.level, "result": result, "checks": result.checks}


def _log_failure(exc: BaseException) -> None:
    from .checks import redact

    formatted = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    logger.error("A heartbeat signal receiver raised:\n%s", redact(formatted))


def send_heartbeat_signals(result: HeartbeatResult) -> None:
    """Send ``heartbeat_passed`` or ``heartbeat_failed`` for ``result`` (sync callers)."""
    signal, sender, kwargs = _signal_and_kwargs(result)
    # Not send_robust(): Django logs a receiver's exception text as it is,
    # and that text may hold a password. We log it with credentials removed.
    try:
        signal.send(sender=sender, **kwargs)
    except Exception as exc:
        _log_failure(exc)


async def asend_heartbeat_signals(result: HeartbeatResult) -> None:
    """Send ``heartbeat_passed`` or ``heartbeat_failed`` for ``result`` (async callers)."""
    signal, sender, kwargs = _signal_and_kwargs(result)
    try:
        await signal.asend(sender=sender, **kwargs)
    except Exception as exc:
        _log_failure(exc)
