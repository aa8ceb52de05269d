"""`make matrix`: the suite on Django 5.2, 6.0 and 6.1 for every Python 3.10-3.13 found.

Interpreters are looked up on PATH and under pyenv (`pyenv root`/versions), which
may hold versions that are not on PATH. A missing interpreter, or a Django
release that does not support that Python, is skipped with a message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
DJANGOS = {"5.2": "Django>=5.2,<5.3", "6.0": "Django>=6.0,<6.1", "6.1": "Django>=6.1,<6.2"}
# Django 6.x supports Python 3.12 and later.
MIN_PYTHON = {"5.2": (3, 10), "6.0": (3, 12), "6.1": (3, 12)}


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


def run(cmd: list[str], **kwargs: object) -> int:
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT, **kwargs)  # type: ignore[arg-type]


def main() -> int:
    results: list[tuple[str, str, str]] = []
    for py in PYTHONS:
        exe = find_python(py)
        if exe is None:
            print(f"SKIP Python {py}: no interpreter on PATH or under pyenv", flush=True)
            results.append((py, "-", "skipped: interpreter absent"))
            continue
        for dj, spec in DJANGOS.items():
            if tuple(int(x) for x in py.split(".")) < MIN_PYTHON[dj]:
                print(
                    f"SKIP Python {py} x Django {dj}: Django {dj} needs Python "
                    f"{'.'.join(map(str, MIN_PYTHON[dj]))}+",
                    flush=True,
                )
                results.append((py, dj, "skipped: unsupported combination"))
                continue
            venv = ROOT / f".venv-matrix-{py}-{dj}"
            vpy = venv / "bin" / "python"
            if not vpy.exists() and run([exe, "-m", "venv", str(venv)]) != 0:
                results.append((py, dj, "FAILED: venv"))
                continue
            if (
                run(
                    [
                        str(vpy),
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "-e",
                        ".[test]",
                        "-r",
                        "testproject/requirements.txt",
                        spec,
                    ]
                )
                != 0
            ):
                results.append((py, dj, "FAILED: install (is this Django released?)"))
                continue
            env = {**os.environ, "PYTHONDEVMODE": "1"}
            code = run(
                [str(vpy), "-W", "error", "-m", "pytest", "-q", "-p", "no:cacheprovider"], env=env
            )
            results.append((py, dj, "passed" if code == 0 else f"FAILED (exit {code})"))
    print("\nmatrix summary")
    for py, dj, outcome in results:
        print(f"  Python {py:5} Django {dj:4} {outcome}")
    return 1 if any(o.startswith("FAILED") for _, _, o in results) else 0


if __name__ == "__main__":
    sys.exit(main())
