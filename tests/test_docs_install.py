"""Every install line in README.md and docs/ installs this package, never Mozilla's.

On the package index, ``dockerflow`` is Mozilla's distribution; this one is
``django-dockerflow``. A ``pip install dockerflow`` copied from our docs would
install Mozilla's package, whose ``python -m dockerflow.version write`` exits 0
and writes nothing. The console scripts only this distribution installs are
what the CI and Dockerfile examples must run.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.rst")])
#: ``pip install ...`` up to the end of the line, an inline-literal's end, or a
#: shell separator; a trailing ``\\`` continues it on the next line.
PIP_INSTALL = re.compile(r"pip3? install\b(?P<args>(?:[^\n`;&|]|\\\n)*)")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_names(args: str) -> list[str]:
    """The distribution names a ``pip install`` argument list asks for (paths skipped)."""
    names = []
    words = shlex.split(args.replace("\\\n", " "), comments=True)
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
            continue
        if word in {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-t"}:
            skip_next = word not in {"-e", "--editable"}
            continue
        if word.startswith(("-", ".")) or "/" in word or "<" in word:
            continue  # an option, a path, a wheel file, or a placeholder like <version>
        match = NAME.match(word)
        if match:
            names.append(canonical(match.group(0)))
    return names


def install_lines() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in PIP_INSTALL.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{page.relative_to(ROOT)}:{line}", match.group("args")))
    return found


INSTALL_LINES = install_lines()


def test_the_reader_finds_the_install_lines() -> None:
    names = {name for _, args in INSTALL_LINES for name in installed_names(args)}
    assert "django-dockerflow" in names
    assert any(where.startswith("README.md") for where, _ in INSTALL_LINES)
    assert any(where.startswith("docs/installation.rst") for where, _ in INSTALL_LINES)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (" dockerflow", ["dockerflow"]),
        (' "Dockerflow[redis]"', ["dockerflow"]),
        (" --no-cache-dir dockerflow==2026.3.4", ["dockerflow"]),
        (" -r requirements.txt django_dockerflow", ["django-dockerflow"]),
        (" /path/to/checkout dist/django_dockerflow-*.whl", []),
        (" \\\n    dockerflow", ["dockerflow"]),
    ],
)
def test_the_reader_parses_install_lines(args: str, expected: list[str]) -> None:
    assert installed_names(args) == expected


@pytest.mark.parametrize(("where", "args"), INSTALL_LINES, ids=[w for w, _ in INSTALL_LINES])
def test_no_install_line_names_mozillas_distribution(where: str, args: str) -> None:
    assert "dockerflow" not in installed_names(args), (
        f"{where}: `pip install{args.strip() and ' ' + args.strip()}` installs Mozilla's "
        "package; write django-dockerflow"
    )


def test_ci_and_dockerfile_examples_run_the_console_script() -> None:
    # `python -m dockerflow.version write` succeeds (and writes nothing) when
    # Mozilla's package was installed; `dockerflow-version` fails loudly.
    offenders = [
        f"{page.relative_to(ROOT)}:{number}"
        for page in PAGES
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(
            r"^\s*(?:-\s+|-\s+run:\s+|run:\s+|RUN\s+|\$\s+)python3? -m dockerflow\.version", line
        )
    ]
    assert not offenders, f"use dockerflow-version in command examples: {offenders}"
