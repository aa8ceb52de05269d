"""`make matrix`: the suite on Django 5.2, 6.0 and 6.1 for every Python 3.10-3.13 found.

Interpreters are looked up under pyenv (`pyenv root`/versions) and on PATH. A
missing interpreter, a Django release that does not support that Python, or a
Django series the package index does not serve (yet) is skipped with a message;
only a failed install or a failed suite fails the run.

Usage: python scripts/matrix.py [--python 3.12 ...] [--django 5.2 ...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
DJANGOS = {"5.2": "Django>=5.2,<5.3", "6.0": "Django>=6.0,<6.1", "6.1": "Django>=6.1,<6.2"}
# Django 6.x supports Python 3.12 and later.
MIN_PYTHON = {"5.2": (3, 10), "6.0": (3, 12), "6.1": (3, 12)}
FINAL_RELEASE = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)*$")


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


def served_django_series() -> tuple[set[str], str] | None:
    """The Django series ("5.2", …) with a final release on the package index, and the latest.

    None when the index cannot be asked (offline): then every series is tried.
    """
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "index", "versions", "Django"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"^Available versions: (.+)$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or match is None:
        return None
    versions = [v.strip() for v in match.group(1).split(",")]
    series = set()
    for version in versions:
        final = FINAL_RELEASE.match(version)
        if final:
            series.add(f"{final.group(1)}.{final.group(2)}")
    return series, versions[0]


def run(cmd: list[str], **kwargs: object) -> int:
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT, **kwargs)  # type: ignore[arg-type]


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
    results: list[tuple[str, str, str]] = []
    served = served_django_series()
    if served is None:
        print("could not ask the package index for Django versions; trying each", flush=True)
    else:
        for dj in list(djangos):
            if dj not in served[0]:
                print(
                    f"SKIP Django {dj}: the package index serves no Django {dj} release "
                    f"(newest: {served[1]})",
                    flush=True,
                )
                results.append(("*", dj, f"skipped: Django {dj} not on the package index"))
                djangos.remove(dj)

    for py in pythons:
        exe = find_python(py)
        if exe is None:
            print(f"SKIP Python {py}: no interpreter on PATH or under pyenv", flush=True)
            results.append((py, "*", "skipped: interpreter absent"))
            continue
        for dj in djangos:
            if tuple(int(x) for x in py.split(".")) < MIN_PYTHON[dj]:
                print(
                    f"SKIP Python {py} x Django {dj}: Django {dj} needs Python "
                    f"{'.'.join(map(str, MIN_PYTHON[dj]))}+",
                    flush=True,
                )
                results.append((py, dj, "skipped: unsupported combination"))
                continue
            started = time.monotonic()
            venv = ROOT / f".venv-matrix-{py}-{dj}"
            vpy = venv / "bin" / "python"
            if not vpy.exists() and run([exe, "-m", "venv", str(venv)]) != 0:
                results.append((py, dj, "FAILED: venv"))
                continue
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
                "-e",
                ".[test]",
                "-r",
                "testproject/requirements.txt",
                DJANGOS[dj],
            ]
            if run(install) != 0:
                results.append((py, dj, "FAILED: install"))
                continue
            env = {**os.environ, "PYTHONDEVMODE": "1"}
            env.pop("DJANGO_SETTINGS_MODULE", None)
            code = run(
                [str(vpy), "-W", "error", "-m", "pytest", "-q", "-p", "no:cacheprovider"], env=env
            )
            took = f"{time.monotonic() - started:.0f}s"
            outcome = "passed" if code == 0 else f"FAILED (pytest exit {code})"
            results.append((py, dj, f"{outcome}, {took}"))

    print("\nmatrix summary")
    for py, dj, outcome in results:
        print(f"  Python {py:5} Django {dj:4} {outcome}")
    return 1 if any(o.startswith("FAILED") for _, _, o in results) else 0


if __name__ == "__main__":
    sys.exit(main())
