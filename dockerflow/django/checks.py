"""Built-in heartbeat checks and the start-up configuration checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections
from django.utils.module_loading import import_string

from .. import health
from .conf import SETTINGS, conf

MIDDLEWARE_PATH = "dockerflow.django.middleware.DockerflowMiddleware"
DEFAULT_VERSION_CALLBACK = "dockerflow.version.get_version"

# --- Heartbeat checks ---------------------------------------------------------


def check_database_connected(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Connect to every database in ``DATABASES`` and report those that fail."""
    errors: list[checks.CheckMessage] = []
    for alias in connections:
        connection = connections[alias]
        try:
            connection.ensure_connection()
        except ImproperlyConfigured as exc:
            errors.append(
                checks.Error(
                    f"Database {alias!r} misconfigured: {exc}",
                    id=health.ERROR_MISCONFIGURED_DATABASE,
                )
            )
        except DatabaseError as exc:
            errors.append(
                checks.Error(
                    f"Could not connect to database {alias!r}: {type(exc).__name__}",
                    id=health.ERROR_CANNOT_CONNECT_DATABASE,
                )
            )
        else:
            if not connection.is_usable():
                errors.append(
                    checks.Error(
                        f"Database {alias!r} connection is not usable",
                        id=health.ERROR_UNUSABLE_DATABASE,
                    )
                )
    return errors


def check_migrations_applied(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Report every migration that is not applied on the default database."""
    from django.db.migrations.loader import MigrationLoader

    try:
        loader = MigrationLoader(connections["default"], ignore_no_migrations=True)
    except (ImproperlyConfigured, DatabaseError):
        return [
            checks.Info(
                "Can't connect to database to check migrations",
                id=health.INFO_CANT_CHECK_MIGRATIONS,
            )
        ]
    level_class = checks.Error if conf.UNAPPLIED_MIGRATIONS_LEVEL == "error" else checks.Warning
    labels = {app.label for app in app_configs} if app_configs else set(loader.migrated_apps)
    return [
        level_class(f"Unapplied migration {migration}", id=health.WARNING_UNAPPLIED_MIGRATION)
        for node, migration in loader.graph.nodes.items()
        if migration.app_label in labels and node not in loader.applied_migrations
    ]


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


def register() -> None:
    """Register the configuration checks with Django's check framework."""
    for check in (
        check_settings_types,
        check_version_callback,
        check_middleware_first,
        check_error_endpoint,
    ):
        checks.register(check, "dockerflow")
