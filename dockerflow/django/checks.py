"""Heartbeat checks: the django-health-check adapter, the built-in checks, and
the start-up configuration checks.

A heartbeat check is a Django system check function,
``check(app_configs=None, **kwargs) -> list[CheckMessage]`` (``async def`` too).
A django-health-check ``HealthCheck`` becomes one through
:class:`HealthCheckAdapter`. The built-in checks are ``HealthCheck`` backends
behind that adapter, reporting the stable ids of :mod:`dockerflow.health`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import os
import re
import threading
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections
from django.utils.connection import ConnectionDoesNotExist
from django.utils.module_loading import import_string
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.exceptions import HealthCheckException, ServiceUnavailable, ServiceWarning

from .. import health
from ..distribution import REPAIR_HINT, install_problem
from .conf import SETTINGS, conf

logger = logging.getLogger("dockerflow.checks")

MIDDLEWARE_PATH = "dockerflow.django.middleware.DockerflowMiddleware"
DEFAULT_VERSION_CALLBACK = "dockerflow.version.get_version"

# --- Keeping secrets out of messages, names and logs ---------------------------

#: ``scheme://user:password@host`` -> ``scheme://user:***@host``.
_URL_CREDENTIALS = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)[^@\s]+@")
#: ``password=...`` / ``password: ...`` as in libpq connection strings and reprs.
_PASSWORD_PAIR = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|secret|token)['\"]?\s*[=:]\s*['\"]?)[^\s'\",)]+",
    re.IGNORECASE,
)
#: Memory addresses make a repr change from one process to the next.
_MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
REDACTED = "***"


def _configured_secrets() -> set[str]:
    """Passwords found in DATABASES and CACHES, to scrub wherever they show up."""
    secrets: set[str] = set()
    for db in (getattr(settings, "DATABASES", None) or {}).values():
        if isinstance(db, dict) and isinstance(db.get("PASSWORD"), str):
            secrets.add(db["PASSWORD"])
    for cache in (getattr(settings, "CACHES", None) or {}).values():
        if not isinstance(cache, dict):
            continue
        options = cache.get("OPTIONS")
        if isinstance(options, dict) and isinstance(options.get("PASSWORD"), str):
            secrets.add(options["PASSWORD"])
    # A short "secret" would scrub ordinary words; such a password is not worth hiding.
    return {secret for secret in secrets if len(secret) >= 4}


def redact(text: str) -> str:
    """Remove credentials: URL passwords, ``password=`` pairs and configured passwords."""
    text = _URL_CREDENTIALS.sub(rf"\g<head>{REDACTED}@", text)
    text = _PASSWORD_PAIR.sub(rf"\g<head>{REDACTED}", text)
    for secret in _configured_secrets():
        text = text.replace(secret, REDACTED)
    return text


def log_unexpected(name: str, exc: BaseException) -> checks.CheckMessage:
    """Log ``exc`` with its (redacted) traceback; return the generic error the heartbeat shows."""
    formatted = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    logger.error("Check %s raised an unexpected error:\n%s", name, redact(formatted))
    return checks.Error(
        f"Check {name} failed with an unexpected error; details are in the server log.",
        id=health.ERROR_CHECK_RAISED,
    )


# --- The django-health-check adapter -------------------------------------------


class CheckUnavailable(ServiceUnavailable):  # type: ignore[misc]  # django-health-check ships no types
    """``ServiceUnavailable`` that carries a stable check id (and optionally a level).

    Our built-in checks raise it so the adapter reports Mozilla-compatible ids;
    django-health-check's own views still see a plain ``ServiceUnavailable``.
    """

    def __init__(self, message: str, *, id: str, level: int = checks.ERROR) -> None:
        super().__init__(message)
        self.check_id = id
        self.check_level = level


class CheckWarning(ServiceWarning):  # type: ignore[misc]  # django-health-check ships no types
    """``ServiceWarning`` that carries a stable check id (and optionally a lower level)."""

    def __init__(self, message: str, *, id: str, level: int = checks.WARNING) -> None:
        super().__init__(message)
        self.check_id = id
        self.check_level = level


def health_check_name(health_check: HealthCheck) -> str:
    """A clear, stable name for a HealthCheck: its repr, without addresses or secrets.

    django-health-check asks backends to keep secrets out of their repr
    (``repr=False`` fields); we scrub credentials anyway.
    """
    return redact(_MEMORY_ADDRESS.sub("", repr(health_check)))


def _run_coroutine(awaitable: Awaitable[list[checks.CheckMessage]]) -> list[checks.CheckMessage]:
    """Run ``awaitable`` to completion from synchronous code, even under a running loop."""

    async def main() -> list[checks.CheckMessage]:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    # A loop runs in this thread (an async caller used the sync interface):
    # asyncio.run() would refuse, so give the coroutine a thread of its own.
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(main()))
        except BaseException as exc:  # re-raised in the calling thread
            outcome.append(exc)

    thread = threading.Thread(target=target, name="dockerflow-check", daemon=True)
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    result: list[checks.CheckMessage] = outcome[0]
    return result


class HealthCheckAdapter:
    """A django-health-check v4 ``HealthCheck`` as a Django system check function.

    Calling it runs the check and returns Django check messages:
    ``ServiceWarning`` becomes a Warning (``dockerflow.health.W002``), any other
    ``HealthCheckException`` an Error (``dockerflow.health.E011``), and any other
    exception an Error with a generic message (``dockerflow.health.E012``), the
    traceback going to the ``dockerflow.checks`` log only. Exceptions that carry
    a ``check_id`` (:class:`CheckUnavailable`, :class:`CheckWarning`) keep it.

    ``acall()`` is the native async form the heartbeat awaits.
    """

    def __init__(self, health_check: HealthCheck, *, name: str | None = None) -> None:
        self.health_check = health_check
        self.name = name if name is not None else health_check_name(health_check)
        self.is_async = inspect.iscoroutinefunction(health_check.run)

    def __repr__(self) -> str:
        return f"<HealthCheckAdapter {self.name}>"

    def __call__(
        self, app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
    ) -> list[checks.CheckMessage]:
        """Run the check synchronously (async checks get an event loop of their own)."""
        if self.is_async:
            return _run_coroutine(self.acall())
        try:
            self.health_check.run()
        except Exception as exc:
            return self.messages_for(exc)
        return []

    async def acall(
        self, app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
    ) -> list[checks.CheckMessage]:
        """Run the check from async code: awaited, or in a thread when its ``run`` is sync."""
        try:
            if self.is_async:
                await self.health_check.run()
            else:
                await sync_to_async(self.health_check.run, thread_sensitive=False)()
        except Exception as exc:
            return self.messages_for(exc)
        return []

    def messages_for(self, exc: BaseException) -> list[checks.CheckMessage]:
        """The check messages that stand for ``exc`` raised by the HealthCheck."""
        if not isinstance(exc, HealthCheckException):
            return [log_unexpected(self.name, exc)]
        check_id = getattr(exc, "check_id", None)
        level = getattr(exc, "check_level", None)
        if check_id is not None and isinstance(level, int):
            text = str(exc.message)
        else:
            # django-health-check's own exceptions: keep their "Unavailable: ..." prefix.
            text = str(exc)
            if isinstance(exc, ServiceWarning):
                check_id, level = health.WARNING_HEALTH_CHECK, checks.WARNING
            else:
                check_id, level = health.ERROR_HEALTH_CHECK_FAILED, checks.ERROR
        logger.debug("HealthCheck %s failed", self.name, exc_info=exc)
        return [checks.CheckMessage(level, redact(text), id=check_id)]


def adapt(health_check: HealthCheck) -> HealthCheckAdapter:
    """Return the Django system check function for ``health_check``."""
    return HealthCheckAdapter(health_check)


# --- Built-in checks --------------------------------------------------------------


@dataclasses.dataclass
class DatabaseConnected(Database):  # type: ignore[misc]  # django-health-check ships no types
    """Connect to one database alias and check the connection is usable.

    django-health-check's ``Database`` backend with Mozilla's ids: E001 cannot
    connect, E002 connection not usable, E003 misconfigured. Messages name the
    alias and the error class, never the server's text (which can name hosts
    and users).
    """

    def run(self) -> None:
        try:
            connection = connections[self.alias]
            connection.ensure_connection()
        except (ConnectionDoesNotExist, ImproperlyConfigured) as exc:
            raise CheckUnavailable(
                f"Database {self.alias!r} misconfigured: {exc}",
                id=health.ERROR_MISCONFIGURED_DATABASE,
            ) from exc
        except DatabaseError as exc:
            raise CheckUnavailable(
                f"Could not connect to database {self.alias!r}: {type(exc).__name__}",
                id=health.ERROR_CANNOT_CONNECT_DATABASE,
            ) from exc
        if not connection.is_usable():
            raise CheckUnavailable(
                f"Database {self.alias!r} connection is not usable",
                id=health.ERROR_UNUSABLE_DATABASE,
            )


#: How many unapplied migrations a message names before it says "and N more".
MIGRATIONS_NAMED = 10


@dataclasses.dataclass
class MigrationsApplied(HealthCheck):  # type: ignore[misc]  # django-health-check ships no types
    """Check that every migration on disk is applied to the database.

    Unapplied migrations are a Warning (``dockerflow.health.W001``) unless
    ``DOCKERFLOW_UNAPPLIED_MIGRATIONS_LEVEL`` is ``"error"``; a database that
    cannot be read is Info (``dockerflow.health.I001``), as in Mozilla's package:
    ``check_database_connected`` reports the outage itself.
    """

    alias: str = "default"
    app_labels: tuple[str, ...] | None = None

    def run(self) -> None:
        from django.db.migrations.loader import MigrationLoader

        try:
            loader = MigrationLoader(connections[self.alias], ignore_no_migrations=True)
        except (ImproperlyConfigured, DatabaseError, ConnectionDoesNotExist) as exc:
            raise CheckWarning(
                "Can't connect to database to check migrations",
                id=health.INFO_CANT_CHECK_MIGRATIONS,
                level=checks.INFO,
            ) from exc
        labels = set(self.app_labels) if self.app_labels is not None else loader.migrated_apps
        unapplied = sorted(
            f"{app_label}.{name}"
            for (app_label, name) in loader.graph.nodes
            if app_label in labels and (app_label, name) not in loader.applied_migrations
        )
        if not unapplied:
            return
        named = ", ".join(unapplied[:MIGRATIONS_NAMED])
        more = len(unapplied) - MIGRATIONS_NAMED
        text = f"Unapplied migration{'s' if len(unapplied) > 1 else ''} {named}"
        if more > 0:
            text += f" and {more} more"
        # The id stays W001 at either level, as in Mozilla's package.
        failure = CheckUnavailable if conf.UNAPPLIED_MIGRATIONS_LEVEL == "error" else CheckWarning
        raise failure(text, id=health.WARNING_UNAPPLIED_MIGRATION)


@dataclasses.dataclass
class RedisConnected(HealthCheck):  # type: ignore[misc]  # django-health-check ships no types
    """PING Redis through django-redis's connection for a cache alias.

    Uses django-redis's own connection pool, so a heartbeat opens no new
    connection once the pool is warm. Ids as in Mozilla's package: E004 cannot
    connect, E005 django-redis missing or not the cache backend, E006
    misconfigured, E007 PING failed. Set django-redis's ``SOCKET_CONNECT_TIMEOUT``
    and ``SOCKET_TIMEOUT`` so a hung Redis frees the check's thread.
    """

    alias: str = "default"

    def run(self) -> None:
        missing_client = None
        try:
            import redis
            from django_redis import get_redis_connection
        except ImportError:
            missing_client = "install django-redis"
        else:
            try:
                client = get_redis_connection(self.alias)
            except NotImplementedError:
                missing_client = f"cache {self.alias!r} is not a django-redis cache"
            except ImproperlyConfigured as exc:
                raise CheckUnavailable(
                    f"Redis misconfigured: {exc}", id=health.ERROR_MISCONFIGURED_REDIS
                ) from exc
        if missing_client is not None:
            raise CheckUnavailable(
                f"Redis client not available: {missing_client}",
                id=health.ERROR_MISSING_REDIS_CLIENT,
            )
        failure: BaseException | None = None
        try:
            answered = client.ping()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise CheckUnavailable(
                f"Could not connect to Redis: {type(exc).__name__}",
                id=health.ERROR_CANNOT_CONNECT_REDIS,
            ) from exc
        except redis.RedisError as exc:
            failure, answered = exc, False
        if not answered:
            reason = f": {type(failure).__name__}" if failure is not None else ""
            raise CheckUnavailable(
                f"Redis ping failed{reason}", id=health.ERROR_REDIS_PING_FAILED
            ) from failure


def check_database_connected(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Connect to every database in ``DATABASES``; report each that fails (E001-E003)."""
    messages: list[checks.CheckMessage] = []
    for alias in connections:
        messages += HealthCheckAdapter(DatabaseConnected(alias=alias))()
    return messages


def check_migrations_applied(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Report migrations not applied to the default database (W001, or I001)."""
    labels = tuple(app.label for app in app_configs) if app_configs else None
    return HealthCheckAdapter(MigrationsApplied(app_labels=labels))()


def check_redis_connected(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """PING the django-redis ``default`` cache's Redis (E004-E007)."""
    return HealthCheckAdapter(RedisConnected())()


# --- DOCKERFLOW_CHECKS entries ------------------------------------------------------


SyncCheck = Callable[..., list[checks.CheckMessage]]
AsyncCheck = Callable[..., Awaitable[list[checks.CheckMessage]]]


@dataclasses.dataclass(frozen=True, eq=False)
class ResolvedCheck:
    """One ``DOCKERFLOW_CHECKS`` entry, ready to run.

    Exactly one of ``call`` (sync), ``acall`` (async) or ``problem`` (a bad
    entry, reported instead of running anything) is set. ``aliases`` are the
    other names a caller may select it by (its dotted path).
    """

    name: str
    call: SyncCheck | None = None
    acall: AsyncCheck | None = None
    problem: checks.CheckMessage | None = None
    aliases: tuple[str, ...] = ()

    @property
    def is_async(self) -> bool:
        """Whether the check is awaited rather than run in a thread."""
        return self.acall is not None


def _entry_text(entry: Any) -> str:
    return redact(entry if isinstance(entry, str) else _MEMORY_ADDRESS.sub("", repr(entry)))


def _bad(entry: Any, message: str, check_id: str, hint: str | None = None) -> ResolvedCheck:
    name = _entry_text(entry)
    return ResolvedCheck(
        name=name,
        problem=checks.Error(
            redact(f"DOCKERFLOW_CHECKS entry {name} {message}"),
            hint=hint,
            id=check_id,
        ),
    )


def _bad_shape(entry: Any, message: str) -> ResolvedCheck:
    return _bad(entry, message, health.CONFIG_CHECK_BAD_ENTRY)


def _from_object(
    entry: Any, target: Any, kwargs: dict[str, Any] | None, path: str | None
) -> ResolvedCheck:
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
            )
    elif kwargs is not None:
        return _bad_shape(
            entry, "has arguments, but only a django-health-check HealthCheck class takes them"
        )
    if isinstance(target, HealthCheck):
        adapter = HealthCheckAdapter(target)
        if adapter.is_async:
            return ResolvedCheck(adapter.name, acall=adapter.acall, aliases=aliases)
        return ResolvedCheck(adapter.name, call=adapter, aliases=aliases)
    if isinstance(target, type) or not callable(target):
        return _bad(
            entry,
            f"is a {type(target).__name__}, not a check function or a "
            "django-health-check HealthCheck",
            health.CONFIG_CHECK_NOT_A_CHECK,
        )
    name = getattr(target, "__name__", None) or _entry_text(target)
    if inspect.iscoroutinefunction(target):
        return ResolvedCheck(name, acall=target, aliases=aliases)
    return ResolvedCheck(name, call=target, aliases=aliases)


def resolve_entry(entry: Any) -> ResolvedCheck:
    """Turn one ``DOCKERFLOW_CHECKS`` entry into a :class:`ResolvedCheck`; never raises.

    Entries: a dotted path to a check function or to a HealthCheck class, a
    ``(path, {kwargs})`` pair for a HealthCheck class, a HealthCheck instance,
    or a check function itself.
    """
    kwargs: dict[str, Any] | None = None
    target: Any = entry
    if isinstance(entry, (tuple, list)):
        if len(entry) != 2 or not isinstance(entry[0], str) or not isinstance(entry[1], dict):
            return _bad_shape(entry, "is not a (dotted path, {keyword arguments}) pair")
        target, kwargs = entry
    path = target if isinstance(target, str) else None
    if isinstance(target, str):
        try:
            target = import_string(target)
        except Exception as exc:
            return _bad(
                entry,
                f"cannot be imported: {type(exc).__name__}: {exc}",
                health.CONFIG_CHECK_IMPORT,
                hint="Use the dotted path of a check function or of a HealthCheck class.",
            )
    return _from_object(entry, target, kwargs, path)


def resolve_entries(entries: Iterable[Any]) -> list[ResolvedCheck]:
    """Resolve every entry; identical names get ``#2``, ``#3`` so results stay apart."""
    resolved: list[ResolvedCheck] = []
    seen: dict[str, int] = {}
    for entry in entries:
        check = resolve_entry(entry)
        count = seen.get(check.name, 0) + 1
        seen[check.name] = count
        if count > 1:
            check = dataclasses.replace(check, name=f"{check.name} #{count}")
        resolved.append(check)
    return resolved


# --- Configuration checks (run by every ``manage.py check``) -----------------


def check_settings_types(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Report every ``DOCKERFLOW_*`` setting whose value has the wrong type."""
    errors: list[checks.CheckMessage] = []
    for name, spec in SETTINGS.items():
        if not hasattr(settings, name):
            continue
        value = getattr(settings, name)
        try:
            valid = spec.validate(value)
        except Exception:  # a hostile value must give E002, never crash `manage.py check`
            valid = False
        if not valid:
            shown = f"a {type(value).__name__} (value hidden)" if spec.secret else repr(value)
            errors.append(
                checks.Error(
                    f"{name} is {shown}; it must be {spec.expected}.",
                    hint=f"Fix or remove {name} in your settings.",
                    id=health.CONFIG_SETTING_WRONG_TYPE,
                )
            )
    return errors


def check_version_callback(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Check that the version callback imports and, for the default one, that BASE_DIR is set."""
    callback = conf.VERSION_CALLBACK
    if isinstance(callback, str):
        problem = ""
        try:
            imported = import_string(callback)
        except Exception as exc:  # a module that raises on import, too
            problem = f"cannot be imported: {exc}"
        else:
            if not callable(imported):
                problem = f"is not callable (it is a {type(imported).__name__})"
        if problem:
            return [
                checks.Error(
                    f"DOCKERFLOW_VERSION_CALLBACK {callback!r} {problem}",
                    id=health.CONFIG_VERSION_CALLBACK_IMPORT,
                )
            ]
    if callback == DEFAULT_VERSION_CALLBACK and getattr(settings, "BASE_DIR", None) is None:
        return [
            checks.Error(
                "BASE_DIR is not set, so /__version__ cannot find version.json.",
                hint="Set BASE_DIR to the directory that holds version.json, "
                "or set DOCKERFLOW_VERSION_CALLBACK.",
                id=health.CONFIG_BASE_DIR_MISSING,
            )
        ]
    return []


def check_middleware_first(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn when DockerflowMiddleware is installed but not first in MIDDLEWARE."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if MIDDLEWARE_PATH in middleware and middleware[0] != MIDDLEWARE_PATH:
        return [
            checks.Warning(
                f"{MIDDLEWARE_PATH} is at position {middleware.index(MIDDLEWARE_PATH)} "
                f"in MIDDLEWARE, after {middleware[0]!r}.",
                hint="Put it first so the probe endpoints answer before any other "
                "middleware (ALLOWED_HOSTS, SSL redirects, sessions) can interfere.",
                id=health.CONFIG_MIDDLEWARE_NOT_FIRST,
            )
        ]
    return []


def check_error_endpoint(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn when ``/__error__`` is switched on but its guard lets no request through."""
    if conf.ERROR_ENDPOINT and conf.ERROR_ENDPOINT_TOKEN is None and not settings.DEBUG:
        return [
            checks.Warning(
                "DOCKERFLOW_ERROR_ENDPOINT is True but /__error__ is not served: "
                "DOCKERFLOW_ERROR_ENDPOINT_TOKEN is not set and DEBUG is False.",
                hint="Set DOCKERFLOW_ERROR_ENDPOINT_TOKEN to a secret and send it in the "
                "X-Dockerflow-Error-Token header, or turn DOCKERFLOW_ERROR_ENDPOINT off.",
                id=health.CONFIG_ERROR_ENDPOINT_UNREACHABLE,
            )
        ]
    return []


def check_drain_file(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn when ``DOCKERFLOW_DRAIN_FILE`` is a relative path.

    A relative path is resolved against each process's working directory, so the
    file that ``manage.py dockerflow_drain`` (or a preStop hook) creates may not be
    the one the web workers look for, and the instance would never drain.
    """
    value = getattr(settings, "DOCKERFLOW_DRAIN_FILE", None)
    try:
        path = os.fspath(value) if isinstance(value, (str, os.PathLike)) else ""
    except Exception:  # a hostile PathLike: check_settings_types reports it (E002)
        path = ""
    if not isinstance(path, str) or path == "" or os.path.isabs(path):
        return []  # unset, absolute, or a wrong type that E002 reports
    return [
        checks.Warning(
            f"DOCKERFLOW_DRAIN_FILE is the relative path {path!r}; each process "
            "resolves it against its own working directory.",
            hint="Use an absolute path, for example '/tmp/dockerflow-drain'.",
            id=health.CONFIG_DRAIN_FILE_RELATIVE,
        )
    ]


def check_heartbeat_entries(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Report every ``DOCKERFLOW_CHECKS`` entry that is not a usable check (E010-E013)."""
    entries = getattr(settings, "DOCKERFLOW_CHECKS", None)
    if entries is None or not isinstance(entries, (list, tuple)):
        return []  # the default, or a wrong type that check_settings_types reports
    return [check.problem for check in resolve_entries(entries) if check.problem is not None]


def run_heartbeat_checks(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """The heartbeat's checks as one deployment check (``check --deploy --tag dockerflow``).

    Runs through the heartbeat engine, so the same timeout and concurrency
    apply; each message names its check.
    """
    from .heartbeat import run

    messages: list[checks.CheckMessage] = []
    for result in run(use_cache=False).checks:
        for message in result.messages:
            if message.obj is None:
                # Django prints "?: (id) text" for a message without obj; name the check.
                message = checks.CheckMessage(
                    message.level, message.msg, hint=message.hint, obj=result.name, id=message.id
                )
            messages.append(message)
    return messages


def check_distribution(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Report Mozilla's ``dockerflow`` installed beside this package (E004)."""
    problem = install_problem()
    if problem is None:
        return []
    return [checks.Error(problem, hint=REPAIR_HINT, id=health.CONFIG_DISTRIBUTION_CONFLICT)]


def register() -> None:
    """Register our checks with Django's check framework, under the tag ``dockerflow``.

    The configuration checks run with every ``manage.py check``; the heartbeat
    checks are deployment checks, so a plain ``manage.py check`` (an image
    build without a database) never runs them.
    """
    for check in (
        check_distribution,
        check_settings_types,
        check_version_callback,
        check_middleware_first,
        check_error_endpoint,
        check_drain_file,
        check_heartbeat_entries,
    ):
        checks.register(check, "dockerflow")
    checks.register(run_heartbeat_checks, "dockerflow", deploy=True)
