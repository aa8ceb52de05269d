"""The soak: testproject under real servers and load while PostgreSQL and Redis fail.

``make soak`` (``python soak/soak.py``) serves testproject under gunicorn (4
workers) and then uvicorn (one process), against the machine's PostgreSQL and
Redis reached through fault proxies, and drives it with wrk for a bounded time:
normal pages, ``/__heartbeat__`` and ``/__lbheartbeat__``. Meanwhile the
proxies cut and heal the database and Redis on a fixed schedule, a prober
times every heartbeat from the client's side, a scraper asks ``/__heartbeat__``
for OpenMetrics every second as Prometheus would, and a sampler watches the
database connections (``pg_stat_activity``) and the servers' memory (RSS).
The servers reuse a heartbeat result for ``HEARTBEAT_CACHE_SECONDS``.

Afterwards it reads the server's whole log and prints, per server:

* requests served;
* non-2xx answers (and failed requests) on ``/__lbheartbeat__`` (target 0);
* heartbeats answered within the heartbeat timeout plus a margin (target 100%),
  and heartbeats that told the truth about the services (target 100%);
* scrapes answered with OpenMetrics within the same bound and telling the truth
  (target 100%), and the checks run at most once per cache window in each
  process however many probes and scrapes came (read from each process's
  ``dockerflow_heartbeat_runs_total``);
* ``request.summary`` lines: one valid JSON line for every answered request
  (nothing lost, nothing duplicated);
* database connections: the most seen at once (target: a bound set by the
  workers and, under ASGI, the concurrent requests);
* memory: the workers' RSS after warm-up and at the end (target: flat).

It exits 1 when a target is missed, 2 when it could not run. Only loopback
traffic; everything it starts (servers, wrk, proxies) is stopped by PID.
Usage: ``python soak/soak.py [--seconds N] [--servers gunicorn,uvicorn]``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import TESTPROJECT, Server, running_server  # noqa: E402

if TYPE_CHECKING:
    from tests.faultproxy import FaultProxy

LUA = Path(__file__).resolve().parent / "mix.lua"
AGENT = "dockerflow-soak"

#: wrk threads (one connection each) and their roles; see mix.lua.
WRK_ROLES = ("pages", "lb", "hb", "pages", "lb")
#: Heartbeat timeout the servers run with, and the margin a probe may add.
HEARTBEAT_TIMEOUT = 1.0
HEARTBEAT_MARGIN = 1.0
#: The servers reuse a heartbeat result this long (DOCKERFLOW_HEARTBEAT_CACHE_SECONDS).
HEARTBEAT_CACHE_SECONDS = 0.25
#: A heartbeat answer is judged for truth once a phase is this old: a run that
#: began before the change may still be cached, and the next one may time out.
TRUTH_GRACE = HEARTBEAT_TIMEOUT + HEARTBEAT_CACHE_SECONDS + 0.5
#: Seconds between two probes of the client-side heartbeat prober.
PROBE_INTERVAL = 0.2
#: Seconds between two scrapes, and the Accept header Prometheus 2 sends.
SCRAPE_INTERVAL = 1.0
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
SAMPLE_INTERVAL = 0.5
#: Database connections one worker process may hold at once: its request's
#: connection plus one for each of the heartbeat's two database checks.
CONNECTIONS_PER_WORKER = 3
#: Memory is flat when the workers' total RSS at the end exceeds the one after
#: warm-up by no more than this fraction, or this many bytes, whichever is larger.
RSS_GROWTH_FRACTION = 0.10
RSS_GROWTH_BYTES = 16 * 1024 * 1024

#: Worker processes per server. uvicorn runs one process: with ``--workers N`` it
#: leaves Nagle's algorithm on for keep-alive connections on Linux, so every
#: request after the first on a connection waits ~40 ms for a delayed ACK
#: (uvicorn issue #3149), which would measure uvicorn, not this library.
WORKERS = {"gunicorn": 4, "uvicorn": 1}


# --- The fault schedule ---------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """A stretch of the run with the database and Redis each ``up``, ``cut`` or ``stalled``."""

    name: str
    start: float
    end: float
    database: str
    redis: str

    @property
    def healthy(self) -> bool:
        return self.database == "up" and self.redis == "up"


#: (name, database, redis, weight): faults get a little more time than recoveries.
SCHEDULE = (
    ("healthy", "up", "up", 1.0),
    ("database cut", "cut", "up", 1.5),
    ("healed", "up", "up", 1.0),
    ("redis cut", "up", "cut", 1.5),
    ("healed", "up", "up", 1.0),
    ("database stalled, redis cut", "stalled", "cut", 1.5),
    ("healed", "up", "up", 1.0),
)


#: A run longer than this repeats the schedule, so that no fault outlasts
#: gunicorn's 30 s worker timeout: a page stuck on a black-holed database for
#: longer gets its worker killed, which says nothing about this library.
MAX_CYCLE_SECONDS = 90.0


def schedule(seconds: float) -> list[Phase]:
    """The phases of a run of ``seconds``, back to back, in one or more cycles."""
    cycles = max(1, math.ceil(seconds / MAX_CYCLE_SECONDS))
    unit = seconds / cycles / sum(weight for *_, weight in SCHEDULE)
    phases, start = [], 0.0
    for _ in range(cycles):
        for name, database, redis, weight in SCHEDULE:
            phases.append(Phase(name, start, start + weight * unit, database, redis))
            start += weight * unit
    return phases


def phase_at(phases: list[Phase], offset: float) -> Phase:
    for phase in phases:
        if offset < phase.end:
            return phase
    return phases[-1]


def apply(proxy: FaultProxy, state: str) -> None:
    """Put a proxy in ``state``: up, cut (refuse and reset) or stalled (black hole)."""
    if state == "up":
        proxy.heal()
    elif state == "cut":
        proxy.refuse()
    elif state == "stalled":
        proxy.blackhole()
    else:  # pragma: no cover - the schedule only has the three
        raise ValueError(state)


# --- Samplers and probers -------------------------------------------------------


def group_pids(pgid: int) -> list[int]:
    """Every process whose process group is ``pgid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            pids.append(int(entry))
    return sorted(pids)


def worker_pids(pgid: int) -> list[int]:
    """The processes of a server that serve requests.

    A lone process serves them itself; with several, the master (``pgid``) and
    helpers such as multiprocessing's resource tracker do not.
    """
    pids = group_pids(pgid)
    workers = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if pid != pgid and b"resource_tracker" not in command:
            workers.append(pid)
    return workers or [pid for pid in pids if pid == pgid]


def rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass
class Samples:
    """What the sampler saw: (offset, value) pairs."""

    connections: list[tuple[float, int]] = field(default_factory=list)
    rss: list[tuple[float, dict[int, int]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Sampler(threading.Thread):
    """Every SAMPLE_INTERVAL: database connections of the server and its workers' RSS."""

    def __init__(self, server: Server, dsn: str, application_name: str, t0: float) -> None:
        super().__init__(name="soak-sampler", daemon=True)
        self.server, self.dsn, self.application_name, self.t0 = server, dsn, application_name, t0
        self.samples = Samples()
        self.stop_event = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as connection:
            while not self.stop_event.is_set():
                offset = time.monotonic() - self.t0
                try:
                    row = connection.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                        (self.application_name,),
                    ).fetchone()
                    self.samples.connections.append((offset, int(row[0]) if row else 0))
                except psycopg.Error as exc:  # pragma: no cover - the sampler talks directly
                    self.samples.errors.append(repr(exc))
                workers = worker_pids(self.server.pid)
                rss = {pid: value for pid in workers if (value := rss_bytes(pid)) is not None}
                self.samples.rss.append((offset, rss))
                self.stop_event.wait(SAMPLE_INTERVAL)


@dataclass(frozen=True)
class Probe:
    """One client-side heartbeat: when it was sent, how long it took, what came back."""

    rid: str
    sent: float
    seconds: float
    status: int | None
    body_status: str | None
    error: str | None


class HeartbeatProber(threading.Thread):
    """One heartbeat at a time, every PROBE_INTERVAL, each timed from the client."""

    def __init__(self, port: int, t0: float, seconds: float) -> None:
        super().__init__(name="soak-prober", daemon=True)
        self.port, self.t0, self.seconds = port, t0, seconds
        self.probes: list[Probe] = []

    def run(self) -> None:
        n = 0
        while time.monotonic() - self.t0 < self.seconds:
            n += 1
            rid = f"soak-p-{n}"
            sent = time.monotonic()
            status, body_status, error = None, None, None
            connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=HEARTBEAT_TIMEOUT + HEARTBEAT_MARGIN
            )
            try:
                connection.request(
                    "GET", "/__heartbeat__", headers={"User-Agent": AGENT, "X-Request-ID": rid}
                )
                response = connection.getresponse()
                body = response.read()
                status = response.status
                with contextlib.suppress(ValueError, AttributeError):
                    body_status = json.loads(body).get("status")
            except (OSError, http.client.HTTPException) as exc:
                error = repr(exc)
            finally:
                connection.close()
            self.probes.append(
                Probe(rid, sent - self.t0, time.monotonic() - sent, status, body_status, error)
            )
            time.sleep(max(0.0, PROBE_INTERVAL - (time.monotonic() - sent)))


@dataclass(frozen=True)
class Scrape:
    """One OpenMetrics scrape of ``/__heartbeat__``: when, how long, and what it held."""

    sent: float
    seconds: float
    status: int | None
    #: Whether the answer was OpenMetrics: its content type, ending in ``# EOF``.
    openmetrics: bool
    #: ``dockerflow_heartbeat_healthy``.
    healthy: float | None
    #: The answering process and its ``dockerflow_heartbeat_runs_total``.
    pid: str | None
    runs: float | None
    error: str | None


_RUNS = re.compile(r'^dockerflow_heartbeat_runs_total\{pid="(\d+)"\} (\S+)$', re.MULTILINE)
_HEALTHY = re.compile(r"^dockerflow_heartbeat_healthy (\S+)$", re.MULTILINE)


def read_scrape(sent: float, seconds: float, status: int, content_type: str, body: str) -> Scrape:
    """What one scrape's answer says (a few lines of the exposition, read with regexes)."""
    runs, healthy = _RUNS.search(body), _HEALTHY.search(body)
    return Scrape(
        sent,
        seconds,
        status,
        content_type.startswith("application/openmetrics-text") and body.endswith("# EOF\n"),
        float(healthy.group(1)) if healthy else None,
        runs.group(1) if runs else None,
        float(runs.group(2)) if runs else None,
        None,
    )


class Scraper(threading.Thread):
    """A scrape of ``/__heartbeat__`` every SCRAPE_INTERVAL, with Prometheus' Accept header."""

    def __init__(self, port: int, t0: float, seconds: float) -> None:
        super().__init__(name="soak-scraper", daemon=True)
        self.port, self.t0, self.seconds = port, t0, seconds
        self.scrapes: list[Scrape] = []

    def run(self) -> None:
        while time.monotonic() - self.t0 < self.seconds:
            sent = time.monotonic()
            connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=HEARTBEAT_TIMEOUT + HEARTBEAT_MARGIN
            )
            try:
                connection.request(
                    "GET",
                    "/__heartbeat__",
                    headers={"User-Agent": "Prometheus/2.42.0", "Accept": PROMETHEUS_ACCEPT},
                )
                response = connection.getresponse()
                body = response.read().decode("utf-8", "replace")
                scrape = read_scrape(
                    sent - self.t0,
                    time.monotonic() - sent,
                    response.status,
                    response.getheader("Content-Type", ""),
                    body,
                )
            except (OSError, http.client.HTTPException) as exc:
                scrape = Scrape(
                    sent - self.t0,
                    time.monotonic() - sent,
                    None,
                    False,
                    None,
                    None,
                    None,
                    repr(exc),
                )
            finally:
                connection.close()
            self.scrapes.append(scrape)
            time.sleep(max(0.0, SCRAPE_INTERVAL - (time.monotonic() - sent)))


# --- wrk -----------------------------------------------------------------------


def ensure_tool(command: str) -> str:
    """The path of ``command`` (wrk, haproxy), installing the Debian package of that name
    when it is missing and we may."""
    found = shutil.which(command)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"soak: {command} is missing; installing the Debian package", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, timeout=300)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", command], env=env, check=False, timeout=300
        )
        found = shutil.which(command)
    if not found:
        raise SystemExit(
            f"soak: {command} is not installed and could not be installed "
            f"(apt-get install {command})"
        )
    return found


def ensure_wrk() -> str:
    """The path of wrk, installing the Debian package when it is missing and we may."""
    return ensure_tool("wrk")


def start_wrk(
    wrk: str,
    url: str,
    seconds: float,
    *,
    roles: tuple[str, ...] = WRK_ROLES,
    timeout: float = 30.0,
) -> subprocess.Popen[str]:
    """Start wrk for at most ``seconds``, one connection per role (see mix.lua).

    SIGINT stops it early; it still reports (``wrk_report()``).
    """
    threads = len(roles)
    command = [
        wrk,
        f"--threads={threads}",
        f"--connections={threads}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={max(1, round(timeout))}s",
        f"--script={LUA}",
        url,
    ]
    env = {**os.environ, "SOAK_ROLES": ",".join(roles)}
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wrk_report(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """Wait up to ``timeout`` for wrk to end (killed after that) and return mix.lua's report."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    for line in stdout.splitlines():
        if line.startswith("SOAK-WRK "):
            report: dict[str, Any] = json.loads(line.removeprefix("SOAK-WRK "))
            return report
    raise RuntimeError(f"wrk printed no report (exit {process.returncode}):\n{stdout}\n{stderr}")


def run_wrk(wrk: str, url: str, seconds: float) -> dict[str, Any]:
    """Run wrk for ``seconds`` and return what mix.lua reported."""
    return wrk_report(start_wrk(wrk, url, seconds), timeout=seconds + 60)


# --- The log -------------------------------------------------------------------


@dataclass
class LogFigures:
    lines: int = 0
    json_lines: int = 0
    other_lines: int = 0
    summary_lines: int = 0
    invalid_summary_lines: int = 0
    rids: Counter[str] = field(default_factory=Counter)
    summary_codes: Counter[str] = field(default_factory=Counter)


def read_log(path: Path) -> LogFigures:
    """Count the log's lines; collect the rid of every request.summary line."""
    figures = LogFigures()
    with path.open(encoding="utf-8", errors="replace") as log:
        for line in log:
            figures.lines += 1
            try:
                record = json.loads(line)
            except ValueError:
                if "request.summary" in line:
                    figures.invalid_summary_lines += 1
                else:
                    figures.other_lines += 1  # the server's own plain-text lines
                continue
            figures.json_lines += 1
            if not isinstance(record, dict) or record.get("Type") != "request.summary":
                continue
            fields = record.get("Fields") or {}
            if fields.get("agent") != AGENT:
                continue  # the readiness checks of the server launcher
            figures.summary_lines += 1
            figures.rids[str(fields.get("rid"))] += 1
            figures.summary_codes[f"{fields.get('path')} {fields.get('code')}"] += 1
    return figures


# --- One server -------------------------------------------------------------------


@dataclass
class Result:
    kind: str
    seconds: float
    figures: dict[str, Any]
    targets: dict[str, bool]

    @property
    def passed(self) -> bool:
        return all(self.targets.values())


def with_database(url: str, name: str, **query: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme, parts.netloc, "/" + name, "&".join(f"{k}={v}" for k, v in query.items()), "")
    )


def ensure_database(admin_url: str, name: str) -> None:
    """Create the soak's own database once, so parallel test runs are not disturbed."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def collectstatic(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=TESTPROJECT,
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "testproject.settings"},
        check=True,
        timeout=120,
    )


@contextlib.contextmanager
def proxies(postgres: str, redis: str) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    from tests.faultproxy import FaultProxy, host_port

    with (
        FaultProxy(host_port(postgres, 5432)) as database,
        FaultProxy(host_port(redis, 6379)) as cache,
    ):
        yield database, cache


def soak_one(kind: str, seconds: float, wrk: str, postgres: str, redis: str) -> Result:
    workers = WORKERS[kind]
    application_name = f"dockerflow-soak-{kind}"
    database = "dockerflow_soak"
    ensure_database(postgres, database)
    phases = schedule(seconds)
    with proxies(postgres, redis) as (pg_proxy, redis_proxy):
        env = {
            "DATABASE_URL": pg_proxy.rewrite(
                with_database(postgres, database, application_name=application_name)
            ),
            "REDIS_URL": redis_proxy.rewrite(redis),
            "DEBUG": "false",
            "SECRET_KEY": "soak-not-secret",
            # Under ASGI a persistent connection outlives its request's thread.
            "CONN_MAX_AGE": "0" if kind == "uvicorn" else "60",
            "DOCKERFLOW_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
            "DOCKERFLOW_HEARTBEAT_CACHE_SECONDS": str(HEARTBEAT_CACHE_SECONDS),
            "DOCKERFLOW_SUMMARY_LOG_PROBES": "true",
            "DOCKERFLOW_CHECKS": ",".join(
                [
                    "dockerflow.django.checks.check_database_connected",
                    "dockerflow.django.checks.check_migrations_applied",
                    "dockerflow.django.checks.check_redis_connected",
                ]
            ),
        }
        collectstatic(env)
        with running_server(kind, env=env, workers=workers) as server:  # type: ignore[arg-type]
            t0 = time.monotonic()
            sampler = Sampler(server, with_database(postgres, database), application_name, t0)
            prober = HeartbeatProber(server.port, t0, seconds)
            scraper = Scraper(server.port, t0, seconds)
            sampler.start()
            prober.start()
            scraper.start()
            wrk_result: dict[str, Any] = {}
            wrk_thread = threading.Thread(
                target=lambda: wrk_result.update(run_wrk(wrk, server.url, seconds)),
                name="soak-wrk",
                daemon=True,
            )
            wrk_thread.start()
            for phase in phases:
                apply(pg_proxy, phase.database)
                apply(redis_proxy, phase.redis)
                print(f"soak: {kind}: {phase.start:5.1f}s {phase.name}", flush=True)
                time.sleep(max(0.0, phase.end - (time.monotonic() - t0)))
            pg_proxy.heal()
            redis_proxy.heal()
            wrk_thread.join(timeout=90)
            prober.join(timeout=HEARTBEAT_TIMEOUT + HEARTBEAT_MARGIN + 5)
            scraper.join(timeout=HEARTBEAT_TIMEOUT + HEARTBEAT_MARGIN + 5)
            sampler.stop_event.set()
            sampler.join(timeout=10)
            server.stop()
            log = read_log(server.log_path)
    if not wrk_result:
        raise RuntimeError("wrk did not report")
    return judge(
        kind,
        seconds,
        workers,
        phases,
        wrk_result,
        prober.probes,
        sampler.samples,
        log,
        scraper.scrapes,
    )


# --- Judging ------------------------------------------------------------------------


def judge_scrapes(
    phases: list[Phase], scrapes: list[Scrape], figures: dict[str, Any], targets: dict[str, bool]
) -> None:
    """The scrapes: OpenMetrics in time, the truth, and one run per cache window per process."""
    limit = HEARTBEAT_TIMEOUT + HEARTBEAT_MARGIN
    good = [s for s in scrapes if s.status == 200 and s.openmetrics and s.seconds <= limit]
    figures["scrapes"] = len(scrapes)
    figures["scrapes answered 200 OpenMetrics within timeout + margin"] = len(good)
    figures["slowest scrape seconds"] = round(max((s.seconds for s in scrapes), default=0), 3)
    targets["scrape: 100% OpenMetrics within timeout + margin"] = bool(scrapes) and len(
        good
    ) == len(scrapes)

    judged, lies = 0, []
    for scrape in scrapes:
        phase = phase_at(phases, scrape.sent)
        if scrape.sent < phase.start + TRUTH_GRACE or scrape.sent + scrape.seconds > phase.end:
            continue
        judged += 1
        if scrape.healthy != (1.0 if phase.healthy else 0.0):
            lies.append(f"at {scrape.sent:.1f}s in '{phase.name}': healthy {scrape.healthy}")
    figures["scrapes judged for truth"] = judged
    if lies:
        figures["scrape lies (first 5)"] = lies[:5]
    targets["scrape: told the truth"] = judged > 0 and not lies

    # Each process counts its own runs of the checks; between two scrapes it
    # answered, it may have run them once per cache window (and once more for a
    # run in flight at each end), whatever the probes, scrapes and wrk asked.
    seen: dict[str, list[Scrape]] = {}
    for scrape in scrapes:
        if scrape.pid is not None and scrape.runs is not None:
            seen.setdefault(scrape.pid, []).append(scrape)
    worst, excess = 0.0, []
    for pid, observed in seen.items():
        first, last = observed[0], observed[-1]
        span = (last.sent + last.seconds) - first.sent
        allowed = span / HEARTBEAT_CACHE_SECONDS + 2
        runs = (last.runs or 0) - (first.runs or 0)
        if span > 0:
            worst = max(worst, runs / span)
        if runs > allowed:
            excess.append(f"pid {pid}: {runs:g} runs in {span:.1f}s (at most {allowed:.0f})")
    figures["processes seen by the scrapes"] = len(seen)
    figures["check runs per second, busiest process"] = round(worst, 2)
    figures["check runs per second allowed"] = round(1 / HEARTBEAT_CACHE_SECONDS, 2)
    if excess:
        figures["processes over one run per cache window"] = excess
    targets["checks: at most one run per cache window"] = (
        any(len(observed) >= 2 for observed in seen.values()) and not excess
    )


def connection_bound(kind: str, workers: int) -> int:
    """The most database connections the server may hold at once.

    A sync worker serves one request at a time; an ASGI process serves all the
    page requests wrk has in flight at once, each on a connection of its own.
    """
    pages = WRK_ROLES.count("pages") if kind == "uvicorn" else 0
    return CONNECTIONS_PER_WORKER * workers + pages


def judge(
    kind: str,
    seconds: float,
    workers: int,
    phases: list[Phase],
    wrk_report: dict[str, Any],
    probes: list[Probe],
    samples: Samples,
    log: LogFigures,
    scrapes: list[Scrape],
) -> Result:
    figures: dict[str, Any] = {"workers": workers}
    targets: dict[str, bool] = {}

    # Requests: wrk's per-thread counts, and which request ids must have a log line.
    answered_ids: set[str] = set()
    maybe_ids: set[str] = set()  # failed or in flight at the end: a line or not
    by_role: dict[str, Counter[str]] = {}
    for thread in wrk_report["threads"]:
        tid, sent = thread["tid"], thread["sent"]
        failed = set(thread["failed"] or [])
        if tid == 1 and 1 in failed and "soak-1-1" not in log.rids:
            # wrk calls request() once on its first thread to inspect the
            # request before the run; that request is never sent.
            failed.discard(1)
            first = 2
        else:
            first = 1
        last_answered = sent - 1 if thread["pending"] else sent
        for n in range(first, sent + 1):
            rid = f"soak-{tid}-{n}"
            (maybe_ids if n in failed or n > last_answered else answered_ids).add(rid)
        counts = by_role.setdefault(thread["role"], Counter())
        for status, count in (thread["statuses"] or {}).items():
            counts[status] += count
        counts["failed"] += len(failed)
    for probe in probes:
        (answered_ids if probe.status is not None else maybe_ids).add(probe.rid)

    served = len(answered_ids)
    figures["requests served"] = served
    figures["requests per second"] = round(served / seconds, 1)
    figures["statuses by role"] = {role: dict(c) for role, c in by_role.items()}

    lb = by_role.get("lb", Counter())
    lb_bad = sum(c for s, c in lb.items() if s == "failed" or not s.startswith("2"))
    figures["lbheartbeat answered"] = sum(c for s, c in lb.items() if s != "failed")
    figures["lbheartbeat non-2xx or failed"] = lb_bad
    targets["lbheartbeat: 0 non-2xx"] = lb_bad == 0 and figures["lbheartbeat answered"] > 0

    limit = HEARTBEAT_TIMEOUT + HEARTBEAT_MARGIN
    in_time = [p for p in probes if p.status is not None and p.seconds <= limit]
    figures["heartbeats probed"] = len(probes)
    figures["heartbeats answered within timeout + margin"] = len(in_time)
    figures["heartbeat limit seconds"] = limit
    figures["slowest heartbeat seconds"] = round(max((p.seconds for p in probes), default=0), 3)
    targets["heartbeat: 100% within timeout + margin"] = bool(probes) and len(in_time) == len(
        probes
    )
    answered = sorted(p.seconds for p in probes if p.status is not None)
    if answered:
        figures["heartbeat latency median ms"] = round(statistics.median(answered) * 1000, 1)
        figures["heartbeat latency p99 ms"] = round(
            answered[min(len(answered) - 1, math.ceil(0.99 * len(answered)) - 1)] * 1000, 1
        )

    # Truth: once a phase has settled, a heartbeat says 200 exactly when both are up.
    judged, lies = 0, []
    for probe in probes:
        phase = phase_at(phases, probe.sent)
        if probe.sent < phase.start + TRUTH_GRACE or probe.sent + probe.seconds > phase.end:
            continue
        judged += 1
        healthy_answer = probe.status == 200
        if healthy_answer != phase.healthy:
            lies.append(f"{probe.rid} at {probe.sent:.1f}s in '{phase.name}': {probe.status}")
    figures["heartbeats judged for truth"] = judged
    figures["heartbeats that told the truth"] = judged - len(lies)
    if lies:
        figures["heartbeat lies (first 5)"] = lies[:5]
    targets["heartbeat: told the truth"] = judged > 0 and not lies

    judge_scrapes(phases, scrapes, figures, targets)

    # The log: one valid JSON request.summary line per answered request.
    missing = sorted(rid for rid in answered_ids if log.rids[rid] == 0)
    duplicated = sorted(rid for rid, n in log.rids.items() if n > 1)
    unexpected = sorted(rid for rid in log.rids if rid not in answered_ids and rid not in maybe_ids)
    figures["log lines"] = log.lines
    figures["log lines not JSON (server's own)"] = log.other_lines
    figures["request.summary lines"] = log.summary_lines
    figures["request.summary lines not valid JSON"] = log.invalid_summary_lines
    figures["answered requests without a summary line"] = len(missing)
    figures["summary lines duplicated"] = len(duplicated)
    figures["summary lines for requests never sent"] = len(unexpected)
    if missing:
        figures["missing rids (first 5)"] = missing[:5]
    targets["request.summary: one valid JSON line per request"] = (
        served > 0
        and not missing
        and not duplicated
        and not unexpected
        and log.invalid_summary_lines == 0
    )

    # Database connections.
    connections = [n for _, n in samples.connections]
    bound = connection_bound(kind, workers)
    figures["database connections max"] = max(connections, default=0)
    figures["database connections at end"] = connections[-1] if connections else None
    figures["database connections bound"] = bound
    targets["database connections bounded"] = bool(connections) and max(connections) <= bound

    # Memory: the workers' total RSS after warm-up against the end of the run.
    warm = [sum(r.values()) for t, r in samples.rss if 0.15 * seconds <= t <= 0.3 * seconds]
    end = [sum(r.values()) for t, r in samples.rss if t >= 0.85 * seconds]
    pids_seen = {pid for _, r in samples.rss for pid in r}
    figures["worker processes seen"] = len(pids_seen)
    if warm and end:
        start_rss, end_rss = statistics.median(warm), statistics.median(end)
        allowed = max(start_rss * RSS_GROWTH_FRACTION, RSS_GROWTH_BYTES)
        figures["workers RSS MiB after warm-up"] = round(start_rss / 2**20, 1)
        figures["workers RSS MiB at end"] = round(end_rss / 2**20, 1)
        targets["memory flat"] = end_rss - start_rss <= allowed
    else:
        targets["memory flat"] = False
    targets["no worker restarted"] = len(pids_seen) == workers
    return Result(kind, seconds, figures, targets)


# --- Main ---------------------------------------------------------------------------


def versions() -> dict[str, str]:
    from importlib.metadata import version

    found = {"python": platform.python_version()}
    for name in ("django", "gunicorn", "uvicorn", "psycopg", "redis", "django-redis"):
        with contextlib.suppress(Exception):
            found[name] = version(name)
    wrk = shutil.which("wrk")
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        found["wrk"] = (out.stdout or out.stderr).split("[")[0].strip()
    return found


def report(result: Result) -> None:
    print(f"\n== {result.kind}: {result.seconds:g} s of load")
    for name, value in result.figures.items():
        print(f"  {name:48} {value}")
    for name, ok in result.targets.items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("SOAK_SECONDS", "90")),
        help="seconds of load per server (default: $SOAK_SECONDS or 90)",
    )
    parser.add_argument("--servers", default="gunicorn,uvicorn")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--rollout",
        action="store_true",
        help="instead: rolling deploys behind HAProxy, with and without drain (soak/rollout.py)",
    )
    parser.add_argument(
        "--scenarios",
        default="drain,control,hang",
        help="with --rollout: which of drain, control, hang (default: all three)",
    )
    args = parser.parse_args(argv)
    if not 5 <= args.seconds <= 3600:
        parser.error("--seconds must be from 5 to 3600")
    kinds = [k.strip() for k in args.servers.split(",") if k.strip()]
    if not kinds or set(kinds) - set(WORKERS):
        parser.error(f"--servers: choose from {', '.join(WORKERS)}")
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if not scenarios or set(scenarios) - {"drain", "control", "hang"}:
        parser.error("--scenarios: choose from drain, control, hang")
    found = versions()
    results = []
    if args.rollout:
        from soak import rollout

        found["haproxy"] = rollout.haproxy_version(ensure_tool("haproxy"))
        print("soak: rollout:", json.dumps(found), flush=True)
        results = rollout.main(kinds, scenarios)
    else:
        postgres = os.environ.get("DATABASE_URL") or os.environ.get(
            "POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"
        )
        redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        wrk = ensure_wrk()
        print("soak:", json.dumps(found), flush=True)
        for kind in kinds:
            result = soak_one(kind, args.seconds, wrk, postgres, redis)
            report(result)
            results.append(result)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": time.strftime("%Y-%m-%d"),
                    "versions": found,
                    "results": [
                        {"server": r.kind, "seconds": r.seconds, **r.figures, "targets": r.targets}
                        for r in results
                    ],
                },
                indent=2,
            )
        )
    missed = [f"{r.kind}: {name}" for r in results for name, ok in r.targets.items() if not ok]
    if missed:
        print("\nsoak: MISSED " + "; ".join(missed))
        return 1
    print(f"\nsoak: every target met ({', '.join(kinds)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
