"""The built-in checks and the django-health-check recipes against the real services.

PostgreSQL (POSTGRES_URL), Redis (REDIS_URL) and RabbitMQ (AMQP_URL) are the
machine's own; each test skips, saying so, when its URL is not set.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import logging
import os
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import checks as django_checks
from django.test import Client, override_settings

from dockerflow import health
from dockerflow.django import heartbeat
from dockerflow.django.adapter import adapt
from dockerflow.django.checks import (
    DatabaseConnected,
    MigrationsApplied,
    check_database_connected,
    check_redis_connected,
)
from tests.conftest import free_port, service_url
from tests.faultproxy import database_alias, postgres_settings

PG_PASSWORD = "pg-Secret-Pa55word"


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    heartbeat.reset()
    yield
    heartbeat.reset()


def run_detailed(client: Client) -> tuple[int, dict[str, Any], str]:
    with override_settings(DEBUG=True):
        response = client.get("/__heartbeat__")
    return response.status_code, response.json(), response.content.decode()


# --- PostgreSQL -------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test; its URL."""
    import psycopg

    name = f"dockerflow_hb_{os.getpid()}"
    admin = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_access(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Database access from any thread, without a test transaction.

    ``django_db`` would wrap the test in Django's TestCase, which forbids
    connections to aliases it was not told about, and the heartbeat's threads
    connect to the aliases these tests add on the fly.
    """
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def pg(db_access: None) -> Iterator[str]:
    """The alias ``pg``: the real PostgreSQL, beside the tests' SQLite ``default``."""
    url = service_url("POSTGRES_URL")
    with database_alias("pg", postgres_settings(url)) as alias:
        yield alias


@pytest.mark.postgres
def test_database_connected_on_postgres(pg: str, client: Client) -> None:
    assert check_database_connected() == []  # default (SQLite) and pg
    with override_settings(
        DOCKERFLOW_CHECKS=[("dockerflow.django.checks.DatabaseConnected", {"alias": pg})]
    ):
        status, body, _ = run_detailed(client)
    assert status == 200
    assert body["checks"] == {"databaseconnected:pg": "ok"}


@pytest.mark.postgres
def test_health_check_database_backend_on_postgres(pg: str) -> None:
    with override_settings(DOCKERFLOW_CHECKS=[("health_check.checks.Database", {"alias": pg})]):
        result = heartbeat.run()
    assert [(c.name, c.status) for c in result.checks] == [("database:pg", "ok")]


@pytest.mark.postgres
@pytest.mark.usefixtures("db_access")
def test_migrations_on_postgres() -> None:
    from django.core.management import call_command
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    url = service_url("POSTGRES_URL")
    with scratch_database(url) as scratch, database_alias("pgm", postgres_settings(scratch)):
        unmigrated = adapt(MigrationsApplied(alias="pgm"))()
        assert len(unmigrated) > 1  # one message per migration, as Mozilla's package
        assert {m.id for m in unmigrated} == {health.WARNING_UNAPPLIED_MIGRATION}
        assert {m.level for m in unmigrated} == {django_checks.WARNING}
        call_command("migrate", database="pgm", verbosity=0)
        assert adapt(MigrationsApplied(alias="pgm"))() == []
        MigrationRecorder(connections["pgm"]).record_unapplied("sessions", "0001_initial")
        [message] = adapt(MigrationsApplied(alias="pgm"))()
        assert message.msg == "Unapplied migration sessions.0001_initial"
        connections["pgm"].close()


@pytest.mark.postgres
@pytest.mark.usefixtures("db_access")
def test_failing_postgres_never_reveals_its_password(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    url = service_url("POSTGRES_URL")
    port = free_port()  # nothing listens there: connection refused
    broken = postgres_settings(url, PASSWORD=PG_PASSWORD, HOST="127.0.0.1", PORT=str(port))
    dsn = f"postgres://postgres:{PG_PASSWORD}@127.0.0.1:{port}/test"
    with (
        database_alias("pgbad", broken),
        override_settings(
            DOCKERFLOW_CHECKS=[
                "dockerflow.django.checks.check_database_connected",
                ("health_check.checks.Database", {"alias": "pgbad"}),
                "tests.test_heartbeat_services.check_leaking_dsn",
            ],
            DOCKERFLOW_HEARTBEAT_SHOW_DETAILS=True,
        ),
        caplog.at_level(logging.DEBUG),
    ):
        os.environ["DOCKERFLOW_TEST_DSN"] = dsn
        try:
            response = client.get("/__heartbeat__")
        finally:
            del os.environ["DOCKERFLOW_TEST_DSN"]
    assert response.status_code == 500
    body = response.json()
    [message] = body["details"]["check_database_connected"]["messages"].values()
    assert message.startswith("Could not connect to database 'pgbad' (OperationalError: ")
    assert "Connection refused" in message  # the reason, for whoever may see details
    assert body["checks"]["check_leaking_dsn"] == "error"
    everything = response.content.decode() + caplog.text
    for record in caplog.records:
        everything += record.getMessage()
    assert PG_PASSWORD not in everything
    assert dsn not in everything
    assert "postgres:***@" in caplog.text  # the DSN was in the log, scrubbed


def check_leaking_dsn(app_configs: Any = None, **kwargs: Any) -> list[django_checks.CheckMessage]:
    """A careless project check: puts the connection string in its message and error."""
    import psycopg

    dsn = os.environ["DOCKERFLOW_TEST_DSN"]
    try:
        psycopg.connect(dsn, connect_timeout=2).close()
    except psycopg.Error as exc:
        raise RuntimeError(f"cannot connect to {dsn}") from exc
    return [django_checks.Error(f"connected to {dsn}?!", id="tests.E200")]


# --- Redis ---------------------------------------------------------------------------------


def redis_cache(location: str, **options: Any) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": options,
        }
    }


@pytest.mark.redis
def test_redis_connected() -> None:
    with override_settings(CACHES=redis_cache(service_url("REDIS_URL"))):
        assert check_redis_connected() == []


@pytest.mark.redis
def test_redis_refused_is_e004_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    location = f"redis://:redis-Secret-99@127.0.0.1:{free_port()}/0"
    with (
        override_settings(
            CACHES=redis_cache(location, SOCKET_CONNECT_TIMEOUT=2),
            DOCKERFLOW_CHECKS=["dockerflow.django.checks.check_redis_connected"],
        ),
        caplog.at_level(logging.DEBUG),
    ):
        result = heartbeat.run()
    [check] = result.checks
    [message] = check.messages
    assert message.id == health.ERROR_CANNOT_CONNECT_REDIS
    # The reason an operator can act on, from redis-py's own exception.
    assert message.msg.startswith("Could not connect to Redis (ConnectionError: Error 111 ")
    assert message.msg.endswith("Connection refused.)")
    assert "redis-Secret-99" not in caplog.text


@pytest.mark.redis
def test_cache_recipe_on_redis() -> None:
    with override_settings(
        CACHES=redis_cache(service_url("REDIS_URL")),
        DOCKERFLOW_CHECKS=["health_check.checks.Cache"],
    ):
        result = heartbeat.run()
    assert [(c.name, c.status) for c in result.checks] == [("cache", "ok")]


@pytest.mark.redis
async def test_redis_recipe_async_client() -> None:
    from health_check.contrib.redis import Redis
    from redis.asyncio import Redis as RedisClient

    url = service_url("REDIS_URL")
    entry = Redis(client_factory=lambda: RedisClient.from_url(url))
    with override_settings(DOCKERFLOW_CHECKS=[entry]):
        result = await heartbeat.arun()
    [check] = result.checks
    assert check.status == "ok"
    assert check.name == "redis"


# --- RabbitMQ and Celery --------------------------------------------------------------------


@pytest.mark.rabbitmq
def test_rabbitmq_recipe() -> None:
    url = service_url("AMQP_URL")
    entry = ("health_check.contrib.rabbitmq.RabbitMQ", {"amqp_url": url})
    with override_settings(DOCKERFLOW_CHECKS=[entry]):
        result = heartbeat.run()
    [check] = result.checks
    assert check.status == "ok", check.messages
    assert check.name == "rabbitmq"  # the same on every host, whatever the URL


@pytest.mark.rabbitmq
async def test_rabbitmq_recipe_refused() -> None:
    service_url("AMQP_URL")
    url = f"amqp://guest:amqp-Secret-7@127.0.0.1:{free_port()}//"
    entry = ("health_check.contrib.rabbitmq.RabbitMQ", {"amqp_url": url})
    with override_settings(DOCKERFLOW_CHECKS=[entry]):
        result = await heartbeat.arun(timeout=10)
    # aio-pika's failed connection closes itself from __del__ with
    # ensure_future(), which needs a running loop: collect it here, on ours.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)
    [check] = result.checks
    [message] = check.messages
    assert message.id == health.ERROR_HEALTH_CHECK_FAILED
    assert "amqp-Secret-7" not in message.msg + check.name


@pytest.fixture
def celery_app() -> Any:
    from celery import Celery

    app = Celery("dockerflow-tests", broker=service_url("AMQP_URL"), set_as_current=False)
    # A queue of its own, so another worker on the broker cannot answer for ours.
    app.conf.task_default_queue = f"dockerflow-heartbeat-{os.getpid()}"
    app.conf.broker_heartbeat = 0
    return app


def ping_entry(app: Any) -> tuple[str, dict[str, Any]]:
    return (
        "health_check.contrib.celery.Ping",
        {"app": app, "timeout": datetime.timedelta(seconds=1), "limit": 1},
    )


@pytest.mark.rabbitmq
def test_celery_ping_recipe_without_a_worker(celery_app: Any) -> None:
    with override_settings(DOCKERFLOW_CHECKS=[ping_entry(celery_app)]):
        result = heartbeat.run()
    [check] = result.checks
    [message] = check.messages
    assert message.id == health.ERROR_HEALTH_CHECK_FAILED
    assert "Celery workers unavailable" in message.msg


@pytest.mark.rabbitmq
def test_celery_ping_recipe_with_a_worker(celery_app: Any) -> None:
    from celery.contrib.testing.worker import start_worker

    with (
        start_worker(
            celery_app,
            perform_ping_check=False,
            pool="solo",
            loglevel="WARNING",
            shutdown_timeout=20,
        ),
        override_settings(DOCKERFLOW_CHECKS=[ping_entry(celery_app)]),
    ):
        result = heartbeat.run()
    [check] = result.checks
    assert check.status == "ok", check.messages


@pytest.mark.postgres
def test_all_backends_at_once(pg: str, client: Client, celery_app: Any) -> None:
    """The whole recipe book in one heartbeat, as a project with every backend has it."""
    entries = [
        "dockerflow.django.checks.check_database_connected",
        "dockerflow.django.checks.check_redis_connected",
        "health_check.checks.Cache",
        ("health_check.contrib.rabbitmq.RabbitMQ", {"amqp_url": service_url("AMQP_URL")}),
        DatabaseConnected(alias=pg),
    ]
    with override_settings(CACHES=redis_cache(service_url("REDIS_URL")), DOCKERFLOW_CHECKS=entries):
        status, body, _ = run_detailed(client)
    assert status == 200, body
    assert set(body["checks"].values()) == {"ok"}
    assert len(body["checks"]) == 5
