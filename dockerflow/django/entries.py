"""``DOCKERFLOW_CHECKS`` entries -> named checks, ready to run.

An entry is one of:

- a dotted path to a Django system check function (what Mozilla's package takes);
- a dotted path to a django-health-check ``HealthCheck`` class;
- a ``(dotted path, {keyword arguments})`` pair for a ``HealthCheck`` class;
- a ``HealthCheck`` instance, or a check function itself;
- ``{"check": <any of the above but a pair>, "name": "...", "kwargs": {...}}``,
  to give the check its own name (``kwargs`` only for a ``HealthCheck`` class).

Each check gets a short name that is the same on every host, used in the
heartbeat's JSON, its logs and signals, metrics and ``--check``: the name given
in the entry, else a function's ``__name__``, else the ``HealthCheck`` class
name in lower case with its ``alias`` when that is not ``"default"``
(``cache``, ``cache:sessions``). A derived name that repeats gets ``#2``, ``#3``.

Resolving never raises: an entry that is not a usable check becomes a
:class:`ResolvedCheck` with a ``problem`` (``dockerflow.config.E010``-``E015``),
reported at start-up by ``manage.py check`` and by every heartbeat.
django-health-check is imported here, lazily, when an entry is first resolved.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import connections
from django.utils.module_loading import import_string

from .. import health
from .redaction import redact

__all__ = ["MAX_NAME_LENGTH", "ResolvedCheck", "resolve_entries", "resolve_entry"]

SyncCheck = Callable[..., list[checks.CheckMessage]]
AsyncCheck = Callable[..., Awaitable[list[checks.CheckMessage]]]

#: The longest name an entry may give its check.
MAX_NAME_LENGTH = 200

#: Memory addresses make a repr change from one process to the next.
_MEMORY_ADDRESS = r" at 0x[0-9a-fA-F]+"


@dataclasses.dataclass(frozen=True, eq=False)
class ResolvedCheck:
    """One ``DOCKERFLOW_CHECKS`` entry, ready to run.

    Exactly one of ``call`` (sync), ``acall`` (async) or ``problem`` (a bad
    entry, reported instead of running anything) is set. ``aliases`` are the
    other names ``--check`` accepts for it (its dotted path).
    """

    name: str
    call: SyncCheck | None = None
    acall: AsyncCheck | None = None
    problem: checks.CheckMessage | None = None
    aliases: tuple[str, ...] = ()
    #: Whether the name was given in the entry (rather than derived).
    named: bool = False

    @property
    def is_async(self) -> bool:
        """Whether the check is awaited rather than run on a thread."""
        return self.acall is not None


def _entry_text(entry: Any) -> str:
    return redact(entry if isinstance(entry, str) else re.sub(_MEMORY_ADDRESS, "", repr(entry)))


def _bad(
    entry: Any, message: str, check_id: str, hint: str | None = None, name: str | None = None
) -> ResolvedCheck:
    text = _entry_text(entry)
    return ResolvedCheck(
        name=name if name is not None else text,
        problem=checks.Error(
            redact(f"DOCKERFLOW_CHECKS entry {text} {message}"), hint=hint, id=check_id
        ),
    )


def _bad_shape(entry: Any, message: str, name: str | None = None) -> ResolvedCheck:
    return _bad(entry, message, health.CONFIG_CHECK_BAD_ENTRY, name=name)


def _derived_name(health_check: Any) -> str:
    name = type(health_check).__name__.lower()
    alias = getattr(health_check, "alias", None)
    if isinstance(alias, str) and alias != "default":
        name = f"{name}:{alias}"
    return name


#: django-health-check backends (and ours) whose ``alias`` names an entry of a setting.
_ALIAS_SETTINGS = (
    ("health_check.checks.Cache", "CACHES"),
    ("health_check.checks.Database", "DATABASES"),
    ("health_check.checks.Storage", "STORAGES"),
    ("dockerflow.django.checks.RedisConnected", "CACHES"),
    ("dockerflow.django.checks.DatabaseConnected", "DATABASES"),
    ("dockerflow.django.checks.MigrationsApplied", "DATABASES"),
)


def _defined_aliases(setting: str) -> list[str]:
    if setting == "DATABASES":
        # Django's connection handler: it also knows aliases added at run time.
        return list(connections)
    return list(getattr(settings, setting, None) or {})


def _unknown_alias(health_check: Any) -> str | None:
    """The problem when ``health_check`` names an alias its setting does not define."""
    alias = getattr(health_check, "alias", None)
    if not isinstance(alias, str):
        return None
    for path, setting in _ALIAS_SETTINGS:
        if isinstance(health_check, import_string(path)):
            defined = _defined_aliases(setting)
            if alias not in defined:
                known = ", ".join(repr(name) for name in defined) or "none"
                return (
                    f"names the alias {alias!r}, which {setting} does not define (it has {known})"
                )
            return None
    return None


def _from_object(
    entry: Any, target: Any, kwargs: dict[str, Any] | None, path: str | None, name: str | None
) -> ResolvedCheck:
    from health_check.base import HealthCheck

    from .adapter import HealthCheckAdapter

    aliases = (path,) if path is not None else ()
    if isinstance(target, type) and issubclass(target, HealthCheck):
        try:
            target = target(**(kwargs or {}))
        except Exception as exc:
            return _bad(
                entry,
                f"cannot be created with these arguments: {type(exc).__name__}: {exc}",
                health.CONFIG_CHECK_ARGUMENTS,
                hint="Pass the HealthCheck's own keyword arguments as (path, {kwargs}).",
                name=name,
            )
    elif kwargs is not None:
        return _bad_shape(
            entry,
            "has arguments, but only a django-health-check HealthCheck class takes them",
            name=name,
        )
    if isinstance(target, HealthCheck):
        problem = _unknown_alias(target)
        if problem is not None:
            return _bad(
                entry,
                problem,
                health.CONFIG_CHECK_UNKNOWN_ALIAS,
                name=name or _derived_name(target),
            )
        adapter = HealthCheckAdapter(target)
        found = ResolvedCheck(name or _derived_name(target), aliases=aliases, named=bool(name))
        if adapter.is_async:
            return dataclasses.replace(found, acall=adapter.acall)
        return dataclasses.replace(found, call=adapter)
    if isinstance(target, type) or not callable(target):
        return _bad(
            entry,
            f"is a {type(target).__name__}, not a check function or a "
            "django-health-check HealthCheck",
            health.CONFIG_CHECK_NOT_A_CHECK,
            name=name,
        )
    found = ResolvedCheck(
        name or getattr(target, "__name__", None) or _entry_text(target),
        aliases=aliases,
        named=bool(name),
    )
    if inspect.iscoroutinefunction(target):
        return dataclasses.replace(found, acall=target)
    return dataclasses.replace(found, call=target)


def _name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return "has a name that is not a non-empty string"
    if len(name) > MAX_NAME_LENGTH or not name.isprintable() or name.strip() != name:
        return (
            f"has the name {name!r}; a name is 1 to {MAX_NAME_LENGTH} printable characters "
            "without surrounding spaces"
        )
    return None


def resolve_entry(entry: Any) -> ResolvedCheck:
    """Turn one ``DOCKERFLOW_CHECKS`` entry into a :class:`ResolvedCheck`; never raises."""
    name: str | None = None
    kwargs: dict[str, Any] | None = None
    target: Any = entry
    if isinstance(entry, dict):
        unknown = set(entry) - {"check", "name", "kwargs"}
        if "check" not in entry or unknown:
            return _bad_shape(
                entry,
                "is a dict without 'check' or with keys other than 'check', 'name' and 'kwargs'",
            )
        if "name" in entry:
            problem = _name_problem(entry["name"])
            if problem is not None:
                return _bad_shape(entry, problem)
            name = entry["name"]
        target, kwargs = entry["check"], entry.get("kwargs")
        if kwargs is not None and not isinstance(kwargs, dict):
            return _bad_shape(entry, "has 'kwargs' that is not a dict")
    elif isinstance(entry, (tuple, list)):
        if len(entry) != 2 or not isinstance(entry[0], str) or not isinstance(entry[1], dict):
            return _bad_shape(entry, "is not a (dotted path, {keyword arguments}) pair")
        target, kwargs = entry
    path = target if isinstance(target, str) else None
    if path is not None:
        try:
            target = import_string(path)
        except Exception as exc:
            return _bad(
                entry,
                f"cannot be imported: {type(exc).__name__}: {exc}",
                health.CONFIG_CHECK_IMPORT,
                hint="Use the dotted path of a check function or of a HealthCheck class.",
                name=name,
            )
    return _from_object(entry, target, kwargs, path, name)


def _unused(name: str, taken: set[str]) -> str:
    count = 2
    while f"{name} #{count}" in taken:
        count += 1
    return f"{name} #{count}"


def resolve_entries(entries: Iterable[Any]) -> list[ResolvedCheck]:
    """Resolve every entry and give each check a name of its own.

    A derived name that repeats gets ``#2``, ``#3``; a name given in two
    entries is a problem (``dockerflow.config.E014``) of the second one.
    """
    resolved = [resolve_entry(entry) for entry in entries]
    given = {check.name for check in resolved if check.named}
    taken: set[str] = set()
    unique: list[ResolvedCheck] = []
    for check in resolved:
        if check.name in taken or (not check.named and check.name in given):
            if check.named:
                problem = checks.Error(
                    redact(f"DOCKERFLOW_CHECKS gives the name {check.name!r} to two checks"),
                    hint="Give each entry a name of its own.",
                    id=health.CONFIG_CHECK_DUPLICATE_NAME,
                )
                check = dataclasses.replace(check, call=None, acall=None, problem=problem)
            check = dataclasses.replace(check, name=_unused(check.name, taken | given))
        taken.add(check.name)
        unique.append(check)
    return unique
