"""Failure reasons an operator can act on, with real PostgreSQL and Redis behind faults.

When a backing service fails, the heartbeat's log line, the in-process command's
output and the details (when shown) say why: the host and port, "connection
refused", "timeout expired", the server's own words. Credentials never appear,
and the public body stays ``{"status": "error"}``.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from dockerflow.django import heartbeat
from tests.conftest import free_port, service_url
from tests.faultproxy import FaultProxy, database_alias, host_port, postgres_settings

PASSWORD = "reason-Secret-Pa55"
#: The heartbeat timeout: longer than the drivers' own connect timeouts below,
#: so a black-holed server is reported with the driver's reason, not as late.
TIMEOUT = 4.0
CONNECT_TIMEOUT = 1


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    heartbeat.reset()
    yield
    heartbeat.reset()


@pytest.fixture
def db_access(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        yield


class Outputs:
    """What one failing heartbeat showed, everywhere it shows something."""

    def __init__(self, log: str, command: str, details: str, public: dict[str, Any]) -> None:
        self.log = log
        self.command = command
        self.details = details
        self.public = public

    def everywhere(self) -> list[str]:
        return [self.log, self.command, self.details]


def observe(client: Client, check: Any, caplog: pytest.LogCaptureFixture) -> Outputs:
    settings = {"DOCKERFLOW_CHECKS": [check], "DOCKERFLOW_HEARTBEAT_TIMEOUT": TIMEOUT}
    with override_settings(**settings):
        public = client.get("/__heartbeat__").json()
    with (
        override_settings(**settings),
        caplog.at_level(logging.INFO, logger="dockerflow.checks.registry"),
    ):
        caplog.clear()
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(SystemExit):
            call_command("dockerflow_heartbeat", verbosity=3, stdout=out, stderr=err)
        log = "\n".join(r.getMessage() for r in caplog.records)
    with override_settings(**settings, DOCKERFLOW_HEARTBEAT_SHOW_DETAILS=True):
        details = json.dumps(client.get("/__heartbeat__").json()["details"])
    return Outputs(log, out.getvalue() + err.getvalue(), details, public)


def assert_reason(outputs: Outputs, *words: str) -> None:
    assert outputs.public == {"status": "error"}  # terse unless the operator opted in
    for shown in outputs.everywhere():
        for word in words:
            assert word in shown, f"{word!r} missing from: {shown}"
        assert PASSWORD not in shown


# --- PostgreSQL --------------------------------------------------------------------------


def pg_check(alias: str) -> tuple[str, dict[str, str]]:
    return ("dockerflow.django.checks.DatabaseConnected", {"alias": alias})


@pytest.mark.postgres
@pytest.mark.usefixtures("db_access")
def test_postgres_wrong_port(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there
    broken = postgres_settings(
        service_url("POSTGRES_URL"),
        PASSWORD=PASSWORD,
        HOST="127.0.0.1",
        PORT=str(port),
        OPTIONS={"connect_timeout": CONNECT_TIMEOUT},
    )
    with database_alias("pgport", broken):
        outputs = observe(client, pg_check("pgport"), caplog)
    assert_reason(
        outputs, "Could not connect to database 'pgport'", "OperationalError", str(port), "refused"
    )


@pytest.mark.postgres
@pytest.mark.usefixtures("db_access")
@pytest.mark.parametrize("fault", ["refuse", "blackhole"])
def test_postgres_behind_a_fault(
    client: Client, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    url = service_url("POSTGRES_URL")
    with FaultProxy(host_port(url, 5432)) as proxy:
        settings = postgres_settings(
            proxy.rewrite(url), PASSWORD=PASSWORD, OPTIONS={"connect_timeout": CONNECT_TIMEOUT}
        )
        with database_alias("pgfault", settings):
            getattr(proxy, fault)()
            outputs = observe(client, pg_check("pgfault"), caplog)
    if fault == "refuse":  # the proxy accepts, then closes at once
        assert_reason(outputs, "OperationalError", str(proxy.port))
    else:  # accepted, never answered: libpq's own connect_timeout
        assert_reason(outputs, "OperationalError", "connection timeout expired")


@pytest.mark.postgres
@pytest.mark.usefixtures("db_access")
def test_postgres_refuses_the_credentials(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    # This machine's PostgreSQL trusts every local user, so a wrong password
    # cannot fail here; a role that does not exist fails the same way, at
    # authentication, with the password sent.
    settings = postgres_settings(
        service_url("POSTGRES_URL"), USER="no_such_role", PASSWORD=PASSWORD
    )
    with database_alias("pgrole", settings):
        outputs = observe(client, pg_check("pgrole"), caplog)
    assert_reason(outputs, "OperationalError", "no_such_role")


# --- Redis -------------------------------------------------------------------------------


def redis_caches(location: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": CONNECT_TIMEOUT,
                "SOCKET_TIMEOUT": CONNECT_TIMEOUT,
                "PASSWORD": PASSWORD,
            },
        }
    }


REDIS_CHECK = "dockerflow.django.checks.check_redis_connected"


@pytest.mark.redis
def test_redis_wrong_port(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    with override_settings(CACHES=redis_caches(f"redis://:{PASSWORD}@127.0.0.1:{port}/0")):
        outputs = observe(client, REDIS_CHECK, caplog)
    assert_reason(outputs, "Could not connect to Redis", "ConnectionError", str(port), "refused")


@pytest.mark.redis
@pytest.mark.parametrize(("fault", "words"), [("refuse", ()), ("blackhole", ("Timeout",))])
def test_redis_behind_a_fault(
    client: Client, caplog: pytest.LogCaptureFixture, fault: str, words: tuple[str, ...]
) -> None:
    url = service_url("REDIS_URL")
    with FaultProxy(host_port(url, 6379)) as proxy:
        location = proxy.rewrite(url).replace("redis://", f"redis://:{PASSWORD}@", 1)
        with override_settings(CACHES=redis_caches(location)):
            getattr(proxy, fault)()
            outputs = observe(client, REDIS_CHECK, caplog)
    assert_reason(outputs, "Could not connect to Redis", *words)


@pytest.fixture
def redis_with_a_password(tmp_path: Path) -> Iterator[int]:
    """A Redis server of this test's own that wants a password (not PASSWORD)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed; this test starts one of its own")
    port = free_port()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--requirepass", "the-right-one"]
    process = subprocess.Popen(
        [server, *options, "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def test_redis_refuses_the_password(
    client: Client, caplog: pytest.LogCaptureFixture, redis_with_a_password: int
) -> None:
    location = f"redis://:{PASSWORD}@127.0.0.1:{redis_with_a_password}/0"
    with override_settings(CACHES=redis_caches(location)):
        outputs = observe(client, REDIS_CHECK, caplog)
    assert_reason(outputs, "Redis", "AuthenticationError")
