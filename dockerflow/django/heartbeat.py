"""The heartbeat runner: the one engine behind ``/__heartbeat__`` and the command.

This first version runs the configured check functions one after another; the
result objects are the stable interface the view and the command use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.checks import ERROR
from django.utils.module_loading import import_string

from .conf import conf

logger = logging.getLogger("dockerflow.checks")

#: Level names, as Mozilla's package spells them.
STATUSES = {
    0: "ok",
    checks.DEBUG: "debug",
    checks.INFO: "info",
    checks.WARNING: "warning",
    checks.ERROR: "error",
    checks.CRITICAL: "critical",
}


def level_to_text(level: int) -> str:
    """Return the status name of a check level (``'unknown'`` for odd levels)."""
    return STATUSES.get(level, "unknown")


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

    def detail(self) -> dict[str, Any]:
        """The entry of this check in the ``details`` object."""
        return {
            "status": self.status,
            "level": self.level,
            "messages": {m.id or "": m.msg for m in self.messages},
        }


@dataclass(frozen=True)
class HeartbeatResult:
    """The outcome of one heartbeat run."""

    checks: tuple[CheckResult, ...] = ()
    duration: float = 0.0
    fail_level: int = ERROR
    extra: dict[str, Any] = field(default_factory=dict)

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

    def payload(self, *, details: bool) -> dict[str, Any]:
        """The JSON body of ``/__heartbeat__``; ``details`` adds checks and details."""
        body: dict[str, Any] = {"status": self.status}
        if details:
            body["checks"] = {c.name: c.status for c in self.checks}
            body["details"] = {c.name: c.detail() for c in self.checks if c.level > 0}
        return body


def fail_level_from_name(name: str) -> int:
    """Turn ``'warning'``/``'error'`` into a check level."""
    return checks.WARNING if name.lower() == "warning" else ERROR


def _resolve(entry: Any) -> tuple[str, Callable[..., Any]]:
    func = import_string(entry) if isinstance(entry, str) else entry
    name = getattr(func, "__name__", repr(func))
    return name, func


def run(*, names: Sequence[str] | None = None, timeout: float | None = None) -> HeartbeatResult:
    """Run the configured checks and return one :class:`HeartbeatResult`."""
    start = time.monotonic()
    silenced = set(getattr(settings, "SILENCED_SYSTEM_CHECKS", ()))
    results = []
    for entry in conf.CHECKS:
        name, func = _resolve(entry)
        if names is not None and name not in names:
            continue
        t0 = time.monotonic()
        try:
            messages = [m for m in func(app_configs=None) if m.id not in silenced]
        except Exception:
            logger.exception("Check %s raised", name)
            messages = [checks.Error(f"Check {name} raised an unexpected error")]
        results.append(CheckResult(name, tuple(messages), time.monotonic() - t0))
    return HeartbeatResult(
        tuple(results),
        time.monotonic() - start,
        fail_level_from_name(conf.HEARTBEAT_FAIL_LEVEL),
    )
