"""Security through real servers while the services fail.

testproject runs under gunicorn and uvicorn with a database password, a
SECRET_KEY and a Redis password configured, PostgreSQL and Redis behind fault
proxies. The services are then broken every way the proxies can (refused,
reset, black-holed, and Redis refusing the password), every page and probe is
requested, and every response (status line, headers, body) and every line the
server logged is searched for the secrets. The probes must also say nothing
beyond their status in production, always as JSON.
"""

from __future__ import annotations

import contextlib
import json
import platform
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import django
import pytest

from .conftest import service_url
from .faultproxy import FaultProxy, host_port
from .servers import Answer, Server, ServerKind, http, running_server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

KINDS: list[ServerKind] = ["gunicorn", "uvicorn"]
DB_PASSWORD = "pg-Secret-7f3a9c"
REDIS_PASSWORD = "redis-Secret-b41d0e"
SECRET_KEY = "django-Secret-Key-5e8c2a1f9d"
ERROR_TOKEN = "error-Token-Secret-0a9b8c7d6e"
SECRETS = [DB_PASSWORD, REDIS_PASSWORD, SECRET_KEY, ERROR_TOKEN]
PAGES = ["/", "/backends/", "/admin/login/", "/no-such-page/", "/__error__"]
PROBES = ["/__lbheartbeat__", "/__heartbeat__", "/__version__"]
TIMEOUT = 1.0
#: Lines the servers themselves (and Python's warnings, in development mode) write
#: in plain text; they are searched for secrets like every other line.
SERVER_LINE = re.compile(
    r"^(\[\d{4}-\d\d-\d\d [^]]+\] \[\d+\] \[[A-Z]+\] "
    r"|INFO: |WARNING: |ERROR: |\S+:\d+: \w*Warning: |ResourceWarning: Enable tracemalloc)"
)


@dataclass
class Setup:
    server: Server
    database: FaultProxy
    redis: FaultProxy
    answers: list[tuple[str, str, Answer]]


def with_password(url: str, password: str, *, user: str | None = None) -> str:
    parts = urlsplit(url)
    name = user if user is not None else (parts.username or "")
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return parts._replace(netloc=f"{name}:{password}@{host}").geturl()


@contextlib.contextmanager
def secret_server(kind: ServerKind, *, show_details: bool, redis_password: bool) -> Iterator[Setup]:
    postgres, redis = service_url("POSTGRES_URL"), service_url("REDIS_URL")
    with (
        FaultProxy(host_port(postgres, 5432)) as database,
        FaultProxy(host_port(redis, 6379)) as cache,
    ):
        env = {
            # PostgreSQL here trusts loopback, so the password is sent only if asked:
            # it is configured everywhere Django keeps it, which is what could leak.
            "DATABASE_URL": database.rewrite(with_password(postgres, DB_PASSWORD, user="postgres")),
            "REDIS_URL": cache.rewrite(
                with_password(redis, REDIS_PASSWORD) if redis_password else redis
            ),
            "SECRET_KEY": SECRET_KEY,
            # Under ASGI a persistent connection outlives its request's thread.
            "CONN_MAX_AGE": "0" if kind == "uvicorn" else "60",
            "DEBUG": "false",
            "DOCKERFLOW_HEARTBEAT_TIMEOUT": str(TIMEOUT),
            "DOCKERFLOW_HEARTBEAT_SHOW_DETAILS": "true" if show_details else "false",
            "DOCKERFLOW_SUMMARY_LOG_PROBES": "true",
            "DOCKERFLOW_ERROR_ENDPOINT": "true",
            "DOCKERFLOW_ERROR_ENDPOINT_TOKEN": ERROR_TOKEN,
            "DOCKERFLOW_CHECKS": ",".join(
                [
                    "dockerflow.django.checks.check_database_connected",
                    "dockerflow.django.checks.check_migrations_applied",
                    "dockerflow.django.checks.check_redis_connected",
                ]
            ),
        }
        with running_server(kind, env=env) as server:
            yield Setup(server, database, cache, [])


def request_everything(setup: Setup, state: str) -> None:
    for path in PAGES + PROBES:
        if path == "/backends/" and state == "database blackhole":
            # A query on a black-holed connection waits as long as the network
            # lets it (the page has no timeout of its own); the heartbeat does not.
            continue
        headers = {"X-Dockerflow-Error-Token": ERROR_TOKEN} if path == "/__error__" else {}
        answer = http(setup.server.url + path, headers=headers, timeout=TIMEOUT + 10)
        setup.answers.append((state, path, answer))


def break_every_way(setup: Setup) -> None:
    request_everything(setup, "up")
    for fault in ("refuse", "blackhole"):
        for name, proxy in (("database", setup.database), ("redis", setup.redis)):
            getattr(proxy, fault)()
            request_everything(setup, f"{name} {fault}")
            proxy.heal()
    setup.database.refuse()
    setup.redis.refuse()
    request_everything(setup, "both refuse")
    setup.database.heal()
    setup.redis.heal()
    request_everything(setup, "healed")


def assert_no_secret_anywhere(setup: Setup) -> None:
    assert setup.answers
    for state, path, answer in setup.answers:
        text = answer.body.decode("utf-8", "replace") + "\n" + str(answer.headers)
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} in the answer to {path} ({state})"
    setup.server.stop()
    lines = setup.server.output().splitlines()
    assert lines
    for line in lines:
        for secret in SECRETS:
            assert secret not in line, f"{secret!r} in a log line: {line[:300]}"
        if line.strip() and not SERVER_LINE.match(line):
            json.loads(line)  # our lines are JSON, even the ones with tracebacks


@pytest.mark.parametrize(
    ("kind", "redis_password"),
    # Redis without a password fails by connection errors; with a password the
    # server does not expect, by authentication errors. Each server sees one.
    [("gunicorn", False), ("uvicorn", True)],
    ids=["gunicorn-redis-open", "uvicorn-redis-password"],
)
def test_no_secret_in_any_answer_or_log_line(kind: ServerKind, redis_password: bool) -> None:
    # Details shown: the worst case, every check message reaches the body.
    with secret_server(kind, show_details=True, redis_password=redis_password) as setup:
        break_every_way(setup)
        statuses = {(state, path): a.status for state, path, a in setup.answers}
        # The breakage was real: the pages that use the services failed.
        assert statuses[("database refuse", "/backends/")] == 500
        assert statuses[("database refuse", "/__heartbeat__")] == 500
        assert statuses[("redis refuse", "/__heartbeat__")] == 500
        assert statuses[("redis blackhole", "/__heartbeat__")] == 500
        assert statuses[("up", "/__error__")] == 500  # the token worked
        assert_no_secret_anywhere(setup)


#: What a production probe must never reveal.
REVEALING = [
    "Traceback",
    'File "',
    "site-packages",
    sys.prefix,
    "/testproject/",
    f"Python/{platform.python_version()}",
    f"Python {platform.python_version()}",
    f"Django/{django.get_version()}",
    f"Django {django.get_version()}",
    "<html",
    "127.0.0.1",
    "OperationalError",
    "ConnectionError",
    "dockerflow.health",
    "check_database_connected",
]


@pytest.mark.parametrize("kind", KINDS)
def test_probes_reveal_nothing_but_the_status_in_production(kind: ServerKind) -> None:
    with secret_server(kind, show_details=False, redis_password=False) as setup:
        break_every_way(setup)
        probe_answers = [(s, p, a) for s, p, a in setup.answers if p in PROBES]
        failures = 0
        for state, path, answer in probe_answers:
            where = f"{path} ({state})"
            assert answer.headers["Cache-Control"] == "no-store", where
            assert answer.headers["X-Content-Type-Options"] == "nosniff", where
            text = answer.body.decode("utf-8", "replace")
            header_text = str(answer.headers)
            for needle in REVEALING:
                assert needle not in text, f"{needle!r} in {where}: {text[:300]}"
            for needle in (platform.python_version(), django.get_version()):
                assert needle not in header_text, f"{needle!r} in the headers of {where}"
            if path == "/__heartbeat__":
                body = json.loads(text)
                expected = "ok" if state in {"up", "healed"} else "error"
                assert body == {"status": expected}, where
                failures += answer.status >= 500
            elif path == "/__lbheartbeat__":
                assert answer.status == 200, where  # touches no service
            if answer.status >= 400:
                assert answer.headers["Content-Type"] == "application/json", where
        assert failures >= 5  # every broken state failed the heartbeat
