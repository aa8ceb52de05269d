"""``make bench``: every ``bench/bench_*.py`` against our package and Mozilla's, in one run.

Our package runs in this project's virtualenv (``sys.executable``). Mozilla's
``dockerflow`` is installed from the package index into ``bench/.venv-mozilla``
(created on first use, reused while its requirements are unchanged) with the
same Django and django-health-check versions as ours, plus whatever
``bench/requirements.txt`` lists. Each script runs once per interpreter, both
runs of a script back to back, so the ratios compare like with like on a
noisy machine; only same-run ratios mean anything.

Usage::

    python bench/run.py [NAME_FILTER ...] [--rounds N] [--strict]

A filter keeps the scripts whose file name contains it. The table goes to
stdout, the figures to ``bench/results.json`` for the docs. Exit status: 0,
or 1 when a script fails (or, with ``--strict``, when a target is missed).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
MOZILLA_VENV = BENCH / ".venv-mozilla"
MOZILLA_REQUIREMENT = "dockerflow==2026.3.4"
#: Packages both interpreters must have at the same version as ours.
SHARED = ("Django", "django-health-check")
EXTRA_REQUIREMENTS = BENCH / "requirements.txt"
RESULTS = BENCH / "results.json"
#: No script may run longer than this (each measurement is bounded too).
SCRIPT_TIMEOUT = 600


@dataclass
class Row:
    """One line of the table."""

    name: str
    ours: float | None
    other: float | None
    other_name: str
    target: float | None
    ratio: float | None
    verdict: str
    #: "s" (seconds) or "instructions" (CPU instructions counted by callgrind).
    unit: str = "s"
    #: A target in seconds above the baseline, instead of a ratio.
    margin: float | None = None


def read_extra_requirements() -> list[str]:
    """Names from ``bench/requirements.txt`` (one per line, ``#`` comments)."""
    if not EXTRA_REQUIREMENTS.exists():
        return []
    names = []
    for line in EXTRA_REQUIREMENTS.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    return names


def pinned(name: str) -> str:
    """``name==<the version in our virtualenv>``, or just ``name`` when ours lacks it."""
    try:
        return f"{name}=={importlib.metadata.version(name)}"
    except importlib.metadata.PackageNotFoundError:
        return name


def mozilla_requirements() -> list[str]:
    """What ``bench/.venv-mozilla`` must hold."""
    return [MOZILLA_REQUIREMENT, *(pinned(name) for name in (*SHARED, *read_extra_requirements()))]


def mozilla_python() -> Path:
    """Create or update ``bench/.venv-mozilla``; return its interpreter."""
    python = MOZILLA_VENV / "bin" / "python"
    requirements = mozilla_requirements()
    fingerprint = hashlib.sha256(
        "\n".join([platform.python_version(), *requirements]).encode()
    ).hexdigest()
    stamp = MOZILLA_VENV / ".bench-requirements"
    if python.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return python
    if not python.exists() or _python_version(python) != platform.python_version():
        # Same interpreter version as ours, or the comparison is meaningless.
        print(f"creating {MOZILLA_VENV.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(MOZILLA_VENV)], check=True)
    print(f"installing {' '.join(requirements)} ...", file=sys.stderr, flush=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *requirements],
        check=True,
        cwd=tempfile.gettempdir(),  # never pick up this repository as a source tree
    )
    stamp.write_text(fingerprint)
    return python


def _python_version(python: Path) -> str:
    result = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip()


#: The distribution each package is installed as; both are imported as ``dockerflow``.
DISTRIBUTIONS = {"ours": "django-dockerflow", "mozilla": "dockerflow"}

INFO_SNIPPET = """
import importlib.metadata as m, json, platform, sys
import dockerflow
print(json.dumps({
    "python": platform.python_version(),
    "django": m.version("Django"),
    "dockerflow": m.version(sys.argv[1]),
    "file": dockerflow.__file__,
}))
"""


def interpreter_info(python: str, package: str) -> dict[str, str]:
    """Versions seen by ``python`` (``package``'s interpreter), and where its ``dockerflow`` is."""
    result = subprocess.run(
        [python, "-c", INFO_SNIPPET, DISTRIBUTIONS[package]],
        capture_output=True,
        text=True,
        check=True,
        env=script_env(package),
        cwd=tempfile.gettempdir(),
    )
    info: dict[str, str] = json.loads(result.stdout)
    return info


def script_env(package: str) -> dict[str, str]:
    """A clean environment: nothing that would put this repository on sys.path."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "PYTHONSTARTUP", "PYTHONHOME"}
    }
    env["DOCKERFLOW_BENCH_PACKAGE"] = package
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_script(python: str, script: Path, package: str) -> list[dict[str, Any]]:
    """Run one script; return its JSON lines. Raises RuntimeError with its output on failure."""
    # The script's own directory (bench/) is sys.path[0]; it holds no
    # ``dockerflow`` package, and the working directory is elsewhere, so
    # Mozilla's run imports Mozilla's package only.
    try:
        result = subprocess.run(
            [python, str(script)],
            capture_output=True,
            text=True,
            env=script_env(package),
            cwd=tempfile.gettempdir(),
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{script.name} ({package}) ran over {SCRIPT_TIMEOUT}s") from exc
    if result.returncode != 0:
        raise RuntimeError(
            f"{script.name} ({package}) exited with {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )
    lines = []
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def merge(best: dict[str, dict[str, Any]], lines: list[dict[str, Any]]) -> None:
    """Keep, per name, the line with the lowest time (over rounds)."""
    for line in lines:
        name = line["name"]
        key = next(k for k in ("seconds", "instructions", "ours") if k in line)
        previous = best.get(name)
        if previous is None or _lower(line.get(key), previous.get(key)):
            best[name] = line


def _lower(value: Any, than: Any) -> bool:
    if not isinstance(value, (int, float)):
        return False
    return not isinstance(than, (int, float)) or value < than


def verdict(ratio: float | None, target: float | None) -> str:
    """PASS when the ratio meets the target, MISS when not, ``-`` without a target."""
    if target is None:
        return "-"
    if ratio is None or math.isnan(ratio):
        return "n/a"
    return "PASS" if ratio <= target else "MISS"


def ratio_of(ours: float | None, other: float | None) -> float | None:
    """ours / other, or None when either is missing or the divisor is not positive."""
    if ours is None or other is None or other <= 0:
        return None
    return ours / other


def build_rows(ours: dict[str, dict[str, Any]], mozilla: dict[str, dict[str, Any]]) -> list[Row]:
    """Pair our lines with Mozilla's (or with the baseline they carry) by name."""
    rows = []
    for name in sorted(ours.keys() | mozilla.keys()):
        mine = ours.get(name, {})
        theirs = mozilla.get(name, {})
        unit = "instructions" if "instructions" in mine or "instructions" in theirs else "s"
        if "baseline" in mine:
            ours_s, other_s, other_name = mine["ours"], mine["baseline"], mine["baseline_name"]
        else:
            key = "seconds" if unit == "s" else "instructions"
            ours_s, other_s, other_name = mine.get(key), theirs.get(key), "mozilla"
        target = mine.get("target", theirs.get("target"))
        ratio = ratio_of(ours_s, other_s)
        margin = mine.get("margin")
        result = (
            verdict(ratio, target) if margin is None else margin_verdict(ours_s, other_s, margin)
        )
        rows.append(Row(name, ours_s, other_s, other_name, target, ratio, result, unit, margin))
    return rows


def margin_verdict(ours: float | None, other: float | None, margin: float) -> str:
    """PASS when ours is at most ``margin`` seconds above the baseline."""
    if ours is None or other is None:
        return "n/a"
    return "PASS" if ours - other <= margin else "MISS"


def target_text(row: Row) -> str:
    """The target column: a ratio, or a time above the baseline."""
    if row.margin is not None:
        return f"<= +{human(row.margin, row.unit)}"
    return "-" if row.target is None else f"<= {row.target:g}x"


def human(seconds: float | None, unit: str = "s") -> str:
    """Seconds in the unit that reads best (or a count of instructions)."""
    if seconds is None:
        return "n/a"
    if unit == "instructions":
        return f"{seconds:,.0f} instr"
    magnitude = abs(seconds)
    if magnitude >= 1:
        return f"{seconds:.3f} s"
    if magnitude >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.2f} µs"


def print_table(rows: list[Row], header: dict[str, Any]) -> None:
    """The one table of the run, with its date and versions."""
    print(
        f"dockerflow benchmarks, {header['date']}: Python {header['python']}, "
        f"Django {header['django']}, ours {header['ours_version']}, "
        f"Mozilla's {header['mozilla_version']}"
    )
    titles = ("benchmark", "ours", "mozilla/baseline", "ratio", "target", "result")
    table = [titles]
    for row in rows:
        other = human(row.other, row.unit)
        if row.other_name != "mozilla":
            other = f"{other} ({row.other_name})"
        table.append(
            (
                row.name,
                human(row.ours, row.unit),
                other,
                "n/a" if row.ratio is None else f"{row.ratio:.2f}x",
                target_text(row),
                row.verdict,
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(titles))]
    for index, line in enumerate(table):
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def write_results(header: dict[str, Any], rows: list[Row]) -> None:
    """Write ``bench/results.json``; rows of scripts not run this time are kept."""
    kept: list[dict[str, Any]] = []
    if RESULTS.exists():
        try:
            kept = json.loads(RESULTS.read_text()).get("results", [])
        except (ValueError, AttributeError):
            kept = []
    fresh = [{**asdict(row), **header} for row in rows]
    names = {row.name for row in rows}
    merged = [row for row in kept if isinstance(row, dict) and row.get("name") not in names]
    merged = sorted([*merged, *fresh], key=lambda row: str(row.get("name")))
    RESULTS.write_text(json.dumps({**header, "results": merged}, indent=2) + "\n")


def discover(filters: list[str]) -> list[Path]:
    """``bench/bench_*.py``, keeping those whose name contains any filter."""
    scripts = sorted(BENCH.glob("bench_*.py"))
    if filters:
        scripts = [s for s in scripts if any(f in s.name for f in filters)]
    return scripts


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("filters", nargs="*", help="run only scripts whose name contains one")
    parser.add_argument(
        "--rounds", type=int, default=1, help="run each pair N times, keep the best (default 1)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be from 1 to 20")

    scripts = discover(args.filters)
    if not scripts:
        print(f"no bench/bench_*.py matches {args.filters}", file=sys.stderr)
        return 1

    interpreters = {"ours": sys.executable, "mozilla": str(mozilla_python())}
    info = {name: interpreter_info(exe, name) for name, exe in interpreters.items()}
    if not info["mozilla"]["file"].startswith(str(MOZILLA_VENV)):
        print(f"Mozilla's run imports dockerflow from {info['mozilla']['file']}", file=sys.stderr)
        return 1

    best: dict[str, dict[str, dict[str, Any]]] = {"ours": {}, "mozilla": {}}
    failures: list[str] = []
    for script in scripts:
        for round_number in range(args.rounds):
            # Alternate who goes first, so a slow spell does not favour one side.
            order = ["ours", "mozilla"] if round_number % 2 == 0 else ["mozilla", "ours"]
            for package in order:
                print(f"running {script.name} ({package})", file=sys.stderr, flush=True)
                try:
                    lines = run_script(interpreters[package], script, package)
                except RuntimeError as exc:
                    failures.append(str(exc))
                    break
                merge(best[package], lines)

    rows = build_rows(best["ours"], best["mozilla"])
    header = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": info["ours"]["python"],
        "django": info["ours"]["django"],
        "ours_version": info["ours"]["dockerflow"],
        "mozilla_version": info["mozilla"]["dockerflow"],
        "machine": platform.machine(),
        "rounds": args.rounds,
    }
    print_table(rows, header)
    write_results(header, rows)
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    if failures:
        return 1
    if args.strict and any(row.verdict == "MISS" for row in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
