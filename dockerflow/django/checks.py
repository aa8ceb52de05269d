"""The built-in heartbeat checks, at the import paths Mozilla's package uses.

Each is a django-health-check ``HealthCheck`` backend (:class:`DatabaseConnected`,
:class:`MigrationsApplied`, :class:`RedisConnected`) reporting the stable ids
of :mod:`dockerflow.health`, and a Django system check function in front of it
(``check_database_connected`` ...) that ``DOCKERFLOW_CHECKS`` names by default.

Importing this module imports django-health-check; the heartbeat engine does
so only when it first resolves ``DOCKERFLOW_CHECKS``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections
from django.utils.connection import ConnectionDoesNotExist
from health_check.base import HealthCheck

from .. import health
from .adapter import CheckUnavailable, CheckWarning, HealthCheckAdapter
from .conf import conf

__all__ = [
    "DatabaseConnected",
    "MigrationsApplied",
    "RedisConnected",
    "check_database_connected",
    "check_migrations_applied",
    "check_redis_connected",
]


@dataclasses.dataclass
class DatabaseConnected(HealthCheck):  # type: ignore[misc]  # django-health-check ships no types
    """Connect to one database alias and check that the connection is usable.

    Mozilla's ids: E001 cannot connect, E002 connection not usable, E003
    misconfigured. The driver's reason (host, port, "connection refused") is
    kept in the message; the heartbeat removes credentials from it.
    """

    alias: str = "default"

    def run(self) -> None:
        try:
            connection = connections[self.alias]
            connection.ensure_connection()
        except (ConnectionDoesNotExist, ImproperlyConfigured) as exc:
            raise CheckUnavailable(
                f"Database {self.alias!r} misconfigured",
                id=health.ERROR_MISCONFIGURED_DATABASE,
            ) from exc
        except DatabaseError as exc:
            raise CheckUnavailable(
                f"Could not connect to database {self.alias!r}",
                id=health.ERROR_CANNOT_CONNECT_DATABASE,
            ) from exc
        if not connection.is_usable():
            raise CheckUnavailable(
                f"Database {self.alias!r} connection is not usable",
                id=health.ERROR_UNUSABLE_DATABASE,
            )


@dataclasses.dataclass
class MigrationsApplied(HealthCheck):  # type: ignore[misc]  # django-health-check ships no types
    """Check that every migration on disk is applied to the database.

    One ``dockerflow.health.W001`` per unapplied migration, as in Mozilla's
    package: a Warning, or an Error when ``DOCKERFLOW_UNAPPLIED_MIGRATIONS_LEVEL``
    is ``"error"``. A database that cannot be read is Info
    (``dockerflow.health.I001``): ``check_database_connected`` reports the outage.
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
        texts = [f"Unapplied migration {migration}" for migration in unapplied]
        # The id stays W001 at either level, as in Mozilla's package.
        failure = CheckUnavailable if conf.UNAPPLIED_MIGRATIONS_LEVEL == "error" else CheckWarning
        raise failure(*texts, id=health.WARNING_UNAPPLIED_MIGRATION)


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
        client, missing = self._client()
        if client is None:
            raise CheckUnavailable(
                f"Redis client not available: {missing}", id=health.ERROR_MISSING_REDIS_CLIENT
            )
        import redis

        failure: redis.RedisError | None = None
        try:
            answered = client.ping()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise CheckUnavailable(
                "Could not connect to Redis", id=health.ERROR_CANNOT_CONNECT_REDIS
            ) from exc
        except redis.RedisError as exc:
            failure, answered = exc, False
        if not answered:
            raise CheckUnavailable(
                "Redis ping failed", id=health.ERROR_REDIS_PING_FAILED
            ) from failure

    def _client(self) -> tuple[Any, str]:
        """django-redis's client for the alias, or None and why there is none."""
        try:
            from django_redis import get_redis_connection
        except ImportError:
            return None, "install django-redis"
        try:
            return get_redis_connection(self.alias), ""
        except NotImplementedError:
            return None, f"cache {self.alias!r} is not a django-redis cache"
        except ImproperlyConfigured as exc:
            raise CheckUnavailable(
                f"Redis misconfigured for cache {self.alias!r}",
                id=health.ERROR_MISCONFIGURED_REDIS,
            ) from exc


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
    """Report each migration not applied to the default database (W001), or I001."""
    labels = tuple(app.label for app in app_configs) if app_configs else None
    return HealthCheckAdapter(MigrationsApplied(app_labels=labels))()


def check_redis_connected(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """PING the django-redis ``default`` cache's Redis (E004-E007)."""
    return HealthCheckAdapter(RedisConnected())()
