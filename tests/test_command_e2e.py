"""End to end: ``python -m dockerflow.probe`` and ``manage.py dockerflow_heartbeat``
against testproject under real gunicorn (WSGI) and uvicorn (ASGI) processes.

Every probe runs as its own process, so the exit codes are the ones Docker's
HEALTHCHECK would see: against a healthy server, a stopped one, a paused one
(SIGSTOP: the kernel still accepts connections, nobody answers) and one whose
PostgreSQL connection is cut by a TCP proxy in the middle of the test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .conftest import service_url
from .faultproxy import FaultProxy
from .servers import Server, ServerKind, http, running_server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
TESTPROJECT = ROOT / "testproject"
KINDS: list[ServerKind] = ["gunicorn", "uvicorn"]
#: Generous: a probe process includes interpreter start-up on a shared machine.
MARGIN = 5.0


def run(
    args: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 60
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run a probe process; return it and its wall time."""
    environment = {**os.environ, **(env or {})}
    environment.pop("PYTHONPATH", None)
    start = time.monotonic()
    done = subprocess.run(
        args,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done, time.monotonic() - start


def probe(
    *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    return run([sys.executable, "-m", "dockerflow.probe", *args], env=env)


def command(
    *args: str, database_url: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    environment = {
        "DJANGO_SETTINGS_MODULE": "testproject.settings",
        "DATABASE_URL": database_url,
        **(env or {}),
    }
    return run(
        [sys.executable, "manage.py", "dockerflow_heartbeat", *args],
        env=environment,
        cwd=TESTPROJECT,
    )


def healthcheck_cmd() -> list[str]:
    """The exec-form CMD of testproject's Dockerfile HEALTHCHECK."""
    text = (TESTPROJECT / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    assert match, "no exec-form HEALTHCHECK CMD in testproject/Dockerfile"
    cmd: list[str] = json.loads(match.group(1))
    return cmd


def healthcheck_argv() -> list[str]:
    """That CMD as this virtualenv runs it.

    Its program is the console script pip installed here. The exec form expands
    no variable: the CMD gives a path and the probe reads ``$PORT`` (``ENV
    PORT=8000`` in the image), which the callers set to the test server's port.
    """
    cmd = healthcheck_cmd()
    assert cmd[0] == "dockerflow-probe"
    assert cmd[1].startswith("/"), cmd
    assert "PORT=8000" in (TESTPROJECT / "Dockerfile").read_text()
    return [str(Path(sys.executable).parent / cmd[0]), *cmd[1:]]


@pytest.fixture(scope="module", params=KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with running_server(request.param) as running:
        yield running
    assert not running.alive()


# --- A healthy server ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/__lbheartbeat__", "/__heartbeat__", "/__version__"])
def test_probe_healthy(server: Server, path: str) -> None:
    done, _ = probe(server.url + path, "--timeout", "10")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"healthy: HTTP 200 OK from {server.url}{path} in ")


def test_probe_default_url_follows_port(server: Server) -> None:
    done, _ = probe(env={"PORT": str(server.port)})
    assert done.returncode == 0, done.stderr
    assert f"{server.url}/__lbheartbeat__" in done.stdout


def test_dockerfile_healthcheck_passes(server: Server) -> None:
    done, _ = run(healthcheck_argv(), env={"PORT": str(server.port)})
    assert done.returncode == 0, done.stderr
    assert f"127.0.0.1:{server.port}/" in done.stdout


def test_probe_unknown_path_is_unhealthy(server: Server) -> None:
    done, _ = probe(server.url + "/no-such-page/")
    assert done.returncode == 1
    assert "HTTP 404" in done.stderr


def test_command_url_reports_status_and_body(server: Server) -> None:
    done, _ = command("--url", server.url + "/__heartbeat__", database_url="sqlite://:memory:")
    assert done.returncode == 0, done.stderr
    first, body = done.stdout.split("\n", 1)
    assert first.startswith(f"healthy: HTTP 200 OK from {server.url}/__heartbeat__")
    assert json.loads(body) == {"status": "ok"}


def test_command_url_with_host_header(server: Server) -> None:
    done, _ = command(
        "--url", server.url + "/", "--host", "localhost", database_url="sqlite://:memory:"
    )
    assert done.returncode == 0, done.stderr
    assert "testproject is running" in done.stdout


def test_command_url_disallowed_host_is_unhealthy(server: Server) -> None:
    # The ordinary page goes through ALLOWED_HOSTS (the probe paths do not).
    done, _ = command(
        "--url", server.url + "/", "--host", "evil.example", database_url="sqlite://:memory:"
    )
    assert done.returncode == 1
    assert "HTTP 400" in done.stderr


# --- A stopped or paused server ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_stopped_server_is_unhealthy_within_the_timeout(kind: ServerKind) -> None:
    with running_server(kind) as running:
        url = running.url + "/__lbheartbeat__"
        assert probe(url)[0].returncode == 0
    assert not running.alive()
    done, elapsed = probe(url, "--timeout", "2")
    assert done.returncode == 1
    assert "connection refused" in done.stderr
    assert elapsed < 2 + MARGIN
    done, elapsed = command("--url", url, "--timeout", "2", database_url="sqlite://:memory:")
    assert done.returncode == 1
    assert "connection refused" in done.stderr
    assert elapsed < 2 + MARGIN
    done, _ = run(healthcheck_argv(), env={"PORT": str(running.port)})
    assert done.returncode == 1
    assert f"127.0.0.1 port {running.port}" in done.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_paused_server_times_out_within_the_timeout(kind: ServerKind) -> None:
    with running_server(kind) as running:
        os.killpg(running.pid, signal.SIGSTOP)
        try:
            done, elapsed = probe(running.url + "/__lbheartbeat__", "--timeout", "1")
            cmd_done, cmd_elapsed = command(
                "--url",
                running.url + "/__lbheartbeat__",
                "--timeout",
                "1",
                database_url="sqlite://:memory:",
            )
        finally:
            os.killpg(running.pid, signal.SIGCONT)
        assert http(running.url + "/__lbheartbeat__").status == 200  # alive again
    assert done.returncode == 1
    assert "timed out after 1 s" in done.stderr
    assert elapsed < 1 + MARGIN
    assert cmd_done.returncode == 1
    assert "timed out after 1 s" in cmd_done.stderr
    assert cmd_elapsed < 1 + MARGIN


# --- A server whose database connection is cut ---------------------------------------------


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for these tests (dropped afterwards); its URL."""
    base = service_url("POSTGRES_URL")
    import psycopg

    name = f"dockerflow_command_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(base)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.parametrize("kind", KINDS)
def test_cut_database_is_unhealthy(kind: ServerKind, postgres_database: str) -> None:
    upstream = urlsplit(postgres_database)
    with FaultProxy((upstream.hostname or "127.0.0.1", upstream.port or 5432)) as proxy:
        database_url = proxy.rewrite(postgres_database)
        env = {"DATABASE_URL": database_url, "DOCKERFLOW_HEARTBEAT_TIMEOUT": "2"}
        with running_server(kind, env=env) as running:
            heartbeat_url = running.url + "/__heartbeat__"
            assert probe(heartbeat_url)[0].returncode == 0
            assert command("--url", heartbeat_url, database_url=database_url)[0].returncode == 0
            in_process, _ = command(
                "--check", "check_database_connected", database_url=database_url
            )
            assert in_process.returncode == 0, in_process.stderr

            proxy.refuse()  # PostgreSQL is gone: connections refused, live ones cut

            done, elapsed = probe(heartbeat_url, "--timeout", "10")
            assert done.returncode == 1, done.stdout
            assert "HTTP 500" in done.stderr
            assert json.loads(done.stderr.split("\n", 1)[1])["status"] == "error"
            assert elapsed < 10 + MARGIN
            done, _ = command("--url", heartbeat_url, database_url=database_url)
            assert done.returncode == 1
            assert "HTTP 500" in done.stderr
            # The worker-container probe: the checks in-process, no server involved.
            done, _ = command(database_url=database_url)
            assert done.returncode == 1
            assert re.search(r"check_database_connected\s+error", done.stderr), done.stderr
            # Liveness is not readiness: /__lbheartbeat__ touches no backing service.
            assert probe(running.url + "/__lbheartbeat__")[0].returncode == 0

            proxy.blackhole()  # accepted, never answered: only the timeout ends it

            done, elapsed = command("--timeout", "1", database_url=database_url)
            assert done.returncode == 1, done.stdout
            assert elapsed < 1 + 2 * MARGIN

            proxy.heal()
            deadline = time.monotonic() + 20
            while probe(heartbeat_url)[0].returncode != 0:
                assert time.monotonic() < deadline, "the heartbeat did not recover"
                time.sleep(0.5)
