"""End to end: testproject under real gunicorn and uvicorn processes, over HTTP.

Each server is started on a free loopback port, probed with urllib only, and
stopped by PID; the tests then assert that no process of it is left.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .servers import Server, ServerError, ServerKind, http, running_server

pytestmark = pytest.mark.e2e

VERSION_JSON = json.loads(
    (Path(__file__).resolve().parent.parent / "testproject" / "version.json").read_text()
)
KINDS: list[ServerKind] = ["gunicorn", "uvicorn"]


@pytest.fixture(scope="module", params=KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    # One server per kind for the whole module: starting one costs a second or two.
    with running_server(request.param) as running:
        yield running
    assert not running.alive(), f"{running.kind} pid {running.pid} still running after stop"


def test_version_serves_testproject_version_json(server: Server) -> None:
    answer = http(server.url + "/__version__")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.json() == VERSION_JSON


def test_lbheartbeat(server: Server) -> None:
    answer = http(server.url + "/__lbheartbeat__")
    assert answer.status == 200
    assert answer.headers["Cache-Control"] == "no-store"


def test_heartbeat_is_json_and_healthy_on_a_migrated_database(server: Server) -> None:
    answer = http(server.url + "/__heartbeat__")
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["status"] == "ok"


def test_head_is_allowed(server: Server) -> None:
    answer = http(server.url + "/__lbheartbeat__", method="HEAD")
    assert answer.status == 200
    assert answer.body == b""


@pytest.mark.parametrize("path", ["/__version__/", "/__heartbeat__/", "/__lbheartbeat__/"])
def test_trailing_slash(server: Server, path: str) -> None:
    assert http(server.url + path).status == 200


@pytest.mark.parametrize("path", ["/__version__", "/__heartbeat__", "/__lbheartbeat__"])
def test_post_is_405_with_allow(server: Server, path: str) -> None:
    answer = http(server.url + path, method="POST", data=b"x=1")
    assert answer.status == 405
    assert answer.headers["Allow"] == "GET, HEAD"


def test_normal_page_is_served(server: Server) -> None:
    answer = http(server.url + "/")
    assert answer.status == 200
    assert answer.body == b"testproject is running\n"


def test_unknown_path_is_404(server: Server) -> None:
    assert http(server.url + "/__nope__").status == 404


def test_normal_request_is_logged_as_mozlog(server: Server) -> None:
    http(server.url + "/?e2e-marker=1")
    summaries = [
        json.loads(line)
        for line in server.output().splitlines()
        if line.startswith("{") and '"request.summary"' in line
    ]
    assert any(s["Fields"]["path"] == "/" and s["Fields"]["code"] == 200 for s in summaries), (
        server.output()
    )


@pytest.mark.parametrize("kind", KINDS)
def test_server_is_gone_after_the_block(kind: ServerKind) -> None:
    with running_server(kind, workers=2) as server:
        assert server.alive()
        assert http(server.url + "/__lbheartbeat__").status == 200
        pid = server.pid
    assert not server.alive()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    with pytest.raises(OSError):
        http(server.url + "/__lbheartbeat__", timeout=2)


def test_a_server_that_cannot_start_reports_its_output() -> None:
    # gunicorn reads extra options from this variable; the worker class does not exist.
    env = {"GUNICORN_CMD_ARGS": "--worker-class no_such_module.Worker"}
    with (
        pytest.raises(ServerError, match=r"(?s)exited with .*no_such_module"),
        running_server("gunicorn", env=env, start_timeout=20),
    ):
        pass  # pragma: no cover - never reached


def test_a_broken_configuration_fails_at_migrate_with_the_reason() -> None:
    with (
        pytest.raises(ServerError, match="DEBUG='maybe' is not a boolean"),
        running_server("uvicorn", env={"DEBUG": "maybe"}),
    ):
        pass  # pragma: no cover - never reached
