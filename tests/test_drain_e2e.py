"""Drain mode end to end: a real gunicorn with several workers, the file made mid-run.

gunicorn's access log (turned on through GUNICORN_CMD_ARGS, with the worker's
PID in each line) tells which worker answered each probe, so the test can
require that *every* worker answered 503 once the file exists, and 200 again
once it is gone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .servers import TESTPROJECT, Answer, Server, http, running_server

pytestmark = pytest.mark.e2e

WORKERS = 4
#: Bounds on the probing loops: a worker not seen by then fails the test.
MAX_BURSTS = 40
BURST = 24
DEADLINE_SECONDS = 30.0
ACCESS_LINE = re.compile(r"^<(\d+)> (\d{3}) GET (\S+) HTTP")


def manage(*args: str, drain_file: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
    env["DOCKERFLOW_DRAIN_FILE"] = str(drain_file)
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=TESTPROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def access_log(server: Server, marker: str) -> list[tuple[int, int, str]]:
    """(pid, status, path) of every logged request whose query holds ``marker``."""
    entries = []
    for line in server.output().splitlines():
        match = ACCESS_LINE.match(line.strip())
        if match and f"phase={marker}" in match.group(3):
            entries.append((int(match.group(1)), int(match.group(2)), match.group(3)))
    return entries


def probe_until_every_worker_answered(
    server: Server, path: str, marker: str, expect: int, workers: set[int] | None = None
) -> set[int]:
    """Probe in concurrent bursts until ``workers`` (or WORKERS distinct PIDs) answered.

    Every answer must have status ``expect``; returns the PIDs seen.
    """
    deadline = time.monotonic() + DEADLINE_SECONDS
    url = f"{server.url}{path}?phase={marker}"
    sent = 0
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        for _ in range(MAX_BURSTS):
            answers: list[Answer] = list(pool.map(lambda _: http(url), range(BURST)))
            sent += len(answers)
            statuses = {a.status for a in answers}
            assert statuses == {expect}, f"{path}: expected only {expect}, got {statuses}"
            seen = wait_for_log(server, marker, sent)
            if (workers is not None and workers <= seen) or (
                workers is None and len(seen) >= WORKERS
            ):
                return seen
            if time.monotonic() > deadline:
                break
    pytest.fail(f"{path}: only workers {sorted(seen)} answered in {sent} probes")


def wait_for_log(server: Server, marker: str, count: int) -> set[int]:
    # The access log line is written just after the response; give it a moment.
    deadline = time.monotonic() + 5.0
    while True:
        entries = access_log(server, marker)
        if len(entries) >= count or time.monotonic() > deadline:
            return {pid for pid, _, _ in entries}
        time.sleep(0.02)


def all_statuses(server: Server, marker: str) -> set[int]:
    return {status for _, status, _ in access_log(server, marker)}


@pytest.fixture
def drain_file(tmp_path: Path) -> Path:
    return tmp_path / "drain"


def test_every_gunicorn_worker_drains_and_comes_back(drain_file: Path) -> None:
    env = {
        "DOCKERFLOW_DRAIN_FILE": str(drain_file),
        # %(p)s renders as "<pid>".
        "GUNICORN_CMD_ARGS": "--access-logfile - --access-logformat '%(p)s %(s)s %(r)s'",
    }
    with running_server("gunicorn", env=env, workers=WORKERS) as server:
        # Before: every worker serves the probes.
        workers = probe_until_every_worker_answered(server, "/__lbheartbeat__", "before", 200)
        assert len(workers) == WORKERS

        # Mid-run, the management command creates the file...
        created = manage("dockerflow_drain", drain_file=drain_file)
        assert created.returncode == 0, created.stderr
        assert drain_file.exists()

        # ...and every worker answers 503 to both probes, from its next probe on.
        for path, marker in (("/__lbheartbeat__", "lb-drained"), ("/__heartbeat__", "hb-drained")):
            seen = probe_until_every_worker_answered(server, path, marker, 503, workers)
            assert seen == workers
            assert all_statuses(server, marker) == {503}
        body = http(server.url + "/__lbheartbeat__").json()
        assert body["status"] == "draining"

        # Everything else is still served.
        assert http(server.url + "/").status == 200
        assert http(server.url + "/__version__").status == 200

        # --undo: every worker answers 200 again.
        removed = manage("dockerflow_drain", "--undo", drain_file=drain_file)
        assert removed.returncode == 0, removed.stderr
        for path, marker in (("/__lbheartbeat__", "lb-after"), ("/__heartbeat__", "hb-after")):
            seen = probe_until_every_worker_answered(server, path, marker, 200, workers)
            assert seen == workers
    assert not server.alive()


def test_uvicorn_workers_drain_too(drain_file: Path) -> None:
    with running_server("uvicorn", env={"DOCKERFLOW_DRAIN_FILE": str(drain_file)}, workers=2) as s:
        get: Callable[[str], int] = lambda path: http(s.url + path).status  # noqa: E731
        assert get("/__lbheartbeat__") == 200
        drain_file.touch()
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: get("/__lbheartbeat__"), range(64)))
            statuses += list(pool.map(lambda _: get("/__heartbeat__"), range(32)))
        assert set(statuses) == {503}
        assert get("/") == 200
        assert get("/__version__") == 200
        drain_file.unlink()
        assert get("/__lbheartbeat__") == 200
        assert get("/__heartbeat__") == 200
