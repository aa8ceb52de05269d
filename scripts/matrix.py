"""`make matrix`: the suite on Django 5.2, 6.0 and 6.1 for every Python 3.10-3.13 found.

Interpreters are looked up under pyenv (`pyenv root`/versions), then on PATH
(pyenv's shims excepted). Each interpreter asks the package index which Django
releases it is offered (pip filters them by the releases' Requires-Python, so
Python 3.11 is offered no Django 6), and each Django series it is offered runs
the whole suite in its own virtualenv, `.venv-matrix-PY-DJ`. A missing
interpreter, or a series the index does not offer an interpreter, is skipped
with a message; only a failed install or a failed suite fails the run. The
closing table gives, per Python and Django, the tests passed, failed and
skipped and the time taken.

Usage: python scripts/matrix.py [--python 3.12 ...] [--django 5.2 ...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
DJANGOS = {
    "5.2": "Django>=5.2,<5.3",
    "6.0": "Django>=6.0,<6.1",
    "6.1": "Django>=6.1,<6.2",
}
FINAL_RELEASE = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)*$")
#: Asking the index takes a second or two; a hung index must not hang the matrix.
INDEX_TIMEOUT = 120


@dataclass
class Cell:
    """The outcome of one Python x Django combination."""

    python: str
    django: str
    outcome: str  # "passed", "FAILED", "skipped"
    detail: str = ""
    passed: int | None = None
    failed: int | None = None
    skipped: int | None = None
    seconds: float | None = None


def pyenv_versions_dir() -> Path | None:
    try:
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    versions = Path(root) / "versions"
    return versions if versions.is_dir() else None


def find_python(version: str) -> str | None:
    versions = pyenv_versions_dir()
    if versions is not None:
        candidates = sorted(
            (p for p in versions.glob(f"{version}.*") if p.name[len(version) + 1 :].isdigit()),
            key=lambda p: int(p.name.rsplit(".", 1)[1]),
            reverse=True,
        )
        for candidate in candidates:
            exe = candidate / "bin" / "python"
            if exe.exists():
                return str(exe)
    found = shutil.which(f"python{version}")
    if found and "/shims/" not in found:
        return found
    return None


def full_version(exe: str) -> str:
    done = subprocess.run(
        [exe, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "?"


def offered_django(exe: str) -> dict[str, str] | None:
    """The newest final Django release per series ("6.1" -> "6.1.3") the index offers ``exe``.

    None when the index cannot be asked (offline, or a pip without ``index``):
    then every series is tried, and an install the index cannot serve fails.
    """
    try:
        result = subprocess.run(
            [
                exe,
                "-m",
                "pip",
                "index",
                "versions",
                "Django",
                "--disable-pip-version-check",
            ],
            capture_output=True,
            text=True,
            timeout=INDEX_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"^Available versions: (.+)$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or match is None:
        return None
    newest: dict[str, str] = {}
    for version in (v.strip() for v in match.group(1).split(",")):
        final = FINAL_RELEASE.match(version)
        if final:  # newest first, as pip lists them
            newest.setdefault(f"{final.group(1)}.{final.group(2)}", version)
    return newest


def run(cmd: list[str], **kwargs: object) -> int:
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT, **kwargs)  # type: ignore[arg-type]


def counts(junit_xml: Path) -> tuple[int, int, int] | None:
    """(passed, failed, skipped) from pytest's JUnit XML report; None when there is none."""
    try:
        root = ET.parse(junit_xml).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def run_cell(py: str, exe: str, dj: str) -> Cell:
    started = time.monotonic()
    venv = ROOT / f".venv-matrix-{py}-{dj}"
    vpy = venv / "bin" / "python"
    if not vpy.exists() and run([exe, "-m", "venv", str(venv)]) != 0:
        return Cell(py, dj, "FAILED", "could not create the virtualenv")
    # A venv made before the rename still holds the old `dockerflow`
    # distribution (editable), which start-up reports as E004.
    run(
        [str(vpy), "-m", "pip", "uninstall", "--quiet", "--yes", "dockerflow"],
        stderr=subprocess.DEVNULL,
    )
    install = [
        str(vpy),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-e",
        ".[test]",
        "-r",
        "testproject/requirements.txt",
        DJANGOS[dj],
    ]
    if run(install) != 0:
        return Cell(py, dj, "FAILED", "pip install failed", seconds=time.monotonic() - started)
    installed = subprocess.run(
        [str(vpy), "-c", "import django; print(django.get_version())"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not installed.startswith(f"{dj}"):
        detail = f"pip installed Django {installed or '(none)'}, not {dj}"
        return Cell(py, dj, "FAILED", detail, seconds=time.monotonic() - started)
    env = {**os.environ, "PYTHONDEVMODE": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with tempfile.TemporaryDirectory(prefix="dockerflow-matrix-") as tmp:
        report = Path(tmp) / "junit.xml"
        code = run(
            [
                str(vpy),
                "-W",
                "error",
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={report}",
            ],
            env=env,
        )
        found = counts(report)
    seconds = time.monotonic() - started
    passed, failed, skipped = found if found is not None else (None, None, None)
    if code == 0:
        return Cell(py, installed, "passed", "", passed, failed, skipped, seconds)
    return Cell(py, installed, "FAILED", f"pytest exit {code}", passed, failed, skipped, seconds)


def _shown(count: int | None) -> str:
    return "-" if count is None else str(count)


def table(cells: list[Cell]) -> str:
    """The closing table: one row per Python x Django, in the order they were run."""
    header = ("Python", "Django", "result", "passed", "failed", "skipped", "time")
    rows = [header]
    notes = []
    for cell in cells:
        took = "-" if cell.seconds is None else f"{cell.seconds:.0f} s"
        rows.append(
            (
                cell.python,
                cell.django,
                cell.outcome,
                _shown(cell.passed),
                _shown(cell.failed),
                _shown(cell.skipped),
                took,
            )
        )
        if cell.detail:
            notes.append(f"  Python {cell.python} x Django {cell.django}: {cell.detail}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join([*(line.rstrip() for line in lines), *notes])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the suite across Python and Django versions")
    parser.add_argument("--python", action="append", choices=PYTHONS, help="only this Python")
    parser.add_argument("--django", action="append", choices=DJANGOS, help="only this Django")
    args = parser.parse_args(argv)
    pythons = args.python or list(PYTHONS)
    djangos = args.django or list(DJANGOS)

    # A checkout installed before the rename holds the old name's egg-info,
    # which importlib.metadata finds on sys.path (E004 in every run).
    shutil.rmtree(ROOT / "dockerflow.egg-info", ignore_errors=True)
    started = time.monotonic()
    cells: list[Cell] = []
    for py in pythons:
        exe = find_python(py)
        if exe is None:
            print(f"SKIP Python {py}: no interpreter under pyenv or on PATH", flush=True)
            cells += [
                Cell(py, dj, "skipped", "no interpreter under pyenv or on PATH") for dj in djangos
            ]
            continue
        exact = full_version(exe)
        offered = offered_django(exe)
        if offered is None:
            print(f"could not ask the package index for Django with Python {exact}; trying each")
        for dj in djangos:
            if offered is not None and dj not in offered:
                newest = max(offered, key=lambda s: tuple(map(int, s.split("."))), default=None)
                reason = (
                    f"the package index offers no Django {dj} for Python {exact} "
                    f"(newest offered: {offered[newest] if newest else 'none'})"
                )
                print(f"SKIP Python {py} x Django {dj}: {reason}", flush=True)
                cells.append(Cell(exact, dj, "skipped", reason))
                continue
            newest = f" ({offered[dj]})" if offered else ""
            print(f"\n=== Python {exact} x Django {dj}{newest}", flush=True)
            cell = run_cell(py, exe, dj)
            cell.python = exact
            cells.append(cell)

    print(f"\nmatrix summary ({time.monotonic() - started:.0f} s in all)")
    print(table(cells))
    return 1 if any(cell.outcome == "FAILED" for cell in cells) else 0


if __name__ == "__main__":
    sys.exit(main())
