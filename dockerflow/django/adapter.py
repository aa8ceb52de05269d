"""A django-health-check ``HealthCheck`` as a Django system check function.

django-health-check (4.x) reports a failure by raising from ``run()``:
``ServiceWarning`` for a service that still works, ``ServiceUnavailable`` or
``ServiceReturnedUnexpectedResult`` for one that does not. :class:`HealthCheckAdapter`
turns that into Django check messages, the currency of the heartbeat:

- ``ServiceWarning`` -> a Warning, ``dockerflow.health.W002``;
- any other ``HealthCheckException`` -> an Error, ``dockerflow.health.E011``;
- :class:`CheckFailure` (:class:`CheckUnavailable`, :class:`CheckWarning`,
  raised by this library's own backends) -> their own ids, levels and one
  message per text.

The reason a backend gives is kept, and so is the exception it was raised
from (``raise ServiceUnavailable(...) from exc``), which is usually where the
operator's answer is ("connection refused", "timeout expired"). Any other
exception propagates: the heartbeat engine reports it as
``dockerflow.health.E012`` and logs its traceback.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.apps import AppConfig
from django.core import checks
from health_check.base import HealthCheck
from health_check.exceptions import HealthCheckException, ServiceUnavailable, ServiceWarning

from .. import health
from . import background

__all__ = [
    "CheckFailure",
    "CheckUnavailable",
    "CheckWarning",
    "HealthCheckAdapter",
    "adapt",
    "describe_exception",
    "messages_for",
]

#: The longest reason kept from an exception's text.
MAX_REASON_LENGTH = 500


def describe_exception(exc: BaseException) -> str:
    """``ExceptionType: its text`` on one line, for an operator reading a log line."""
    text = " ".join(str(exc).split())
    if len(text) > MAX_REASON_LENGTH:
        text = text[: MAX_REASON_LENGTH - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class CheckFailure(HealthCheckException):  # type: ignore[misc]  # django-health-check ships no types
    """A HealthCheck failure that carries a stable check id, a level, and one text per message.

    This library's own backends raise its two kinds, :class:`CheckUnavailable`
    and :class:`CheckWarning`, so the heartbeat reports Mozilla's ids (one
    ``dockerflow.health.W001`` per unapplied migration, for example), while
    django-health-check's own views see a plain ``ServiceUnavailable`` or
    ``ServiceWarning`` whose message joins the texts.
    """

    default_level = checks.ERROR

    def __init__(self, *texts: str, id: str, level: int | None = None) -> None:
        super().__init__("; ".join(texts))
        self.texts = texts
        self.check_id = id
        self.check_level = self.default_level if level is None else level


class CheckUnavailable(CheckFailure, ServiceUnavailable):  # type: ignore[misc]
    """The service does not work: an Error unless another level is given."""


class CheckWarning(CheckFailure, ServiceWarning):  # type: ignore[misc]
    """The service works, but not as it should: a Warning unless another level is given."""

    default_level = checks.WARNING


class HealthCheckAdapter:
    """A django-health-check v4 ``HealthCheck`` as a Django system check function.

    Calling it runs the check and returns Django check messages (see the module
    documentation). ``acall()`` is the native async form, which the heartbeat
    awaits for checks whose ``run`` is ``async def``; for the others the
    heartbeat calls the adapter on a thread of its pool.
    """

    def __init__(self, health_check: HealthCheck) -> None:
        self.health_check = health_check
        self.is_async = inspect.iscoroutinefunction(health_check.run)

    def __repr__(self) -> str:
        return f"<HealthCheckAdapter {self.health_check!r}>"

    def __call__(
        self, app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
    ) -> list[checks.CheckMessage]:
        """Run the check synchronously (an async one on the background event loop)."""
        if self.is_async:
            return background.run(self.acall())
        try:
            self.health_check.run()
        except HealthCheckException as exc:
            return messages_for(exc)
        return []

    async def acall(
        self, app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
    ) -> list[checks.CheckMessage]:
        """Run the check from async code: awaited, or on a thread when its ``run`` is sync."""
        if not self.is_async:
            return await sync_to_async(self, thread_sensitive=False)()
        try:
            await self.health_check.run()
        except HealthCheckException as exc:
            return messages_for(exc)
        return []


def messages_for(exc: HealthCheckException) -> list[checks.CheckMessage]:
    """The check messages that stand for ``exc``, raised by a HealthCheck's ``run``."""
    if isinstance(exc, CheckFailure):
        texts: Sequence[str] = exc.texts
        check_id, level = exc.check_id, exc.check_level
    else:
        # django-health-check's own exceptions keep their "Unavailable: ..." prefix.
        texts = [str(exc)]
        if isinstance(exc, ServiceWarning):
            check_id, level = health.WARNING_HEALTH_CHECK, checks.WARNING
        else:
            check_id, level = health.ERROR_HEALTH_CHECK_FAILED, checks.ERROR
    cause = exc.__cause__
    if cause is not None:
        texts = [f"{text} ({describe_exception(cause)})" for text in texts]
    return [checks.CheckMessage(level, text, id=check_id) for text in texts]


def adapt(health_check: HealthCheck) -> HealthCheckAdapter:
    """Return the Django system check function for ``health_check``."""
    return HealthCheckAdapter(health_check)
