"""Helpers shared by the ``bench/bench_*.py`` scripts.

Every script runs twice, once in our virtualenv and once in one where
``dockerflow`` is Mozilla's package (``bench/run.py`` does both), so this
module imports nothing from ``dockerflow`` at import time and uses only what
both packages provide.
"""

from __future__ import annotations

import gc
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: Bounds of every measurement: at most this many repeats, and stop early once
#: this much time has been spent (the machine is shared; no loop is unbounded).
REPEATS = 7
TIME_BUDGET = 5.0
#: ``DOCKERFLOW_BENCH_QUICK=1``: one tiny round per measurement. The figures
#: mean nothing; the test suite uses it to check that every script still runs.
QUICK = os.environ.get("DOCKERFLOW_BENCH_QUICK") == "1"


def package() -> str:
    """``"ours"`` or ``"mozilla"``: which ``dockerflow`` this interpreter imports.

    ``bench/run.py`` says so through ``DOCKERFLOW_BENCH_PACKAGE``; a script run
    by hand finds out by importing a module only our package has.
    """
    chosen = os.environ.get("DOCKERFLOW_BENCH_PACKAGE")
    if chosen in {"ours", "mozilla"}:
        return chosen
    try:
        import dockerflow.django.conf  # noqa: F401  (only our package has it)
    except ImportError:
        return "mozilla"
    return "ours"


def is_ours() -> bool:
    """Whether ``dockerflow`` is our package (not Mozilla's)."""
    return package() == "ours"


def best_per_op(
    operation: Callable[[], object],
    *,
    number: int,
    repeats: int = REPEATS,
    budget: float = TIME_BUDGET,
    setup: Callable[[], None] | None = None,
) -> float:
    """Best seconds per call of ``operation`` over up to ``repeats`` rounds of ``number`` calls.

    The garbage collector is paused inside a round (as ``timeit`` does); a
    round always completes, and no new round starts once ``budget`` seconds
    have gone by.
    """
    if QUICK:
        number, repeats = max(1, number // 100), 1
    best = float("inf")
    started = time.perf_counter()
    for _ in range(repeats):
        if setup is not None:
            setup()
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            t0 = time.perf_counter()
            for _ in range(number):
                operation()
            elapsed = time.perf_counter() - t0
        finally:
            if gc_was_enabled:
                gc.enable()
        best = min(best, elapsed / number)
        if time.perf_counter() - started > budget:
            break
    return best


def best_interleaved(
    operations: Sequence[Callable[[], object]],
    *,
    number: int,
    repeats: int = REPEATS,
    budget: float = TIME_BUDGET,
) -> list[float]:
    """Like ``best_per_op`` for several operations, alternating them round by round.

    Alternating keeps a burst of noise on a shared machine from landing on
    only one of the numbers that are later subtracted or divided.
    """
    if QUICK:
        repeats = 1
    best = [float("inf")] * len(operations)
    started = time.perf_counter()
    for _ in range(repeats):
        for index, operation in enumerate(operations):
            seconds = best_per_op(operation, number=number, repeats=1, budget=budget)
            best[index] = min(best[index], seconds)
        if time.perf_counter() - started > budget:
            break
    return best


def emit(name: str, seconds: float, target: float | None) -> None:
    """Print one result compared with Mozilla's package (``target``: max ratio ours/mozilla)."""
    print(json.dumps({"name": name, "seconds": seconds, "target": target}), flush=True)


def emit_count(name: str, instructions: float, target: float | None) -> None:
    """Print one instruction count compared with Mozilla's package (not a time)."""
    print(
        json.dumps({"name": name, "instructions": instructions, "target": target}),
        flush=True,
    )


def emit_baseline(
    name: str,
    ours: float,
    baseline: float,
    baseline_name: str,
    target: float | None,
    *,
    margin: float | None = None,
) -> None:
    """Print one result compared with something else than Mozilla's package.

    ``target`` is the largest ratio ours/baseline; ``margin`` instead the most
    seconds ours may take above the baseline. Only printed under our package:
    under Mozilla's the name is skipped.
    """
    if not is_ours():
        return
    line = {
        "name": name,
        "ours": ours,
        "baseline": baseline,
        "baseline_name": baseline_name,
        "target": target,
    }
    if margin is not None:
        line["margin"] = margin
    print(json.dumps(line), flush=True)


class FormatOnlyHandler(logging.Handler):
    """Formats every record, as a real handler would, then drops the text.

    Benchmarks keep the formatter's cost without measuring a terminal or a
    file; the last output is kept so a script can check it is MozLog.
    """

    last: str = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.last = self.format(record)


def mozlog_handler(logger_name: str = "bench") -> FormatOnlyHandler:
    """A ``FormatOnlyHandler`` with the installed package's MozLog formatter.

    ``MozlogFormatter`` is the name both packages provide without a
    deprecation warning.
    """
    from dockerflow.logging import MozlogFormatter

    handler = FormatOnlyHandler()
    handler.setFormatter(MozlogFormatter(logger_name=logger_name))
    return handler


def wsgi_environ(path: str, method: str = "GET", **headers: str) -> dict[str, Any]:
    """A fresh minimal WSGI environ for ``path`` (a new input stream each call)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "HTTP_USER_AGENT": "dockerflow-bench/1",
        "HTTP_ACCEPT_LANGUAGE": "en",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    """A WSGI ``start_response`` that discards the status line."""
    return


def case_in_child(script: Path, case: str) -> dict[str, Any]:
    """Run ``script --case CASE`` in a fresh interpreter; return the JSON object it prints last.

    Each case gets its own process, so the Django settings of one cannot leak
    into the next.
    """
    result = subprocess.run(
        [sys.executable, str(script), "--case", case],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(script.parent)},
        cwd=tempfile.gettempdir(),
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{result.stdout}{result.stderr}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures
