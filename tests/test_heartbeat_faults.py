"""Faults between Django and its backing services, made by ``tests/faultproxy.py``.

Each fault (connection refused, accepted but silent, slow answers) must give a
JSON 5xx naming the failed check within the heartbeat timeout plus a small
margin, and 200 again once the proxy heals. Then a leak test: a thousand
heartbeats against PostgreSQL leave no more of our connections than the
heartbeat's thread pool is wide.
"""

from __future__ import annotations

import os
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import AsyncClient, Client, override_settings

from dockerflow.django import heartbeat
from tests.conftest import service_url
from tests.faultproxy import FaultProxy, database_alias, host_port, postgres_settings

TIMEOUT = 1.0
#: How late past the timeout an answer may come (generous: a shared CI machine).
MARGIN = 1.0
#: How long a healed service may take to answer 200 again.
HEAL_WITHIN = 20.0
FAULTS = ["refuse", "blackhole", "slow"]


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    heartbeat.reset()
    yield
    heartbeat.reset()


def eventually(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# --- The proxy itself, against a local echo server -------------------------------------


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address  # type: ignore[return-value]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def roundtrip(address: tuple[str, int], payload: bytes = b"ping", timeout: float = 2.0) -> bytes:
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(payload)
        return sock.recv(1024)


def test_proxy_passes_through(echo: tuple[str, int]) -> None:
    with FaultProxy(echo) as proxy:
        assert roundtrip(proxy.address) == b"ping"
        assert proxy.accepted == 1


def test_proxy_refuses_and_heals_on_the_same_port(echo: tuple[str, int]) -> None:
    with FaultProxy(echo) as proxy:
        port = proxy.port
        proxy.refuse()
        with pytest.raises(ConnectionRefusedError):
            roundtrip(proxy.address)
        proxy.heal()
        assert proxy.port == port
        assert roundtrip(proxy.address) == b"ping"


def test_proxy_refuse_cuts_live_connections(echo: tuple[str, int]) -> None:
    with FaultProxy(echo) as proxy, socket.create_connection(proxy.address, timeout=2) as sock:
        sock.sendall(b"a")
        assert sock.recv(10) == b"a"
        proxy.refuse()
        assert eventually(lambda: _closed(sock), 2)


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(10) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_proxy_blackhole_accepts_but_never_answers(echo: tuple[str, int]) -> None:
    with FaultProxy(echo) as proxy:
        proxy.blackhole()
        with socket.create_connection(proxy.address, timeout=0.3) as sock:
            sock.sendall(b"hello?")
            with pytest.raises(TimeoutError):
                sock.recv(10)
            proxy.heal()  # a held connection is closed on heal
            sock.settimeout(2)
            assert _closed(sock)
        assert roundtrip(proxy.address) == b"ping"


def test_proxy_blackhole_pauses_live_connections(echo: tuple[str, int]) -> None:
    with FaultProxy(echo) as proxy, socket.create_connection(proxy.address, timeout=2) as sock:
        sock.sendall(b"1")
        assert sock.recv(10) == b"1"
        proxy.blackhole()
        sock.settimeout(0.3)
        sock.sendall(b"2")
        with pytest.raises(TimeoutError):
            sock.recv(10)
        proxy.heal()
        sock.settimeout(2)
        assert sock.recv(10) == b"2"  # the paused data arrives after healing


def test_proxy_slow_delays_each_chunk(echo: tuple[str, int]) -> None:
    with FaultProxy(echo) as proxy:
        proxy.slow(0.3)
        start = time.monotonic()
        assert roundtrip(proxy.address) == b"ping"
        assert time.monotonic() - start >= 0.5  # one delay each way


def test_proxy_rewrite_keeps_credentials() -> None:
    with FaultProxy(("127.0.0.1", 1)) as proxy:
        assert proxy.rewrite("postgres://u:p@db.example:5432/x?sslmode=disable") == (
            f"postgres://u:p@127.0.0.1:{proxy.port}/x?sslmode=disable"
        )
        assert proxy.rewrite("redis://127.0.0.1:6379/0") == f"redis://127.0.0.1:{proxy.port}/0"


def test_proxy_stop_leaves_no_thread(echo: tuple[str, int]) -> None:
    proxy = FaultProxy(echo).start()
    socks = [socket.create_connection(proxy.address, timeout=2) for _ in range(3)]
    for sock in socks:
        sock.sendall(b"x")
        sock.recv(1)
    proxy.blackhole()
    held = socket.create_connection(proxy.address, timeout=2)
    proxy.stop()
    for sock in [*socks, held]:
        sock.close()
    assert proxy.threads_alive() == []
    assert not [t for t in threading.enumerate() if t.name.startswith("faultproxy")]


def test_proxy_to_a_dead_upstream_closes_the_client() -> None:
    with (
        FaultProxy(("127.0.0.1", _unused_port())) as proxy,
        socket.create_connection(proxy.address, timeout=2) as sock,
    ):
        assert _closed(sock)


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- Faults in front of PostgreSQL -------------------------------------------------------


@pytest.fixture
def db_access(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Database access from the heartbeat's threads, without a test transaction."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def pg_proxy(db_access: None) -> Iterator[FaultProxy]:
    """PostgreSQL behind a fault proxy, as the database alias ``pgf``."""
    url = service_url("POSTGRES_URL")
    with (
        FaultProxy(host_port(url, 5432), delay=2.0) as proxy,
        database_alias("pgf", postgres_settings(proxy.rewrite(url))),
    ):
        yield proxy


HEARTBEAT_SETTINGS: dict[str, Any] = {
    "DOCKERFLOW_HEARTBEAT_TIMEOUT": TIMEOUT,
    "DOCKERFLOW_HEARTBEAT_SHOW_DETAILS": True,
    "DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE": 503,
}


def probe(client: Client) -> tuple[int, dict[str, Any], float]:
    start = time.monotonic()
    response = client.get("/__heartbeat__")
    elapsed = time.monotonic() - start
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json(), elapsed


def assert_fault_then_heal(client: Client, proxy: FaultProxy, fault: str, check: str) -> None:
    status, body, _ = probe(client)
    assert status == 200, body
    getattr(proxy, fault)()
    status, body, elapsed = probe(client)
    assert status == 503, body
    assert body["status"] == "error"
    assert body["checks"][check] == "error"
    assert check in body["details"]
    assert elapsed < TIMEOUT + MARGIN, f"{fault}: answered after {elapsed:.2f}s"
    proxy.heal()
    assert eventually(lambda: probe(client)[0] == 200, HEAL_WITHIN), f"{fault}: never healed"


@pytest.mark.postgres
@pytest.mark.parametrize("fault", FAULTS)
def test_postgres_fault(client: Client, pg_proxy: FaultProxy, fault: str) -> None:
    with override_settings(
        DOCKERFLOW_CHECKS=["dockerflow.django.checks.check_database_connected"],
        **HEARTBEAT_SETTINGS,
    ):
        assert_fault_then_heal(client, pg_proxy, fault, "check_database_connected")


@pytest.mark.postgres
async def test_postgres_blackhole_under_asgi(
    async_client: AsyncClient, pg_proxy: FaultProxy
) -> None:
    with override_settings(
        DOCKERFLOW_CHECKS=[("dockerflow.django.checks.DatabaseConnected", {"alias": "pgf"})],
        **HEARTBEAT_SETTINGS,
    ):
        assert (await async_client.get("/__heartbeat__")).status_code == 200
        pg_proxy.blackhole()
        start = time.monotonic()
        response = await async_client.get("/__heartbeat__")
        elapsed = time.monotonic() - start
        assert response.status_code == 503
        assert response.json()["checks"] == {"databaseconnected:pgf": "error"}
        assert elapsed < TIMEOUT + MARGIN
        pg_proxy.heal()
        deadline = time.monotonic() + HEAL_WITHIN
        while (await async_client.get("/__heartbeat__")).status_code != 200:
            assert time.monotonic() < deadline, "never healed"


@pytest.mark.postgres
def test_postgres_hung_check_is_not_piled_up(client: Client, pg_proxy: FaultProxy) -> None:
    """Probes during a blackhole wait for the one hung check; they start no new ones."""
    with override_settings(
        DOCKERFLOW_CHECKS=["dockerflow.django.checks.check_database_connected"],
        **HEARTBEAT_SETTINGS,
    ):
        assert probe(client)[0] == 200
        pg_proxy.blackhole()
        before = pg_proxy.accepted
        for _ in range(3):
            status, body, _ = probe(client)
            assert status == 503
        messages = body["details"]["check_database_connected"]["messages"]
        assert "dockerflow.health.E014" in messages
        assert pg_proxy.accepted - before == 1  # one connection attempt, not three
        pg_proxy.heal()
        assert eventually(lambda: probe(client)[0] == 200, HEAL_WITHIN)


# --- Faults in front of Redis ---------------------------------------------------------------


@pytest.fixture
def redis_proxy() -> Iterator[FaultProxy]:
    url = service_url("REDIS_URL")
    with (
        FaultProxy(host_port(url, 6379), delay=2.0) as proxy,
        override_settings(
            CACHES={
                "default": {
                    "BACKEND": "django_redis.cache.RedisCache",
                    "LOCATION": proxy.rewrite(url),
                }
            }
        ),
    ):
        yield proxy


@pytest.mark.redis
@pytest.mark.parametrize("fault", FAULTS)
def test_redis_fault(client: Client, redis_proxy: FaultProxy, fault: str) -> None:
    with override_settings(
        DOCKERFLOW_CHECKS=["dockerflow.django.checks.check_redis_connected"],
        **HEARTBEAT_SETTINGS,
    ):
        assert_fault_then_heal(client, redis_proxy, fault, "check_redis_connected")


# --- No leaked connections ------------------------------------------------------------------


def count_connections(url: str, application_name: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.postgres
@pytest.mark.usefixtures("db_access")
def test_a_thousand_heartbeats_leak_no_connection() -> None:
    url = service_url("POSTGRES_URL")
    name = f"dockerflow-leak-{os.getpid()}"
    total, workers, deadline = 1000, 4, time.monotonic() + 90
    done = [0]
    lock = threading.Lock()
    seen: list[int] = []
    stop = threading.Event()
    statuses: set[int] = set()

    def prober() -> None:
        client = Client()
        while time.monotonic() < deadline:
            with lock:
                if done[0] >= total:
                    return
                done[0] += 1
            statuses.add(client.get("/__heartbeat__").status_code)

    def sampler() -> None:
        while not stop.wait(0.05):
            seen.append(count_connections(url, name))

    settings = postgres_settings(url, OPTIONS={"application_name": name})
    with (
        database_alias("pgleak", settings),
        override_settings(
            DOCKERFLOW_CHECKS=[("dockerflow.django.checks.DatabaseConnected", {"alias": "pgleak"})]
        ),
    ):
        threads = [threading.Thread(target=prober) for _ in range(workers)]
        watcher = threading.Thread(target=sampler)
        watcher.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(100)
        stop.set()
        watcher.join(10)
        width = heartbeat.engine.pool.width
    assert done[0] == total, f"only {done[0]} heartbeats in the time allowed"
    assert statuses == {200}
    assert seen, "the sampler saw nothing"
    assert max(seen) <= width, f"{max(seen)} connections open at once, pool is {width} wide"
    # Every thread closed its connection: none is left once the probes stop.
    assert eventually(lambda: count_connections(url, name) == 0, 5)
