"""CPU instructions the middleware adds to a request, counted by callgrind.

Wall time on a shared machine moves by 10% or more from one run to the next;
the number of instructions a request executes does not (the same build,
inputs and hash seed give the same count within a fraction of a percent,
whatever else the machine is doing). So this script counts them for the
workload of ``bench_middleware.py``: a trivial view served through Django's
``WSGIHandler``, the ``request.summary`` logger formatting every record.

- ``middleware.overhead.instructions``: instructions per request with
  ``DockerflowMiddleware`` minus without it. Each side is two processes under
  ``valgrind --tool=callgrind`` serving a short and a long run of requests
  after the same warm-up; their difference divided by the difference in
  requests cancels start-up and warm-up. No target: the issue's target is in
  time (``middleware.overhead``); this row says whether a change made the path
  cheaper, and by how much, without the noise.

Prints nothing (and says why on stderr) when valgrind is not installed.

Run: ``python bench/bench_instructions.py`` (prints JSON lines), or
``make bench BENCH_ARGS="instructions"``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import benchlib

HERE = Path(__file__).resolve()
#: Requests served by the short and the long run, after WARM_UP requests.
SHORT, LONG = (5, 25) if benchlib.QUICK else (300, 1500)
WARM_UP = 5 if benchlib.QUICK else 200
PROCESS_TIMEOUT = 300
_COLLECTED = re.compile(r"Collected : (\d+)")


def drive(mode: str, requests: int) -> None:
    """Serve WARM_UP + ``requests`` requests, with the middleware or without."""
    import bench_middleware

    bench_middleware.configure()
    middleware = [bench_middleware.MIDDLEWARE] if mode == "with" else []
    serve = bench_middleware.requester(bench_middleware.wsgi_handler(middleware), "/")
    for _ in range(WARM_UP + requests):
        if serve() != 200:
            raise SystemExit("the benchmark request failed")


def start_counting(valgrind: str, mode: str, requests: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    command = [
        valgrind,
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(HERE),
        "--drive",
        mode,
        str(requests),
    ]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def collected(process: subprocess.Popen[str]) -> int:
    """The instruction count callgrind reports for a finished process."""
    _, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
    found = _COLLECTED.search(stderr)
    if process.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run failed ({process.returncode}):\n{stderr[-2000:]}")
    return int(found.group(1))


def per_request(valgrind: str, mode: str) -> float:
    # The short and the long run at once: the machine has two cores.
    short = start_counting(valgrind, mode, SHORT)
    long = start_counting(valgrind, mode, LONG)
    return (collected(long) - collected(short)) / (LONG - SHORT)


def main() -> None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not installed: instruction counts skipped", file=sys.stderr)
        return
    overhead = per_request(valgrind, "with") - per_request(valgrind, "without")
    benchlib.emit_count("middleware.overhead.instructions", overhead, None)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--drive"]:
        drive(sys.argv[2], int(sys.argv[3]))
    else:
        main()
