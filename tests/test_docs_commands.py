"""Every shell command on the deployment pages is run, against a real server.

deployment.rst, lifecycle.rst and command.rst show commands to copy into a
terminal, a Dockerfile, a Compose file, a Kubernetes manifest, an ECS task or a
CI job (``tests/docs_commands.py`` finds them). Each one has an entry here that
says how it runs and what it must do: its exit status, the server it talks to
(a healthy gunicorn, or one whose heartbeat fails), and, when the page shows
its output, that output (timings masked). A command that starts a server must
answer on ``$PORT`` and stop cleanly on SIGTERM. A probe string meant for a
container health check is also run while the instance drains, where it must
keep passing. Commands that cannot run here (``docker build``, ``aws``,
``pip install`` from the index, a Celery worker of a project that has none)
are listed with the reason.

The table covers the pages exactly: a command added to a page without an entry
fails, and so does an entry whose command left the pages.

The commands run as written, in a copy of testproject standing for the image,
with these substitutions (the pages use a project called ``myproject`` on port
8000): ``myproject`` and the entrypoint's ``app`` become ``testproject``,
``127.0.0.1:8000`` the test server's port and ``8001`` a port that refuses,
``0.0.0.0`` becomes ``127.0.0.1`` (only loopback here), ``/tmp/dockerflow-drain``
a temporary file, and ``sleep 15`` in a preStop hook ``sleep 0`` (the rollout
test measures the waiting).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from .docs_commands import HttpProbe, Shown, commands_by_block, console_commands, probes_of
from .rst_source import DOCS, Directive
from .servers import BIN, TESTPROJECT, Server, free_port, http, running_server

pytestmark = pytest.mark.e2e

PAGES = ("deployment.rst", "lifecycle.rst", "command.rst")
#: Seconds a command may take; a server it starts gets START_TIMEOUT to answer.
COMMAND_TIMEOUT = 60.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
#: DRAIN_SECONDS for the documented entrypoint script: long enough for its
#: ``manage.py dockerflow_drain`` (a whole Django start-up) to finish inside the
#: window on a loaded 2-core machine, where 2 s was seen to be too short.
ENTRYPOINT_DRAIN_SECONDS = 5
COMMIT = "0123456789abcdef0123456789abcdef01234567"
CHECKS_WITH_REDIS = ",".join(
    f"dockerflow.django.checks.{name}"
    for name in ("check_database_connected", "check_migrations_applied", "check_redis_connected")
)
CI_MARKERS = ("GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI")
GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "example/app",
    "GITHUB_SHA": COMMIT,
    "GITHUB_RUN_ID": "42",
    "GITHUB_REF_TYPE": "tag",
    "GITHUB_REF_NAME": "v1.2.3",
}
GITLAB = {
    "GITLAB_CI": "true",
    "CI_PROJECT_URL": "https://gitlab.com/example/app",
    "CI_COMMIT_SHA": COMMIT,
    "CI_JOB_URL": "https://gitlab.com/example/app/-/jobs/42",
}
CIRCLECI = {
    "CIRCLECI": "true",
    "CIRCLE_REPOSITORY_URL": "git@github.com:example/app.git",
    "CIRCLE_SHA1": COMMIT,
    "CIRCLE_BUILD_URL": "https://circleci.com/gh/example/app/42",
}
BUILD_ARGS = {
    "SOURCE_URL": "https://github.com/example/app",
    "VERSION": "",
    "COMMIT": COMMIT,
    "BUILD_URL": "https://ci.example.com/42",
}


@dataclass(frozen=True)
class Run:
    """How one shown command runs here, and what it must do."""

    #: Exit status.
    expect: int = 0
    #: The server that 127.0.0.1:8000 and $PORT stand for: healthy, or one whose
    #: heartbeat fails; None for none.
    server: Literal["healthy", "failing"] | None = None
    #: DATABASE_URL: migrated SQLite, a port that refuses, or a migration not applied.
    database: Literal["migrated", "refused", "unapplied"] = "migrated"
    #: Working directory: the copy of the project (the image), or an empty CI workspace.
    cwd: Literal["app", "workspace"] = "app"
    env: Mapping[str, str] = field(default_factory=dict)
    #: Substitutions for this command only ("{workspace}" is filled in).
    replace: Mapping[str, str] = field(default_factory=dict)
    #: The command starts a server on $PORT: wait for it, then SIGTERM it.
    serves: bool = False
    #: The command is the entrypoint that drains on SIGTERM.
    entrypoint: bool = False
    #: Also run while the server drains, with this exit status.
    drained: int | None = None
    #: /__lbheartbeat__'s status on the server after the command.
    then_lb: int | None = None
    #: An environment variable naming a service the command needs.
    needs: str | None = None


VERSION_PROBE = Run(server="healthy", drained=0)

#: Every command of the pages, by key (see docs_commands.Shown.key).
RUNS: dict[str, Run] = {
    # deployment.rst
    "gunicorn myproject.wsgi:application --workers 4": Run(serves=True),
    'uvicorn myproject.asgi:application --host 0.0.0.0 --port "$PORT" --workers 4 '
    "--no-access-log": Run(serves=True),
    "DJANGO_SETTINGS_MODULE=myproject.settings python manage.py collectstatic --noinput": Run(),
    '["dockerflow-probe", "/__version__", "--timeout", "4"]': (VERSION_PROBE),
    '["gunicorn", "myproject.wsgi:application", "--workers", "4"]': Run(serves=True),
    'exec uvicorn myproject.asgi:application --host 0.0.0.0 --port "$PORT" --workers 4 '
    "--no-access-log": Run(serves=True),
    # Without drain mode only: while draining it fails, as the page warns.
    '["dockerflow-probe", "http://127.0.0.1:8000/__heartbeat__", "--timeout", "8"]': Run(
        server="healthy", drained=1
    ),
    '["python", "manage.py", "dockerflow_heartbeat", "--timeout", "10"]': Run(),
    "python manage.py dockerflow_heartbeat --check check_database_connected "
    "--check check_redis_connected": Run(
        env={"DOCKERFLOW_CHECKS": CHECKS_WITH_REDIS}, needs="REDIS_URL"
    ),
    '["python", "manage.py", "dockerflow_heartbeat", "--check", "check_database_connected", '
    '"--timeout", "10"]': Run(),
    # lifecycle.rst
    "python manage.py dockerflow_drain": Run(server="healthy", then_lb=503),
    "python manage.py dockerflow_drain --undo": Run(server="healthy", then_lb=200),
    '["sh", "-c", "touch /tmp/dockerflow-drain && sleep 15"]': Run(server="healthy", then_lb=503),
    "#!/bin/sh\n# docker-entrypoint.sh": Run(serves=True, entrypoint=True),
    "dockerflow-version write version.json": Run(cwd="workspace"),
    "dockerflow-version check version.json": Run(cwd="workspace"),
    'dockerflow-version write /version.json --source "$SOURCE_URL" '
    '--version "$VERSION" --commit "$COMMIT" --build "$BUILD_URL"': Run(
        cwd="workspace",
        env=BUILD_ARGS,
        replace={" /version.json": " {workspace}/version.json"},
    ),
    "dockerflow-version check /app/version.json": Run(
        cwd="workspace", replace={"/app/version.json": "{workspace}/version.json"}
    ),
    # command.rst
    "python manage.py dockerflow_heartbeat": Run(),
    "python manage.py dockerflow_heartbeat --check check_database_connected": Run(
        expect=1, database="refused"
    ),
    "python manage.py dockerflow_heartbeat --format json": Run(database="unapplied"),
    "python manage.py dockerflow_heartbeat --url http://127.0.0.1:8000/__heartbeat__": Run(
        server="healthy"
    ),
    "dockerflow-probe": Run(server="healthy"),
    "dockerflow-probe http://127.0.0.1:8000/__heartbeat__ --timeout 6": Run(
        expect=1, server="failing"
    ),
    "dockerflow-probe http://127.0.0.1:8001/": Run(expect=1),
}

#: Commands that cannot run here: (pattern of the key, why).
NOT_RUN: tuple[tuple[str, str], ...] = (
    (r"^pip install", "installs from the package index"),
    (r"^(groupadd|useradd) ", "creates system users; the image build does it"),
    (r"^docker build", "needs a Docker engine"),
    (r"^aws ", "needs an AWS account; the command it runs is `python manage.py dockerflow_drain`"),
    (r'^\["celery"', "testproject has no Celery app"),
)

#: The CI environment of each CI block (by the page line of its first command).
CI_BLOCK_ENV = {"GitHub Actions": GITHUB, "GitLab CI": GITLAB, "CircleCI": CIRCLECI}


def run_for(shown: Shown) -> Run | str:
    """The entry for a command: a Run, or the reason it is not run."""
    key = shown.key
    if shown.form == "script":
        matches = [run for marker, run in RUNS.items() if key.startswith(marker)]
        if len(matches) == 1:
            return matches[0]
    elif key in RUNS:
        return RUNS[key]
    for pattern, reason in NOT_RUN:
        if re.search(pattern, key):
            return reason
    raise LookupError(f"{shown.where}: no entry in RUNS or NOT_RUN for {shown.key!r}")


BLOCKS: list[tuple[Directive, list[Shown]]] = [
    entry for page in PAGES for entry in commands_by_block(DOCS / page)
]


def block_id(entry: tuple[Directive, list[Shown]]) -> str:
    return entry[0].where


# --- The table matches the pages -------------------------------------------------


def test_the_reader_finds_the_commands() -> None:
    """A reader that found nothing would make the tests below pass vacuously."""
    forms = {shown.form for _, commands in BLOCKS for shown in commands}
    assert forms == {"shell", "exec", "script"}
    assert sum(len(commands) for _, commands in BLOCKS) >= 40


def test_every_command_has_an_entry() -> None:
    missing = []
    for _, commands in BLOCKS:
        for shown in commands:
            try:
                run_for(shown)
            except LookupError as exc:
                missing.append(str(exc))
    assert not missing, "\n".join(missing)


def test_every_entry_is_on_a_page() -> None:
    keys = {shown.key for _, commands in BLOCKS for shown in commands}

    def shown(entry: str) -> bool:
        # A script's entry is its first lines.
        return entry in keys or ("\n" in entry and any(key.startswith(entry) for key in keys))

    stale = [entry for entry in RUNS if not shown(entry)]
    assert not stale, f"RUNS entries for commands no page shows: {stale}"


def test_console_reader() -> None:
    lines = ["$ a \\", "    --b", "out 1", "", "$ c", "err", "$ echo $?", "1"]
    block = Directive(DOCS / "x.rst", 1, "code-block", "console", {}, lines)
    found = console_commands(block)
    assert [(s.command, s.output, s.status) for s in found] == [
        ("a --b", ("out 1",), None),
        ("c", ("err",), 1),
    ]


# --- What runs them ---------------------------------------------------------------


@dataclass
class Here:
    """The machine the commands run on: the image, its database, its servers."""

    root: Path
    app: Path
    drain_file: Path
    refused_port: int
    databases: dict[str, str]
    stack: contextlib.ExitStack
    servers: dict[str, Server] = field(default_factory=dict)

    def server(self, name: str) -> Server:
        if name not in self.servers:
            env = {
                "DOCKERFLOW_DRAIN_FILE": str(self.drain_file),
                "DATABASE_URL": self.databases["migrated"],
            }
            if name == "failing":
                # A heartbeat that checks a Redis nobody answers on: 500.
                env["DOCKERFLOW_CHECKS"] = "dockerflow.django.checks.check_redis_connected"
                env["REDIS_URL"] = f"redis://127.0.0.1:{self.refused_port}/0"
            self.servers[name] = self.stack.enter_context(running_server("gunicorn", env=env))
        return self.servers[name]

    def substitutions(self, port: int) -> list[tuple[str, str]]:
        """(as the page writes it, as it runs here), longest first."""
        pairs = [
            *self.names(port),
            ("myproject", "testproject"),
            ("app.wsgi:application", "testproject.wsgi:application"),
            ("0.0.0.0", "127.0.0.1"),
            ("sleep 15", "sleep 0"),
            # Two cores here; four workers each would only make the test slower.
            ("--workers 4", "--workers 2"),
            ('"--workers", "4"', '"--workers", "2"'),
        ]
        return sorted(pairs, key=lambda pair: -len(pair[0]))

    def names(self, port: int) -> list[tuple[str, str]]:
        """The substitutions that output shows too, so they are undone to compare it."""
        return [
            ("127.0.0.1 port 8001", f"127.0.0.1 port {self.refused_port}"),
            ('"127.0.0.1", port 8001', f'"127.0.0.1", port {self.refused_port}'),
            ("127.0.0.1:8001", f"127.0.0.1:{self.refused_port}"),
            ("127.0.0.1:8000", f"127.0.0.1:{port}"),
            ("/tmp/dockerflow-drain", str(self.drain_file)),
        ]


def copy_project(target: Path) -> Path:
    """testproject as an image holds it: sources and version.json, nothing generated."""
    shutil.copytree(
        TESTPROJECT,
        target,
        ignore=shutil.ignore_patterns("staticfiles", "*.sqlite3", "__pycache__"),
    )
    # WhiteNoise warns on every start when STATIC_ROOT does not exist yet.
    (target / "staticfiles").mkdir()
    return target


def manage(app: Path, database_url: str, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args, "--verbosity", "0"],
        cwd=app,
        env={**base_env(), "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def base_env() -> dict[str, str]:
    """The container's environment: this virtualenv first on PATH, no test settings, no CI."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", *CI_MARKERS}
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="module")
def here(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Here]:
    root = tmp_path_factory.mktemp("docs-commands")
    app = copy_project(root / "app")
    databases = {
        "migrated": f"sqlite:///{root / 'migrated.sqlite3'}",
        "unapplied": f"sqlite:///{root / 'unapplied.sqlite3'}",
    }
    manage(app, databases["migrated"], "migrate", "--noinput")
    manage(app, databases["unapplied"], "migrate", "--noinput")
    manage(app, databases["unapplied"], "migrate", "sessions", "zero", "--noinput")
    # Bound and never listening: every connection to it is refused.
    refusing = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    refusing.bind(("127.0.0.1", 0))
    refused_port = int(refusing.getsockname()[1])
    databases["refused"] = f"postgres://postgres@127.0.0.1:{refused_port}/app"
    with refusing, contextlib.ExitStack() as stack:
        yield Here(root, app, root / "dockerflow-drain", refused_port, databases, stack)


def substitute(text: str, pairs: list[tuple[str, str]]) -> str:
    for shown, real in pairs:
        text = text.replace(shown, real)
    return text


def mask(line: str, pairs: list[tuple[str, str]]) -> str:
    """A line of real output as the page would write it: its names, numbers masked."""
    for shown, real in pairs:
        line = line.replace(real, shown)
    line = re.sub(r"\b\d+(?:\.\d+)? ms\b", "N ms", line)
    return " ".join(line.split())


_MIGRATION = re.compile(r"\b\w+\.\d{4}_\w+\b")


def same_shape(shown: Any, real: Any, key: str = "") -> bool:
    """JSON the page shows against JSON printed here: same keys and values, except
    the names of the migrations in messages (the page's project is not testproject)."""
    if isinstance(shown, dict):
        return (
            isinstance(real, dict)
            and shown.keys() == real.keys()
            and all(same_shape(shown[k], real[k], k) for k in shown)
        )
    if isinstance(shown, str) and isinstance(real, str):
        return _MIGRATION.sub("APP.MIGRATION", shown) == _MIGRATION.sub("APP.MIGRATION", real)
    return bool(shown == real)


def matches(shown_line: str, real_line: str) -> bool:
    if shown_line.startswith("{"):
        try:
            return same_shape(json.loads(shown_line), json.loads(real_line))
        except ValueError:
            return False
    # The real line may say more after what the page shows (a longer reason).
    return real_line.startswith(shown_line)


def assert_output(shown: Shown, output: str, pairs: list[tuple[str, str]]) -> None:
    """Every line the page shows appears in the real output, in order."""
    real = [mask(line, pairs) for line in output.splitlines()]
    position = 0
    for line in shown.output:
        expected = mask(line, [])
        for index in range(position, len(real)):
            if matches(expected, real[index]):
                position = index + 1
                break
        else:
            pytest.fail(
                f"{shown.where}: the page shows {line!r} after `{shown.key}`; "
                f"the real output was:\n{output}"
            )


@dataclass
class Started:
    process: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT)


def start(
    shown: Shown, command: str | tuple[str, ...], env: dict[str, str], cwd: Path, log: Path
) -> Started:
    if isinstance(command, tuple):
        argv = list(command)
    elif shown.language == "console":
        # Typed in a terminal, the server is the foreground process that gets the
        # signal; `sh -c` would not pass SIGTERM on. (Docker's shell form has no
        # such help: its page example says `exec` itself.)
        argv = ["sh", "-c", f"exec {command}"]
    else:
        argv = ["sh", "-c", command]
    with log.open("w") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    return Started(process, log)


def wait_until_serving(started: Started, port: int, where: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if started.process.poll() is not None:
            pytest.fail(f"{where}: exited with {started.process.returncode}:\n{started.output()}")
        with contextlib.suppress(OSError):
            if http(f"http://127.0.0.1:{port}/__lbheartbeat__", timeout=1).status == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"{where}: nothing answered on port {port} in {START_TIMEOUT:g} s")


def check_server(shown: Shown, run: Run, started: Started, port: int, here: Here) -> None:
    """A server command: it answers on $PORT, logs no access line, stops on SIGTERM."""
    try:
        wait_until_serving(started, port, shown.where)
        assert http(f"http://127.0.0.1:{port}/__version__").status == 200
        if run.entrypoint:
            check_entrypoint_drains(shown, started, port, here)
        else:
            started.process.send_signal(signal.SIGTERM)
            started.process.wait(timeout=STOP_TIMEOUT)
        assert started.process.returncode == 0, (
            f"{shown.where}: exited with {started.process.returncode} after SIGTERM:\n"
            f"{started.output()}"
        )
        access_lines = [
            line for line in started.output().splitlines() if '"GET /__version__' in line
        ]
        assert not access_lines, f"{shown.where}: the server logs an access line per request"
    finally:
        started.stop_group()


def check_entrypoint_drains(shown: Shown, started: Started, port: int, here: Here) -> None:
    """SIGTERM to the script: it drains, keeps serving, waits DRAIN_SECONDS, then stops."""
    signalled = time.monotonic()
    started.process.send_signal(signal.SIGTERM)
    lb, page = 0, 0
    deadline = signalled + ENTRYPOINT_DRAIN_SECONDS - 0.5
    while time.monotonic() < deadline and (lb != 503 or page != 200):
        with contextlib.suppress(OSError):
            lb = http(f"http://127.0.0.1:{port}/__lbheartbeat__", timeout=1).status
            page = http(f"http://127.0.0.1:{port}/", timeout=1).status
        time.sleep(0.05)
    assert (lb, page) == (503, 200), f"{shown.where}: while draining: {lb}, {page}"
    started.process.wait(timeout=ENTRYPOINT_DRAIN_SECONDS + STOP_TIMEOUT)
    assert time.monotonic() - signalled >= ENTRYPOINT_DRAIN_SECONDS
    assert here.drain_file.exists()


def run_command(
    shown: Shown, command: str | tuple[str, ...], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    argv = list(command) if isinstance(command, tuple) else ["sh", "-c", command]
    return subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def ci_env(block: Directive) -> dict[str, str]:
    """The CI variables of the CI job a block shows (from the heading above it)."""
    text = block.path.read_text(encoding="utf-8").splitlines()[: block.line]
    headings = [
        line for index, line in enumerate(text[:-1]) if set(text[index + 1]) == {"~"} and line
    ]
    return CI_BLOCK_ENV.get(headings[-1], {}) if headings else {}


@pytest.mark.parametrize(("block", "commands"), BLOCKS, ids=[block_id(b) for b in BLOCKS])
def test_shown_commands_run(
    block: Directive, commands: list[Shown], here: Here, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    ran = 0
    try:
        for shown in commands:
            run = run_for(shown)
            if isinstance(run, str):
                continue
            if run.needs and not os.environ.get(run.needs):
                pytest.skip(f"{shown.where} needs {run.needs} (.ci/run sets it)")
            run_one(block, shown, run, here, workspace, tmp_path)
            ran += 1
    finally:
        here.drain_file.unlink(missing_ok=True)
    if not ran:
        pytest.skip("no command of this block can run here (see NOT_RUN)")


def run_one(
    block: Directive, shown: Shown, run: Run, here: Here, workspace: Path, tmp_path: Path
) -> None:
    server = here.server(run.server) if run.server else None
    port = server.port if server else free_port()
    pairs = [
        (shown_text, real.format(workspace=workspace)) for shown_text, real in run.replace.items()
    ] + here.substitutions(port)
    # The exec form is substituted as the page writes it, a JSON list.
    command: str | tuple[str, ...] = (
        tuple(json.loads(substitute(shown.key, pairs)))
        if isinstance(shown.command, tuple)
        else substitute(shown.command, pairs)
    )
    env = base_env()
    env.update(
        PORT=str(port),
        DATABASE_URL=here.databases[run.database],
        DOCKERFLOW_DRAIN_FILE=str(here.drain_file),
        # Narrows gunicorn's default 0.0.0.0:$PORT to loopback; uvicorn ignores it.
        GUNICORN_CMD_ARGS=f"--bind 127.0.0.1:{port}",
        DRAIN_SECONDS=str(ENTRYPOINT_DRAIN_SECONDS),
    )
    env.update(ci_env(block))
    env.update(run.env)
    cwd = workspace if run.cwd == "workspace" else here.app

    if run.serves:
        started = start(shown, command, env, cwd, tmp_path / "server.log")
        check_server(shown, run, started, port, here)
        return

    result = run_command(shown, command, env, cwd)
    expect = shown.status if shown.status is not None else run.expect
    assert result.returncode == expect, (
        f"{shown.where}: `{shown.key}` exited {result.returncode}, expected {expect}:\n"
        f"{result.stdout}"
    )
    assert_output(shown, result.stdout, here.names(port))
    if run.then_lb is not None:
        assert server is not None
        assert http(server.url + "/__lbheartbeat__").status == run.then_lb, shown.where
    if run.drained is not None:
        assert server is not None
        here.drain_file.touch()
        try:
            assert http(server.url + "/__lbheartbeat__").status == 503
            drained = run_command(shown, command, env, cwd)
        finally:
            here.drain_file.unlink()
        assert drained.returncode == run.drained, (
            f"{shown.where}: while the instance drains `{shown.key}` exited "
            f"{drained.returncode}, expected {run.drained}:\n{drained.stdout}"
        )


# --- Kubernetes httpGet probes -----------------------------------------------------

PROBES: list[HttpProbe] = [probe for page in PAGES for probe in probes_of(DOCS / page)]


def test_the_reader_finds_the_probes() -> None:
    assert {probe.probe for probe in PROBES} == {"startupProbe", "livenessProbe", "readinessProbe"}


@pytest.mark.parametrize("probe", PROBES, ids=lambda probe: probe.where)
def test_kubernetes_probe_paths(probe: HttpProbe, here: Here) -> None:
    """Each path answers 200; while draining, readiness fails and nothing that restarts does."""
    server = here.server("healthy")
    assert http(server.url + probe.path).status == 200
    here.drain_file.touch()
    try:
        status = http(server.url + probe.path).status
    finally:
        here.drain_file.unlink()
    if probe.probe == "readinessProbe":
        assert status == 503, f"{probe.where}: readiness must fail while the pod drains"
    else:
        assert status == 200, f"{probe.where}: a {probe.probe} must not fail while the pod drains"
