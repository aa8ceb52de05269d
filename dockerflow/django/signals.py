"""Signals sent after each heartbeat run.

``heartbeat_passed`` and ``heartbeat_failed`` are sent with ``level``: the
highest check level seen in the run (0 when every check is ok).
"""

from __future__ import annotations

from django.dispatch import Signal

heartbeat_passed = Signal()
heartbeat_failed = Signal()
