"""The rollout: rolling deploys behind a real load balancer, with and without drain.

``make rollout`` (``python soak/soak.py --rollout``) puts HAProxy on a loopback
port in front of two testproject instances, with the configuration file the
docs show (``testproject/haproxy.cfg``, health checks on ``/__lbheartbeat__``),
and sends wrk load through it the whole time while it replaces every instance
one by one, the way a rolling deploy does, for each server (gunicorn, uvicorn):

``drain``
   ``manage.py dockerflow_drain``; wait the documented ``DRAIN_SECONDS``
   (``Timings.drain_seconds``: longer than the health-check interval times the
   fall count, read from the file); SIGTERM; start the new version on the same
   port; wait until HAProxy marks it up. Targets:
   no non-2xx answer, no socket error, every instance out of rotation within
   the bound, ``/__version__`` switching from the old version to the new one and
   never answering from an instance HAProxy had taken out.
``control``
   The same rollout with a plain SIGTERM and no drain, the new version started
   once HAProxy has noticed the old one is gone (as when it comes up at another
   address): what drain buys. No target.
``hang``
   One instance stops answering (SIGSTOP on its whole process group). Target:
   HAProxy takes it out within ``fall x (inter + timeout check)``; the figures
   say how many requests it cost. It is then killed and replaced.

Only loopback traffic; every process it starts (instances, HAProxy, wrk) is
stopped by its PID; every wait and every polling loop is bounded in time and
count. ``soak.py`` exits 1 when a target is missed. ``rollout()`` is what the
test suite's short version (tests/test_rollout.py) calls.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from soak.soak import Result, ensure_tool, report, start_wrk, wrk_report  # noqa: E402
from tests.servers import (  # noqa: E402
    TESTPROJECT,
    Server,
    ServerKind,
    free_port,
    migrate,
    server_environment,
    spawn,
)
from tests.servers import http as http_get  # noqa: E402

#: The HAProxy configuration the docs show (literalinclude) and this runs as it is.
HAPROXY_CONFIG = TESTPROJECT / "haproxy.cfg"
#: wrk: one connection per thread, each asking for ordinary pages (see mix.lua).
WRK_ROLES = ("site", "site", "site", "site")
#: wrk gives up on a request after this long (a socket error, "timeout").
WRK_TIMEOUT = 10.0
#: Worker processes per instance (see soak.WORKERS for uvicorn's one).
WORKERS: dict[ServerKind, int] = {"gunicorn": 2, "uvicorn": 1}
#: Bounds: an instance not answering by then, or not gone by then, fails the run.
START_TIMEOUT = 30.0
#: gunicorn's graceful_timeout in testproject is 20 s; SIGTERM waits that long.
STOP_TIMEOUT = 25.0
#: How often the HAProxy state and /__version__ are looked at.
POLL_INTERVAL = 0.05
#: Slack for noticing a state change by polling, and for the machine's load.
SLACK = 0.5
SCENARIOS = ("drain", "control", "hang")


# --- The documented configuration ----------------------------------------------


_TIME = re.compile(r"^(?P<value>\d+(?:\.\d+)?)(?P<unit>us|ms|s|m|h|d)?$")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1e-3}


def haproxy_seconds(text: str) -> float:
    """An HAProxy time (``2s``, ``500ms``; a bare number is milliseconds) in seconds."""
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"not an HAProxy time: {text!r}")
    return float(match.group("value")) * _UNITS[match.group("unit")]


@dataclass(frozen=True)
class Timings:
    """The health-check timings of the configuration, and what follows from them."""

    inter: float
    fall: int
    rise: int
    check_timeout: float

    @property
    def out_bound(self) -> float:
        """Most seconds from drain to out of rotation: ``fall`` failed checks ``inter`` apart.

        A drained instance answers its check at once (503), so the check's own
        time is a round trip; the bound counts the first check after the drain
        up to ``inter`` away.
        """
        return self.inter * self.fall

    @property
    def hang_bound(self) -> float:
        """Most seconds from a hang to out of rotation: each failed check waits its timeout."""
        return self.fall * (self.inter + self.check_timeout)

    @property
    def up_bound(self) -> float:
        """Most seconds from an instance answering to back in rotation."""
        return self.rise * self.inter

    @property
    def drain_seconds(self) -> float:
        """The documented wait between drain and SIGTERM: above ``out_bound``, 1 s margin."""
        return math.ceil(self.out_bound) + 1.0


@dataclass(frozen=True)
class HaproxyConfig:
    """What the rollout needs from the configuration file."""

    path: Path
    backend: str
    servers: tuple[tuple[str, str], ...]  # (name, environment variable of its address)
    bind_variable: str
    timings: Timings


def read_config(path: Path = HAPROXY_CONFIG) -> HaproxyConfig:
    """Parse the parts of an HAProxy configuration the rollout depends on."""
    backend = ""
    servers: list[tuple[str, str]] = []
    bind_variable = ""
    settings: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        words = line.split()
        if not words:
            continue
        if words[0] == "backend":
            backend = words[1]
        elif words[0] == "bind":
            bind_variable = _variable(words[1], path)
        elif words[0] == "server" and len(words) >= 3:
            servers.append((words[1], _variable(words[2], path)))
        elif words[0] == "default-server":
            # "check" is a flag; the other options are "name value" pairs.
            rest = [word for word in words[1:] if word != "check"]
            if len(rest) % 2:
                raise ValueError(f"{path}: default-server takes `name value` options: {line}")
            settings.update(zip(rest[0::2], rest[1::2], strict=True))
        elif words[:2] == ["timeout", "check"]:
            settings["timeout check"] = words[2]
    missing = [name for name in ("inter", "fall", "rise", "timeout check") if name not in settings]
    if missing or not servers or not backend or not bind_variable:
        raise ValueError(
            f"{path}: needs a bind, a backend with servers, `default-server ... inter fall "
            f"rise` and `timeout check` (missing: {missing or 'servers'})"
        )
    timings = Timings(
        inter=haproxy_seconds(settings["inter"]),
        fall=int(settings["fall"]),
        rise=int(settings["rise"]),
        check_timeout=haproxy_seconds(settings["timeout check"]),
    )
    return HaproxyConfig(path, backend, tuple(servers), bind_variable, timings)


def _variable(word: str, path: Path) -> str:
    match = re.fullmatch(r'"\$\{(\w+)\}"', word)
    if not match:
        raise ValueError(f'{path}: addresses must come from the environment ("${{NAME}}"): {word}')
    return match.group(1)


# --- HAProxy -------------------------------------------------------------------


class Haproxy:
    """HAProxy with the documented file, plus a stats socket the rollout reads."""

    def __init__(
        self, binary: str, config: HaproxyConfig, addresses: dict[str, str], workdir: Path
    ):
        self.config = config
        self.port = free_port()
        self.socket_path = workdir / "haproxy.sock"
        extra = workdir / "haproxy-stats.cfg"
        # A second file adds what only the rollout needs; HAProxy merges global sections.
        extra.write_text(f'global\n    stats socket "{self.socket_path}" mode 600 level admin\n')
        env = {**os.environ, config.bind_variable: f"127.0.0.1:{self.port}"}
        for name, variable in config.servers:
            env[variable] = addresses[name]
        self.log_path = workdir / "haproxy.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [binary, "-db", "-f", str(config.path), "-f", str(extra)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, dict[str, str]]:
        """``show stat`` of the backend's servers: name -> column -> value."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2.0)
            sock.connect(str(self.socket_path))
            sock.sendall(b"show stat\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        lines = b"".join(chunks).decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == self.config.backend and row.get("svname") not in {
                "BACKEND",
                "FRONTEND",
            }:
                rows[row["svname"]] = row
        return rows

    def status(self, server: str) -> str:
        return self.stats()[server]["status"]

    def wait_for(self, server: str, wanted: str, timeout: float) -> float | None:
        """Poll until ``server``'s status is ``wanted`` (UP, or DOWN/MAINT for "out")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited:\n{self.log_path.read_text()}")
            with contextlib.suppress(OSError):
                status = self.status(server)
                if (wanted == "out" and status.startswith(("DOWN", "MAINT"))) or status == wanted:
                    return time.monotonic()
            time.sleep(POLL_INTERVAL)
        return None

    def counters(self) -> Counter[str]:
        """Retries, redispatches and errors toward the servers, summed over them."""
        total: Counter[str] = Counter()
        for row in self.stats().values():
            for column in ("wretr", "wredis", "econ", "eresp"):
                total[column] += int(row.get(column) or 0)
        return total

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


# --- Instances ------------------------------------------------------------------


def commit_of(slot: str, generation: int) -> str:
    """A full commit hash that names one instance, so /__version__ says who answered."""
    return hashlib.sha1(f"{slot}-{generation}".encode()).hexdigest()


@dataclass
class Instance:
    slot: str
    kind: ServerKind
    generation: int
    port: int
    directory: Path
    server: Server

    @property
    def drain_file(self) -> Path:
        return self.directory / "drain"

    @property
    def commit(self) -> str:
        return commit_of(self.slot, self.generation)


class Pool:
    """The instances behind HAProxy, one per slot, each in a copy of testproject (its image)."""

    def __init__(self, workdir: Path, database_url: str) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.instances: dict[str, Instance] = {}

    def image(self, slot: str, generation: int) -> Path:
        """A copy of testproject with its own version.json: what a new image would hold."""
        directory = self.workdir / f"{slot}-{generation}"
        shutil.copytree(
            TESTPROJECT,
            directory,
            ignore=shutil.ignore_patterns("staticfiles", "*.sqlite3", "__pycache__"),
        )
        (directory / "staticfiles").mkdir()  # WhiteNoise warns when STATIC_ROOT is missing
        version = {
            "source": "https://github.com/example/dockerflow",
            "version": f"{generation}.0.0",
            "commit": commit_of(slot, generation),
            "build": f"https://ci.example.com/rollout/{slot}/{generation}",
        }
        (directory / "version.json").write_text(json.dumps(version))
        return directory

    def environment(self, directory: Path) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "DOCKERFLOW_DRAIN_FILE": str(directory / "drain"),
            "DEBUG": "false",
            "SECRET_KEY": "rollout-not-secret",
            # Independent of the machine's services: a local-memory cache.
            "REDIS_URL": "",
            "DOCKERFLOW_CHECKS": "",
        }

    def start(self, slot: str, kind: ServerKind, generation: int, port: int) -> Instance:
        directory = self.image(slot, generation)
        env = self.environment(directory)
        server = spawn(
            kind,
            port,
            env=env,
            database_url=self.database_url,
            workers=WORKERS[kind],
            log_path=directory / "server.log",
            cwd=directory,
        )
        instance = Instance(slot, kind, generation, port, directory, server)
        self.instances[slot] = instance
        try:
            server.wait_until_ready(START_TIMEOUT)
        except Exception:
            server.stop()
            raise
        return instance

    def drain(self, instance: Instance) -> float:
        """``manage.py dockerflow_drain`` in the instance's image, as an operator would.

        Returns how many seconds ago the drain file appeared: the command (a
        Django start-up and shutdown) returns well after it created the file.
        """
        result = subprocess.run(
            [sys.executable, "manage.py", "dockerflow_drain"],
            cwd=instance.directory,
            env=server_environment(
                self.environment(instance.directory),
                port=instance.port,
                database_url=self.database_url,
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0 or not instance.drain_file.exists():
            raise RuntimeError(f"dockerflow_drain failed: {result.stdout}{result.stderr}")
        return max(0.0, time.time() - instance.drain_file.stat().st_mtime)

    def terminate(self, instance: Instance) -> float:
        """SIGTERM to the main process, as a container runtime sends; seconds until it is gone."""
        sent = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(instance.server.pid, signal.SIGTERM)
        try:
            instance.server.process.wait(timeout=STOP_TIMEOUT)
        finally:
            instance.server.stop()  # whatever is left of the group, by PID
        return time.monotonic() - sent

    def hang(self, instance: Instance) -> None:
        os.killpg(instance.server.pid, signal.SIGSTOP)

    def kill(self, instance: Instance) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(instance.server.pid, signal.SIGKILL)
        instance.server.stop()

    def stop_all(self) -> None:
        for instance in self.instances.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(instance.server.pid, signal.SIGCONT)
            instance.server.stop()


# --- /__version__ through the load balancer -----------------------------------------


@dataclass(frozen=True)
class Answer:
    sent: float
    status: int | None
    commit: str | None
    version: str | None


class VersionPoller(threading.Thread):
    """GET /__version__ through HAProxy every POLL_INTERVAL, until stopped or bounded."""

    def __init__(self, url: str, t0: float, max_seconds: float) -> None:
        super().__init__(name="rollout-version", daemon=True)
        self.url, self.t0, self.max_seconds = url, t0, max_seconds
        self.answers: list[Answer] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        limit = int(self.max_seconds / POLL_INTERVAL) + 1
        for _ in range(limit):
            if self.stop_event.is_set() or time.monotonic() - self.t0 > self.max_seconds:
                break
            sent = time.monotonic() - self.t0
            status = commit = version = None
            with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
                answer = http_get(self.url + "/__version__", timeout=WRK_TIMEOUT)
                status = answer.status
                if status == 200:
                    body = answer.json()
                    commit, version = body.get("commit"), body.get("version")
            self.answers.append(Answer(sent, status, commit, version))
            self.stop_event.wait(POLL_INTERVAL)


# --- One scenario -----------------------------------------------------------------


def out_of_rotation(status: str) -> bool:
    """HAProxy sends no new request to a server in this state."""
    return status.startswith(("DOWN", "MAINT"))


class Watcher(threading.Thread):
    """Every POLL_INTERVAL, each server's HAProxy status; keeps every change, timed."""

    def __init__(self, haproxy: Haproxy, t0: float, max_seconds: float) -> None:
        super().__init__(name="rollout-watcher", daemon=True)
        self.haproxy, self.t0, self.max_seconds = haproxy, t0, max_seconds
        self.changes: list[tuple[float, str, str]] = []  # (offset, server, status)
        self.stop_event = threading.Event()

    def run(self) -> None:
        last: dict[str, str] = {}
        for _ in range(int(self.max_seconds / POLL_INTERVAL) + 1):
            offset = time.monotonic() - self.t0
            if self.stop_event.is_set() or offset > self.max_seconds:
                break
            with contextlib.suppress(OSError):
                for server, row in self.haproxy.stats().items():
                    if last.get(server) != row["status"]:
                        last[server] = row["status"]
                        self.changes.append((offset, server, row["status"]))
            self.stop_event.wait(POLL_INTERVAL)

    def first(self, server: str, after: float, out: bool) -> float | None:
        """When ``server`` was first seen out of (or back in) rotation at or after ``after``."""
        state: str | None = None
        for offset, name, status in self.changes:
            if name != server:
                continue
            state = status
            if offset >= after and (out_of_rotation(status) if out else status == "UP"):
                return offset
        # Already in that state at ``after``, and never left it.
        if state is not None and (out_of_rotation(state) if out else state == "UP"):
            return after
        return None


@dataclass
class Step:
    """What happened to one slot during a scenario (offsets in seconds from its start)."""

    slot: str
    old: str  # commit of the instance taken out
    new: str | None  # commit of its replacement
    began: float  # drain done, SIGTERM sent or SIGSTOP sent
    out: float | None  # HAProxy took it out
    stopped: float | None = None  # it was gone (SIGTERM done, or SIGKILL)
    up: float | None = None  # its replacement was back in rotation


@dataclass
class Run:
    """Everything one scenario produced, for ``judge()``."""

    scenario: str
    kind: str
    seconds: float
    steps: list[Step]
    wrk: dict[str, Any]
    answers: list[Answer]
    haproxy: Counter[str]
    old_commits: set[str]
    new_commits: set[str]
    timings: Timings
    drain_seconds: float = 0.0


#: Seconds of load before the first change and after the last.
SETTLE_SECONDS = 0.5


def run_scenario(
    scenario: str,
    pool: Pool,
    haproxy: Haproxy,
    wrk: str,
    timings: Timings,
    drain_seconds: float,
) -> Run:
    """Replace every instance (drain, control), or hang the last one (hang), under load."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose from {SCENARIOS}")
    slots = list(pool.instances) if scenario != "hang" else list(pool.instances)[-1:]
    budget = len(slots) * (drain_seconds + timings.hang_bound + START_TIMEOUT + STOP_TIMEOUT) + 30
    before = haproxy.counters()
    old_commits = {instance.commit for instance in pool.instances.values()}
    t0 = time.monotonic()

    def now() -> float:
        return time.monotonic() - t0

    wrk_process = start_wrk(wrk, haproxy.url, budget, roles=WRK_ROLES, timeout=WRK_TIMEOUT)
    poller = VersionPoller(haproxy.url, t0, budget)
    watcher = Watcher(haproxy, t0, budget)
    poller.start()
    watcher.start()
    steps: list[Step] = []
    try:
        time.sleep(SETTLE_SECONDS)
        for slot in slots:
            old = pool.instances[slot]
            if scenario == "drain":
                # Drain, wait what the docs say, SIGTERM.
                ago = pool.drain(old)
                step = Step(slot, old.commit, None, now() - ago, None)
                time.sleep(max(0.0, step.began + drain_seconds - now()))
                pool.terminate(old)
            elif scenario == "control":
                step = Step(slot, old.commit, None, now(), None)
                pool.terminate(old)
                # The replacement takes the old port here; in a real deploy it
                # has an address of its own, and the old one stays dead until
                # the checks fail. Wait for that, so the control loses what a
                # real one does.
                haproxy.wait_for(slot, "out", timings.hang_bound + 10)
            else:
                # Hung: HAProxy's checks take it out; then it is killed, as a
                # liveness probe on /__version__ would have it restarted.
                pool.hang(old)
                step = Step(slot, old.commit, None, now(), None)
                haproxy.wait_for(slot, "out", timings.hang_bound + 10)
                pool.kill(old)
            steps.append(step)
            step.stopped = now()
            new = pool.start(slot, old.kind, old.generation + 1, old.port)
            step.new = new.commit
            haproxy.wait_for(slot, "UP", timings.up_bound + START_TIMEOUT)
        time.sleep(SETTLE_SECONDS)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(wrk_process.pid, signal.SIGINT)  # wrk still reports what it did
        for thread in (poller, watcher):
            thread.stop_event.set()
            thread.join(timeout=WRK_TIMEOUT + 5)
    seconds = now()
    for step in steps:
        step.out = watcher.first(step.slot, step.began, out=True)
        step.up = watcher.first(step.slot, step.stopped or step.began, out=False)
    report_ = wrk_report(wrk_process, timeout=30)
    kinds = {instance.kind for instance in pool.instances.values()}
    return Run(
        scenario=scenario,
        kind="+".join(sorted(kinds)),
        seconds=seconds,
        steps=steps,
        wrk=report_,
        answers=poller.answers,
        haproxy=haproxy.counters() - before,
        old_commits=old_commits,
        new_commits={step.new for step in steps if step.new},
        timings=timings,
        drain_seconds=drain_seconds,
    )


# --- Judging --------------------------------------------------------------------


def wrk_figures(report_: dict[str, Any]) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    failed = 0
    sent = 0
    for thread in report_["threads"]:
        sent += thread["sent"]
        lost = set(thread["failed"] or [])
        if thread["tid"] == 1:
            # wrk calls request() once on its first thread before the run, to
            # look at the request; that one is never sent (see soak.judge).
            lost.discard(1)
        failed += len(lost)
        for status, count in (thread["statuses"] or {}).items():
            statuses[status] += count
    errors = report_.get("errors") or {}
    kinds = ("connect", "read", "write", "timeout")
    socket_errors = sum(int(errors.get(name, 0)) for name in kinds)
    return {
        "requests answered": sum(statuses.values()),
        "non-2xx answers": sum(c for s, c in statuses.items() if not s.startswith("2")),
        "statuses": dict(statuses),
        "socket errors": socket_errors,
        "socket errors connect/read/write/timeout": "/".join(str(errors.get(k, 0)) for k in kinds),
        "requests without an answer": failed,
        "requests lost (non-2xx or no answer)": failed
        + sum(c for s, c in statuses.items() if not s.startswith("2")),
        "longest request ms": round(int(report_.get("latency_max_us") or 0) / 1000, 1),
    }


def judge(run: Run) -> Result:
    figures: dict[str, Any] = {}
    targets: dict[str, bool] = {}
    load = wrk_figures(run.wrk)
    figures.update(load)
    figures["haproxy retries / redispatches"] = f"{run.haproxy['wretr']} / {run.haproxy['wredis']}"
    figures["haproxy connection / response errors"] = (
        f"{run.haproxy['econ']} / {run.haproxy['eresp']}"
    )
    to_out = [round(s.out - s.began, 2) if s.out is not None else None for s in run.steps]
    to_up = [
        round(s.up - s.stopped, 2) if s.up is not None and s.stopped is not None else None
        for s in run.steps
    ]
    label = {"drain": "drain", "control": "SIGTERM", "hang": "SIGSTOP"}[run.scenario]
    figures[f"seconds from {label} to out of rotation"] = [
        "never" if value is None else value for value in to_out
    ]
    figures["seconds from starting the new instance to back in rotation"] = [
        "never" if value is None else value for value in to_up
    ]
    if run.scenario == "drain":
        figures["drain wait seconds"] = run.drain_seconds
    answers = [a for a in run.answers if a.status is not None]
    by_instance = Counter(
        "old" if a.commit in run.old_commits else "new" if a.commit in run.new_commits else "?"
        for a in answers
        if a.status == 200
    )
    figures["/__version__ answers old / new"] = f"{by_instance['old']} / {by_instance['new']}"
    late = [
        a
        for a in answers
        for s in run.steps
        if a.commit == s.old and s.out is not None and a.sent > s.out
    ]
    figures["/__version__ answers from instances out of rotation"] = len(late)

    if run.scenario == "hang":
        bound = run.timings.hang_bound + SLACK
        figures["out-of-rotation bound seconds"] = bound
        targets["hung instance out of rotation within the bound"] = bool(to_out) and all(
            t is not None and t <= bound for t in to_out
        )
        # wrk's latencies count answered requests only; the lost ones waited this long.
        figures["seconds its requests waited (SIGSTOP to SIGKILL)"] = [
            round(s.stopped - s.began, 2) for s in run.steps if s.stopped is not None
        ]
    if run.scenario == "drain":
        bound = run.timings.out_bound + SLACK
        figures["out-of-rotation bound seconds"] = bound
        targets["0 non-2xx"] = load["non-2xx answers"] == 0 and load["requests answered"] > 0
        targets["0 socket errors"] = (
            load["socket errors"] == 0 and load["requests without an answer"] == 0
        )
        targets["every instance out of rotation within the bound"] = bool(to_out) and all(
            t is not None and t <= bound for t in to_out
        )
        versions = [a for a in answers if a.status == 200]
        switched = (
            bool(versions)
            and versions[0].commit in run.old_commits
            and versions[-1].commit in run.new_commits
            and all(a.commit in run.old_commits | run.new_commits for a in versions)
        )
        targets["/__version__ switched from old to new"] = switched
        targets["/__version__ never from an instance out of rotation"] = not late
    if run.scenario != "control":
        targets["every replacement back in rotation"] = bool(to_up) and all(
            t is not None for t in to_up
        )
    return Result(f"{run.kind} {run.scenario}", round(run.seconds, 1), figures, targets)


# --- Main -------------------------------------------------------------------------


@contextlib.contextmanager
def environment(
    kinds: Sequence[ServerKind], haproxy_binary: str, workdir: Path | None = None
) -> Iterator[tuple[Pool, Haproxy, HaproxyConfig]]:
    """A pool of instances (one per slot of the configuration) behind HAProxy."""
    config = read_config()
    if len(kinds) != len(config.servers):
        raise ValueError(f"{config.path} has {len(config.servers)} servers; got {len(kinds)} kinds")
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rollout-")))
        database_url = f"sqlite:///{workdir / 'db.sqlite3'}"
        migrate(server_environment({"REDIS_URL": ""}, port=0, database_url=database_url))
        pool = Pool(workdir, database_url)
        stack.callback(pool.stop_all)
        for (slot, _), kind in zip(config.servers, kinds, strict=True):
            pool.start(slot, kind, 1, free_port())
        addresses = {slot: f"127.0.0.1:{i.port}" for slot, i in pool.instances.items()}
        haproxy = Haproxy(haproxy_binary, config, addresses, workdir)
        stack.callback(haproxy.stop)
        for slot in pool.instances:
            if haproxy.wait_for(slot, "UP", config.timings.up_bound + 10) is None:
                raise RuntimeError(
                    f"haproxy never marked {slot} up:\n{haproxy.log_path.read_text()}"
                )
        yield pool, haproxy, config


def rollout(
    kinds: Sequence[ServerKind],
    scenarios: Sequence[str],
    wrk: str,
    haproxy_binary: str,
    drain_seconds: float | None = None,
) -> list[Result]:
    results = []
    with environment(kinds, haproxy_binary) as (pool, haproxy, config):
        wait = config.timings.drain_seconds if drain_seconds is None else drain_seconds
        for scenario in scenarios:
            print(f"rollout: {'+'.join(kinds)}: {scenario}", flush=True)
            run = run_scenario(scenario, pool, haproxy, wrk, config.timings, wait)
            results.append(judge(run))
    return results


def haproxy_version(binary: str) -> str:
    """``2.6.12-1+deb12u4`` from ``haproxy -v``."""
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10, check=False)
    match = re.search(r"version (\S+)", out.stdout)
    return match.group(1) if match else "?"


def main(kinds: Sequence[ServerKind], scenarios: Sequence[str] = SCENARIOS) -> list[Result]:
    """``soak.py --rollout``: each server kind, a pool of it, every scenario."""
    wrk = ensure_tool("wrk")
    haproxy_binary = ensure_tool("haproxy")
    config = read_config()
    results = []
    for kind in kinds:
        for result in rollout([kind] * len(config.servers), scenarios, wrk, haproxy_binary):
            report(result)
            results.append(result)
    return results
