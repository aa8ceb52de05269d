"""The one place that reads ``DOCKERFLOW_*`` settings.

Every value is read from ``django.conf.settings`` at access time, never at
import, so ``override_settings`` and run-time changes just work. ``SETTINGS``
is the registry of every setting this library knows: its default and the
validator the start-up system check (``dockerflow.config.E002``) applies.
The documentation's settings reference is tested against this registry.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from django.conf import Settings, UserSettingsHolder
from django.conf import settings as django_settings

DEFAULT_CHECKS = (
    "dockerflow.django.checks.check_database_connected",
    "dockerflow.django.checks.check_migrations_applied",
)

LEVEL_NAMES = ("warning", "error")

#: The shortest ``DOCKERFLOW_ERROR_ENDPOINT_TOKEN`` accepted.
ERROR_TOKEN_MIN_LENGTH = 16


@dataclass(frozen=True)
class Setting:
    """One ``DOCKERFLOW_*`` setting: its default and what a valid value is."""

    name: str
    default: Any
    expected: str
    validate: Callable[[Any], bool]
    #: A secret's value is never shown, not even in the start-up check's message.
    secret: bool = False


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_number(value: Any, *, minimum: float, inclusive: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if value != value or value in (float("inf"), float("-inf")):  # NaN / infinities
        return False
    return value >= minimum if inclusive else value > minimum


def _is_status_code(value: Any) -> bool:
    # Mozilla's package accepted a string such as "503"; keep accepting it.
    # Only ASCII digits: "²".isdigit() is true, yet int("²") raises.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599


def _is_checks(value: Any) -> bool:
    # The heartbeat engine validates each entry and names the bad one; here we
    # only require a list or tuple.
    return isinstance(value, (list, tuple))


def _is_callback(value: Any) -> bool:
    return _is_str(value) or callable(value)


def _is_optional_path(value: Any) -> bool:
    return value is None or (isinstance(value, (str, os.PathLike)) and os.fspath(value) != "")


def _is_level_name(value: Any) -> bool:
    return isinstance(value, str) and value.lower() in LEVEL_NAMES


def _is_error_token(value: Any) -> bool:
    # Sent in a header, so printable ASCII; long enough not to be guessed.
    return value is None or (
        isinstance(value, str)
        and len(value) >= ERROR_TOKEN_MIN_LENGTH
        and value.isascii()
        and value.isprintable()
        and value.strip() == value
    )


def _is_header_name(value: Any) -> bool:
    # HTTP header names are ASCII tokens; "é".isalnum() is true.
    return (
        isinstance(value, str)
        and value != ""
        and value.isascii()
        and all(c.isalnum() or c in "-_" for c in value)
    )


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("DOCKERFLOW_CHECKS", DEFAULT_CHECKS, "a list of checks", _is_checks),
        Setting(
            "DOCKERFLOW_VERSION_CALLBACK",
            "dockerflow.version.get_version",
            "a dotted path to a callable, or a callable",
            _is_callback,
        ),
        Setting(
            "DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE",
            500,
            "an HTTP status code from 400 to 599",
            _is_status_code,
        ),
        Setting(
            "DOCKERFLOW_HEARTBEAT_TIMEOUT",
            5.0,
            "a number of seconds greater than 0",
            lambda v: _is_number(v, minimum=0, inclusive=False),
        ),
        Setting(
            "DOCKERFLOW_HEARTBEAT_CACHE_SECONDS",
            0.0,
            "a number of seconds, 0 or more",
            lambda v: _is_number(v, minimum=0, inclusive=True),
        ),
        Setting(
            "DOCKERFLOW_HEARTBEAT_SHOW_DETAILS",
            False,
            "True or False",
            _is_bool,
        ),
        Setting(
            "DOCKERFLOW_HEARTBEAT_FAIL_LEVEL",
            "error",
            "'warning' or 'error'",
            _is_level_name,
        ),
        Setting(
            "DOCKERFLOW_UNAPPLIED_MIGRATIONS_LEVEL",
            "warning",
            "'warning' or 'error'",
            _is_level_name,
        ),
        Setting(
            "DOCKERFLOW_REQUEST_ID_HEADER_NAME",
            "X-Request-ID",
            "an HTTP header name",
            _is_header_name,
        ),
        Setting(
            "DOCKERFLOW_SUMMARY_LOG_QUERYSTRING",
            False,
            "True or False",
            _is_bool,
        ),
        Setting(
            "DOCKERFLOW_SUMMARY_LOG_PROBES",
            False,
            "True or False",
            _is_bool,
        ),
        Setting(
            "DOCKERFLOW_DRAIN_FILE",
            None,
            "None or a file path",
            _is_optional_path,
        ),
        Setting(
            "DOCKERFLOW_ERROR_ENDPOINT",
            False,
            "True or False",
            _is_bool,
        ),
        Setting(
            "DOCKERFLOW_ERROR_ENDPOINT_TOKEN",
            None,
            f"None or a string of at least {ERROR_TOKEN_MIN_LENGTH} printable ASCII "
            "characters without surrounding spaces",
            _is_error_token,
            secret=True,
        ),
    )
}


_MISSING = object()
#: The instance dictionary of Django's ``LazySettings``: it holds ``_wrapped``
#: (LazyObject stores it there), and Django clears it in place, never
#: replaces it, when ``_wrapped`` changes.
_lazy_attrs: dict[str, Any] = object.__getattribute__(django_settings, "__dict__")
_DEFAULTS = {name: setting.default for name, setting in SETTINGS.items()}


def _get(name: str) -> Any:
    # getattr(settings, name, default) raises and catches an AttributeError for
    # every setting a project leaves out, the usual case here: about 3 µs, on
    # every request. Instead this reads the objects Django's LazySettings reads,
    # through their __dict__, at every access, so run-time changes are seen at
    # once: a Settings object (DJANGO_SETTINGS_MODULE), or the UserSettingsHolders
    # that override_settings and settings.configure() put over it or over
    # Django's defaults module. Anything else (settings not configured yet, a
    # holder Django may add one day) is left to getattr.
    holder = _lazy_attrs.get("_wrapped")
    depth = 0
    while True:
        kind = type(holder)
        if kind is Settings or kind is ModuleType:
            return holder.__dict__.get(name, _DEFAULTS[name])
        depth += 1
        if kind is not UserSettingsHolder or depth > _MAX_HOLDERS:
            break
        attrs = holder.__dict__
        value = attrs.get(name, _MISSING)
        if value is not _MISSING:
            return value
        if name in attrs["_deleted"]:
            return _DEFAULTS[name]
        holder = attrs["default_settings"]
    value = getattr(django_settings, name, _MISSING)
    return _DEFAULTS[name] if value is _MISSING else value


_MAX_HOLDERS = 64  # nested override_settings; Django's holders never form a cycle


class Conf:
    """Typed, read-on-access view of the ``DOCKERFLOW_*`` settings."""

    @property
    def CHECKS(self) -> list[Any]:
        """The checks the heartbeat runs (``DOCKERFLOW_CHECKS``)."""
        value = _get("DOCKERFLOW_CHECKS")
        # A lone dotted path is a common slip; never split it into characters.
        return [value] if isinstance(value, str) else list(value)

    @property
    def VERSION_CALLBACK(self) -> str | Callable[..., Any]:
        """What ``/__version__`` calls with ``BASE_DIR``."""
        value: str | Callable[..., Any] = _get("DOCKERFLOW_VERSION_CALLBACK")
        return value

    @property
    def HEARTBEAT_FAILED_STATUS_CODE(self) -> int:
        """HTTP status of a failed heartbeat."""
        return int(_get("DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE"))

    @property
    def HEARTBEAT_TIMEOUT(self) -> float:
        """Seconds the whole heartbeat run may take."""
        return float(_get("DOCKERFLOW_HEARTBEAT_TIMEOUT"))

    @property
    def HEARTBEAT_CACHE_SECONDS(self) -> float:
        """Seconds a heartbeat result is reused (0: never)."""
        return float(_get("DOCKERFLOW_HEARTBEAT_CACHE_SECONDS"))

    @property
    def HEARTBEAT_SHOW_DETAILS(self) -> bool:
        """Show ``checks`` and ``details`` in heartbeat responses even without DEBUG."""
        return bool(_get("DOCKERFLOW_HEARTBEAT_SHOW_DETAILS"))

    @property
    def HEARTBEAT_FAIL_LEVEL(self) -> str:
        """The lowest level that fails the heartbeat: ``'error'`` or ``'warning'``."""
        return str(_get("DOCKERFLOW_HEARTBEAT_FAIL_LEVEL")).lower()

    @property
    def UNAPPLIED_MIGRATIONS_LEVEL(self) -> str:
        """Level of the unapplied-migrations message: ``'warning'`` or ``'error'``."""
        return str(_get("DOCKERFLOW_UNAPPLIED_MIGRATIONS_LEVEL")).lower()

    @property
    def REQUEST_ID_HEADER_NAME(self) -> str:
        """The incoming (and echoed) request id header."""
        return str(_get("DOCKERFLOW_REQUEST_ID_HEADER_NAME"))

    @property
    def SUMMARY_LOG_QUERYSTRING(self) -> bool:
        """Add ``querystring`` to ``request.summary`` records."""
        return bool(_get("DOCKERFLOW_SUMMARY_LOG_QUERYSTRING"))

    @property
    def SUMMARY_LOG_PROBES(self) -> bool:
        """Log ``request.summary`` for the probe endpoints too."""
        return bool(_get("DOCKERFLOW_SUMMARY_LOG_PROBES"))

    @property
    def DRAIN_FILE(self) -> str | None:
        """While this file exists the probes answer 503 (``None``: off)."""
        value = _get("DOCKERFLOW_DRAIN_FILE")
        return None if value is None else os.fspath(value)

    @property
    def ERROR_ENDPOINT(self) -> bool:
        """Serve ``/__error__`` (raises on purpose to test error reporting)."""
        return bool(_get("DOCKERFLOW_ERROR_ENDPOINT"))

    @property
    def ERROR_ENDPOINT_TOKEN(self) -> str | None:
        """The secret ``/__error__`` wants in ``X-Dockerflow-Error-Token`` (None: DEBUG only)."""
        value = _get("DOCKERFLOW_ERROR_ENDPOINT_TOKEN")
        return None if value is None else str(value)


conf = Conf()
