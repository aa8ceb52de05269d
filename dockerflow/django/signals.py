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

The sender is the heartbeat view (``dockerflow.django.views.heartbeat``)
whatever started the run (a probe, the command, ``manage.py check --deploy``),
as in Mozilla's package; a direct call of
:func:`dockerflow.django.heartbeat.run` chooses its own ``sender``. Concurrent
probes that share one run cause one signal; a result served from the cache
causes none. The heartbeat engine sends them. A receiver that raises is logged
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

from django.dispatch import Signal

__all__ = ["heartbeat_failed", "heartbeat_passed"]

#: Sent after a heartbeat run that stays below the failing level.
heartbeat_passed = Signal()
#: Sent after a heartbeat run that reaches the failing level.
heartbeat_failed = Signal()
