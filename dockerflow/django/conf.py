"""The one place that reads and validates ``DOCKERFLOW_*`` settings.

``SETTINGS`` is the registry of every setting this library knows: its default,
what a valid value is, and the parser that turns a valid value into what the
library uses. :data:`conf` answers each setting already parsed, so callers
trust what it returns. A value that is not valid is reported at start-up by the
system check ``dockerflow.config.E002`` and, until it is fixed, ``conf``
answers the default: a typo in a setting never crashes a probe.

Values are read at access time, never at import, and kept until Django's
``setting_changed`` signal says a setting changed (``override_settings`` sends
it), so reading a setting on every request costs one dictionary lookup.
Change settings the way Django documents it (``override_settings``), not by
assigning to ``django.conf.settings`` at run time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings
from django.core import checks
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

__all__ = [
    "DEFAULT_CHECKS",
    "ERROR_TOKEN_MIN_LENGTH",
    "FAIL_LEVELS",
    "SETTINGS",
    "Conf",
    "Setting",
    "conf",
    "parse_level_name",
    "version_callback",
]

#: The checks ``DOCKERFLOW_CHECKS`` names when a project does not set it.
DEFAULT_CHECKS = (
    "dockerflow.django.checks.check_database_connected",
    "dockerflow.django.checks.check_migrations_applied",
)

#: The names a failing level may be given by, and the check level each one means.
FAIL_LEVELS = {"warning": checks.WARNING, "error": checks.ERROR}

#: The shortest ``DOCKERFLOW_ERROR_ENDPOINT_TOKEN`` accepted.
ERROR_TOKEN_MIN_LENGTH = 16


def parse_level_name(value: Any) -> str:
    """``'warning'`` or ``'error'`` (any case) as a lower-case name; ValueError otherwise."""
    if isinstance(value, str) and value.strip().lower() in FAIL_LEVELS:
        return value.strip().lower()
    raise ValueError(f"{value!r} is not one of: {', '.join(FAIL_LEVELS)}")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError


def _number(minimum: float, *, inclusive: bool) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError
        number = float(value)
        if not math.isfinite(number) or number < minimum or (number == minimum and not inclusive):
            raise ValueError
        return number

    return parse


def _status_code(value: Any) -> int:
    # Mozilla's package accepted a string such as "503"; keep accepting it.
    # Only ASCII digits: "²".isdigit() is true, yet int("²") raises.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
        return value
    raise ValueError


def _checks(value: Any) -> list[Any]:
    # Each entry is checked where entries are resolved (dockerflow.config.E010-E013);
    # here only the container. A lone string is a common slip: refused, never
    # split into characters.
    if isinstance(value, (list, tuple)):
        return list(value)
    raise TypeError


def _callback(value: Any) -> str | Callable[..., Any]:
    if (isinstance(value, str) and value) or callable(value):
        return value  # type: ignore[no-any-return]
    raise TypeError


def _optional_path(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and path:
            return path
    raise TypeError


def _error_token(value: Any) -> str | None:
    # Sent in a header, so printable ASCII; long enough not to be guessed.
    if value is None:
        return None
    if (
        isinstance(value, str)
        and len(value) >= ERROR_TOKEN_MIN_LENGTH
        and value.isascii()
        and value.isprintable()
        and value.strip() == value
    ):
        return value
    raise ValueError


def _header_name(value: Any) -> str:
    # HTTP header names are ASCII tokens; "é".isalnum() is true.
    if (
        isinstance(value, str)
        and value
        and value.isascii()
        and all(c.isalnum() or c in "-_" for c in value)
    ):
        return value
    raise ValueError


@dataclass(frozen=True)
class Setting:
    """One ``DOCKERFLOW_*`` setting: its default and how a value is checked and parsed."""

    name: str
    default: Any
    #: What a valid value is, in words (the end of the ``E002`` message).
    expected: str
    #: Returns the value the library uses; raises for a value that is not valid.
    parse: Callable[[Any], Any]
    #: A secret's value is never shown, not even in the start-up check's message.
    secret: bool = False

    def validate(self, value: Any) -> bool:
        """Whether ``value`` is a valid value of this setting."""
        try:
            self.parse(value)
        except Exception:  # a hostile value may raise anything from its own methods
            return False
        return True


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("DOCKERFLOW_CHECKS", DEFAULT_CHECKS, "a list of checks", _checks),
        Setting(
            "DOCKERFLOW_VERSION_CALLBACK",
            "dockerflow.version.get_version",
            "a dotted path to a callable, or a callable",
            _callback,
        ),
        Setting(
            "DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE",
            500,
            "an HTTP status code from 400 to 599",
            _status_code,
        ),
        Setting(
            "DOCKERFLOW_HEARTBEAT_TIMEOUT",
            5.0,
            "a number of seconds greater than 0",
            _number(0, inclusive=False),
        ),
        Setting(
            "DOCKERFLOW_HEARTBEAT_CACHE_SECONDS",
            0.0,
            "a number of seconds, 0 or more",
            _number(0, inclusive=True),
        ),
        Setting("DOCKERFLOW_HEARTBEAT_SHOW_DETAILS", False, "True or False", _bool),
        Setting("DOCKERFLOW_METRICS_SHOW_CHECKS", False, "True or False", _bool),
        Setting(
            "DOCKERFLOW_HEARTBEAT_FAIL_LEVEL", "error", "'warning' or 'error'", parse_level_name
        ),
        Setting(
            "DOCKERFLOW_UNAPPLIED_MIGRATIONS_LEVEL",
            "warning",
            "'warning' or 'error'",
            parse_level_name,
        ),
        Setting(
            "DOCKERFLOW_REQUEST_ID_HEADER_NAME",
            "X-Request-ID",
            "an HTTP header name",
            _header_name,
        ),
        Setting("DOCKERFLOW_SUMMARY_LOG_QUERYSTRING", False, "True or False", _bool),
        Setting("DOCKERFLOW_SUMMARY_LOG_PROBES", False, "True or False", _bool),
        Setting("DOCKERFLOW_DRAIN_FILE", None, "None or a file path", _optional_path),
        Setting("DOCKERFLOW_ERROR_ENDPOINT", False, "True or False", _bool),
        Setting(
            "DOCKERFLOW_ERROR_ENDPOINT_TOKEN",
            None,
            f"None or a string of at least {ERROR_TOKEN_MIN_LENGTH} printable ASCII "
            "characters without surrounding spaces",
            _error_token,
            secret=True,
        ),
    )
}

#: Parsed values by setting name, filled on first access.
_values: dict[str, Any] = {}


def _value(name: str) -> Any:
    try:
        return _values[name]
    except KeyError:
        pass
    setting = SETTINGS[name]
    raw = getattr(django_settings, name, setting.default)
    try:
        value = setting.parse(raw)
    except Exception:  # not valid: dockerflow.config.E002 reports it at start-up
        value = setting.parse(setting.default)
    _values[name] = value
    return value


def _forget(*, setting: str, **kwargs: Any) -> None:
    _values.pop(setting, None)


setting_changed.connect(_forget, dispatch_uid="dockerflow.conf")


class Conf:
    """Typed, validated view of the ``DOCKERFLOW_*`` settings."""

    @property
    def CHECKS(self) -> list[Any]:
        """The checks the heartbeat runs (``DOCKERFLOW_CHECKS``)."""
        return list(_value("DOCKERFLOW_CHECKS"))

    @property
    def VERSION_CALLBACK(self) -> str | Callable[..., Any]:
        """What ``/__version__`` calls with ``BASE_DIR``: a dotted path or a callable."""
        value: str | Callable[..., Any] = _value("DOCKERFLOW_VERSION_CALLBACK")
        return value

    @property
    def HEARTBEAT_FAILED_STATUS_CODE(self) -> int:
        """HTTP status of a failed heartbeat."""
        value: int = _value("DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE")
        return value

    @property
    def METRICS_SHOW_CHECKS(self) -> bool:
        """Per-check families in the heartbeat's OpenMetrics answer even without details."""
        value: bool = _value("DOCKERFLOW_METRICS_SHOW_CHECKS")
        return value

    @property
    def HEARTBEAT_TIMEOUT(self) -> float:
        """Seconds the whole heartbeat run may take."""
        value: float = _value("DOCKERFLOW_HEARTBEAT_TIMEOUT")
        return value

    @property
    def HEARTBEAT_CACHE_SECONDS(self) -> float:
        """Seconds a heartbeat result is reused (0: never)."""
        value: float = _value("DOCKERFLOW_HEARTBEAT_CACHE_SECONDS")
        return value

    @property
    def HEARTBEAT_SHOW_DETAILS(self) -> bool:
        """Show ``checks`` and ``details`` in heartbeat responses even without DEBUG."""
        value: bool = _value("DOCKERFLOW_HEARTBEAT_SHOW_DETAILS")
        return value

    @property
    def HEARTBEAT_FAIL_LEVEL(self) -> str:
        """The lowest level that fails the heartbeat: ``'error'`` or ``'warning'``."""
        value: str = _value("DOCKERFLOW_HEARTBEAT_FAIL_LEVEL")
        return value

    @property
    def UNAPPLIED_MIGRATIONS_LEVEL(self) -> str:
        """Level of the unapplied-migrations messages: ``'warning'`` or ``'error'``."""
        value: str = _value("DOCKERFLOW_UNAPPLIED_MIGRATIONS_LEVEL")
        return value

    @property
    def REQUEST_ID_HEADER_NAME(self) -> str:
        """The incoming (and echoed) request id header."""
        value: str = _value("DOCKERFLOW_REQUEST_ID_HEADER_NAME")
        return value

    @property
    def SUMMARY_LOG_QUERYSTRING(self) -> bool:
        """Add ``querystring`` to ``request.summary`` records."""
        value: bool = _value("DOCKERFLOW_SUMMARY_LOG_QUERYSTRING")
        return value

    @property
    def SUMMARY_LOG_PROBES(self) -> bool:
        """Log ``request.summary`` for the probe endpoints too."""
        value: bool = _value("DOCKERFLOW_SUMMARY_LOG_PROBES")
        return value

    @property
    def DRAIN_FILE(self) -> str | None:
        """While this file exists the probes answer 503 (``None``: off)."""
        value: str | None = _value("DOCKERFLOW_DRAIN_FILE")
        return value

    @property
    def ERROR_ENDPOINT(self) -> bool:
        """Serve ``/__error__`` (raises on purpose to test error reporting)."""
        value: bool = _value("DOCKERFLOW_ERROR_ENDPOINT")
        return value

    @property
    def ERROR_ENDPOINT_TOKEN(self) -> str | None:
        """The secret ``/__error__`` wants in ``X-Dockerflow-Error-Token`` (None: DEBUG only)."""
        value: str | None = _value("DOCKERFLOW_ERROR_ENDPOINT_TOKEN")
        return value


#: The :class:`Conf` instance the package reads its settings through.
conf = Conf()


def version_callback() -> Callable[..., Any]:
    """``DOCKERFLOW_VERSION_CALLBACK`` as a callable (a dotted path is imported).

    ``/__version__`` and the metrics' ``dockerflow_version_info`` call it with
    ``BASE_DIR``.
    """
    callback = conf.VERSION_CALLBACK
    if isinstance(callback, str):
        return import_string(callback)  # type: ignore[no-any-return]
    return callback
