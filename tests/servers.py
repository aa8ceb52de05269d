"""Run testproject under a real server (gunicorn or uvicorn) for end-to-end tests.

``running_server()`` starts the server from this project's virtualenv on a free
loopback port, waits until ``/__lbheartbeat__`` answers and, on exit, stops the
whole process group by PID (SIGTERM, then SIGKILL after a bound), so no worker
outlives the test. ``http()`` makes one request with the standard library only
and returns the answer whatever its status.

Usage::

    with running_server("gunicorn") as server:
        answer = http(server.url + "/__version__")
        assert answer.status == 200
    assert not server.alive()
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
TESTPROJECT = ROOT / "testproject"
BIN = Path(sys.executable).parent  # the venv's bin dir; never resolve the symlink

ServerKind = Literal["gunicorn", "uvicorn"]

#: Bounds: a server that is not up by then, or not gone by then, is a failure.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
MIGRATE_TIMEOUT = 120.0
#: How often a port that was taken between choosing and binding is retried.
BIND_ATTEMPTS = 3


class ServerError(RuntimeError):
    """The server did not start (or stop) as expected; the message holds its output."""


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers and body, whatever the status."""

    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def http(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> Answer:
    """Make one request with urllib; 4xx and 5xx answers are returned, not raised.

    Redirects are not followed, so a test sees exactly what the server sent.
    """
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def free_port() -> int:
    """A TCP port that is free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _executable(name: str) -> list[str]:
    script = BIN / name
    return [str(script)] if script.exists() else [sys.executable, "-m", name]


def _gunicorn_has_control_socket() -> bool:
    try:
        major = int(importlib.metadata.version("gunicorn").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return major >= 27


def server_command(kind: ServerKind, port: int, workers: int) -> list[str]:
    """The command line that serves testproject with ``kind`` on 127.0.0.1:``port``."""
    if kind == "gunicorn":
        # gunicorn.conf.py binds 0.0.0.0:$PORT (what a container wants); tests
        # keep to loopback, so --bind (which wins over the config file)
        # narrows the interface while $PORT still carries the port.
        command = [
            *_executable("gunicorn"),
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ]
        if _gunicorn_has_control_socket():
            # gunicorn 27 opens a control socket at one fixed path in $HOME;
            # servers running side by side would take it from each other.
            command.append("--no-control-socket")
        return [*command, "testproject.wsgi:application"]
    if kind == "uvicorn":
        command = [
            *_executable("uvicorn"),
            "testproject.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            # Django's ASGI handler does not speak the lifespan protocol.
            "--lifespan",
            "off",
            "--no-access-log",
        ]
        if workers > 1:
            command += ["--workers", str(workers)]
        return command
    raise ValueError(f"unknown server kind {kind!r}; use 'gunicorn' or 'uvicorn'")


def server_environment(
    env: Mapping[str, str] | None, *, port: int, database_url: str
) -> dict[str, str]:
    """The environment of the server: ours, pointed at testproject, then the caller's."""
    environment = dict(os.environ)
    # pytest-django exports the unit tests' settings module; the server must
    # run testproject's own settings.
    environment["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
    environment["PORT"] = str(port)
    environment["DATABASE_URL"] = database_url
    environment["PYTHONUNBUFFERED"] = "1"
    environment.pop("PYTHONPATH", None)
    environment.update(env or {})
    return environment


@dataclass
class Server:
    """A server process serving testproject; see ``running_server()``."""

    kind: ServerKind
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _final_output: str | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        """PID of the server's main process (also its process group id)."""
        return self.process.pid

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        if self._final_output is not None:
            return self._final_output
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        """Whether any process of the server's process group still exists."""
        if self.process.poll() is None:
            return True
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # pragma: no cover - the id was reused by someone else
            return False
        return True

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the process group, SIGKILL it after ``timeout``; wait until it is gone."""
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout=timeout)
        # Workers whose master died first are orphans in the same group.
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            self._signal_group(signal.SIGKILL)
            time.sleep(0.05)
        if self._final_output is None:
            self._final_output = self.output()
        if self.alive():
            raise ServerError(f"{self.kind} (pid {self.pid}) survived SIGKILL")

    def _signal_group(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def wait_until_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Poll ``/__lbheartbeat__`` until it answers 200, the process dies or time is up."""
        deadline = time.monotonic() + timeout
        last_problem = "no attempt made"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.kind} exited with {self.process.returncode} before answering; "
                    f"output:\n{self.output()}"
                )
            try:
                answer = http(self.url + "/__lbheartbeat__", timeout=1.0)
            except (OSError, urllib.error.URLError) as exc:
                last_problem = repr(exc)
            else:
                if answer.status == 200:
                    return
                last_problem = f"HTTP {answer.status}: {answer.body[:200]!r}"
            time.sleep(0.1)
        raise ServerError(
            f"{self.kind} (pid {self.pid}) did not answer /__lbheartbeat__ within "
            f"{timeout:g}s (last: {last_problem}); output:\n{self.output()}"
        )


def migrate(environment: Mapping[str, str]) -> None:
    """Run testproject's migrations with the server's environment."""
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=TESTPROJECT,
        env=dict(environment),
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise ServerError(
            f"manage.py migrate failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )


def spawn(
    kind: ServerKind,
    port: int,
    *,
    env: Mapping[str, str] | None,
    database_url: str,
    workers: int,
    log_path: Path,
    cwd: Path = TESTPROJECT,
) -> Server:
    """Start ``kind`` serving the project in ``cwd`` on 127.0.0.1:``port``, without waiting.

    The server is in a process group of its own, so ``Server.stop()`` stops it as
    one; its output goes to ``log_path``.
    """
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            server_command(kind, port, workers),
            cwd=cwd,
            env=server_environment(env, port=port, database_url=database_url),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(kind=kind, port=port, process=process, log_path=log_path)


def _address_in_use(server: Server) -> bool:
    output = server.output()
    return "Address already in use" in output or "address already in use" in output


@contextlib.contextmanager
def running_server(
    kind: ServerKind = "gunicorn",
    *,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    start_timeout: float = START_TIMEOUT,
) -> Iterator[Server]:
    """Serve testproject with ``kind`` on a free loopback port for the ``with`` block.

    The database is a migrated SQLite file in a temporary directory unless
    ``env`` sets ``DATABASE_URL`` (then it is migrated as given). ``env``
    entries override everything else in the server's environment. On exit the
    process group is stopped by PID and the temporary directory removed;
    ``server.output()`` still returns what the server wrote.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"dockerflow-{kind}-"))
    # A fresh clone has never run collectstatic: WhiteNoise would print a
    # "No directory at" warning (a non-JSON line) on every server start.
    (TESTPROJECT / "staticfiles").mkdir(exist_ok=True)
    server: Server | None = None
    try:
        database_url = (env or {}).get("DATABASE_URL") or f"sqlite:///{workdir / 'db.sqlite3'}"
        migrate(server_environment(env, port=0, database_url=database_url))
        for attempt in range(1, BIND_ATTEMPTS + 1):
            port = free_port()
            log_path = workdir / f"{kind}-{attempt}.log"
            server = spawn(
                kind, port, env=env, database_url=database_url, workers=workers, log_path=log_path
            )
            try:
                server.wait_until_ready(start_timeout)
            except ServerError:
                server.stop()
                # Another process took the port between choosing and binding.
                if _address_in_use(server) and attempt < BIND_ATTEMPTS:
                    continue
                raise
            break
        assert server is not None
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
