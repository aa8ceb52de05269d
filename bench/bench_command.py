"""Whole-process wall time of the HEALTHCHECK commands, against their usual alternatives.

Every figure is one complete process, start-up and exit included, which is
what a container HEALTHCHECK or an exec probe pays every few seconds. Each
pair is alternated round by round and the best round kept.

- ``command.in_process.50_models`` and ``command.in_process.200_models``:
  ``manage.py dockerflow_heartbeat`` against Django's own ``manage.py version``
  on the same project (``bench/command_project/``: Django's ``startproject``
  apps, both health apps, and an app of 50 or 200 models registered in the
  admin). ``version`` does nothing after Django's start-up, so the difference
  is what our command costs: its imports, the default checks (database and
  migrations, about 7 ms on that project's SQLite file) and its output.
  Target: at most 15 ms above.
- ``command.vs_health_check.50_models`` and ``.200_models`` (no target): the
  same command against django-health-check's
  ``manage.py health_check health_check --no-http``, one database check on the
  same SQLite file. Both pay the same Python and Django start-up; ours then
  skips Django's system checks and the URLconf import, whose cost grows with
  the project.
- ``probe.vs_curl``: ``python -m dockerflow.probe URL`` against
  ``curl -sf -o /dev/null URL``, both asking ``/__lbheartbeat__`` of testproject
  under gunicorn. Ours runs in a plain virtualenv holding only the installed
  ``dockerflow`` package with its bytecode, as in a slim image (the project's
  own ``.venv`` has an editable install whose import hook costs every Python
  process about 10 ms; ``probe.vs_curl.dev_venv`` shows that figure, without
  a target). Target: at most 5x.

Both compare with something else than Mozilla's package, so under Mozilla's
package this script prints nothing.

Run: ``python bench/bench_command.py`` (prints JSON lines), or ``make bench``.
"""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import benchlib

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROJECT = BENCH / "command_project"
#: Rounds: whole processes are slow and noisy, so more rounds than in-process figures.
COMMAND_REPEATS = 30
PROBE_REPEATS = 30
BUDGET = 90.0
PROCESS_TIMEOUT = 60
#: Sizes of the benchmark project (models in its admin).
MODEL_COUNTS = (50, 200)


def runner(args: list[str], *, cwd: Path, env: dict[str, str]) -> Callable[[], object]:
    """A zero-argument callable that runs ``args`` once and insists on exit 0.

    ``Popen.wait(timeout=...)`` (and so ``subprocess.run(timeout=...)`` without
    pipes) polls with sleeps that grow to 50 ms, which rounds a process's time up
    to the next poll: a 40 ms process measured 63.5 ms, a 420 ms one 466 ms. A
    blocking ``wait()`` returns when the process exits; a timer kills one that
    hangs.
    """

    def run_once() -> object:
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        watchdog = threading.Timer(PROCESS_TIMEOUT, process.kill)
        watchdog.start()
        try:
            returncode = process.wait()
        finally:
            watchdog.cancel()
        if returncode != 0:
            raise subprocess.CalledProcessError(returncode, args)
        return returncode

    return run_once


def check_runs(args: list[str], *, cwd: Path, env: dict[str, str]) -> None:
    """Run once, loudly: a benchmark of a failing command would measure nothing."""
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=PROCESS_TIMEOUT
    )
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        )


def time_commands(
    commands: list[list[str]], *, cwd: Path, env: dict[str, str], repeats: int
) -> list[float]:
    """Check each command runs, then the best wall time of each, alternated round by round."""
    for args in commands:
        check_runs(args, cwd=cwd, env=env)
    return benchlib.best_interleaved(
        [runner(args, cwd=cwd, env=env) for args in commands],
        number=1,
        repeats=repeats,
        budget=BUDGET,
    )


def package_dir() -> Path:
    import dockerflow

    return Path(dockerflow.__file__).resolve().parent


def precompile(*directories: Path) -> None:
    """Write bytecode, as pip does on install (the harness sets PYTHONDONTWRITEBYTECODE)."""
    for directory in directories:
        compileall.compile_dir(str(directory), quiet=1)


def bench_in_process_command(models: int) -> None:
    with tempfile.TemporaryDirectory(prefix="dockerflow-bench-command-") as workdir:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "settings",
            "BENCH_DATABASE": str(Path(workdir) / "db.sqlite3"),
            "BENCH_MODELS": str(models),
        }
        env.pop("PYTHONPATH", None)
        precompile(package_dir(), PROJECT)
        manage = [sys.executable, "manage.py"]
        check_runs([*manage, "migrate", "--run-syncdb", "--verbosity", "0"], cwd=PROJECT, env=env)
        ours = [*manage, "dockerflow_heartbeat"]
        theirs = [*manage, "health_check", "health_check", "--no-http"]
        # Django's own command that does nothing after start-up: the least any
        # manage.py command can cost on this project.
        floor = [*manage, "version"]
        ours_s, theirs_s, floor_s = time_commands(
            [ours, theirs, floor], cwd=PROJECT, env=env, repeats=COMMAND_REPEATS
        )
    benchlib.emit_baseline(
        f"command.in_process.{models}_models",
        ours_s,
        floor_s,
        "manage.py version",
        None,
        margin=0.015,
    )
    benchlib.emit_baseline(
        f"command.vs_health_check.{models}_models", ours_s, theirs_s, "health_check --no-http", None
    )


def slim_virtualenv(directory: Path) -> Path:
    """A virtualenv with nothing but the ``dockerflow`` package (compiled); its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(directory)],
        check=True,
        timeout=PROCESS_TIMEOUT,
    )
    python = directory / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=PROCESS_TIMEOUT,
    ).stdout.strip()
    target = Path(purelib) / "dockerflow"
    shutil.copytree(package_dir(), target, ignore=shutil.ignore_patterns("__pycache__"))
    precompile(target)
    return python


def bench_probe_against_curl() -> None:
    curl = shutil.which("curl")
    if curl is None:
        print("curl is not installed: probe.vs_curl skipped", file=sys.stderr)
        return
    # The end-to-end server helper of the test suite: starts testproject on a
    # free loopback port and stops it by PID.
    sys.path.insert(0, str(ROOT))
    from tests.servers import running_server

    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    with tempfile.TemporaryDirectory(prefix="dockerflow-bench-probe-") as workdir:
        slim_python = slim_virtualenv(Path(workdir) / "venv")
        precompile(package_dir())
        with running_server("gunicorn") as server:
            url = server.url + "/__lbheartbeat__"
            ours = [str(slim_python), "-m", "dockerflow.probe", url]
            dev = [sys.executable, "-m", "dockerflow.probe", url]
            baseline = [curl, "-sf", "-o", "/dev/null", "--max-time", "10", url]
            cwd = Path(workdir)  # never the repository: the slim venv's package only
            ours_s, dev_s, curl_s = time_commands(
                [ours, dev, baseline], cwd=cwd, env=env, repeats=PROBE_REPEATS
            )
    benchlib.emit_baseline("probe.vs_curl", ours_s, curl_s, "curl", 5.0)
    benchlib.emit_baseline("probe.vs_curl.dev_venv", dev_s, curl_s, "curl", None)


def main() -> None:
    if not benchlib.is_ours():
        return  # nothing here compares with Mozilla's package
    for models in MODEL_COUNTS:
        bench_in_process_command(models)
    bench_probe_against_curl()


if __name__ == "__main__":
    main()
