"""``make matrix`` (scripts/matrix.py): what it asks the index, how it counts and reports."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_matrix() -> ModuleType:
    spec = importlib.util.spec_from_file_location("matrix", ROOT / "scripts" / "matrix.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


matrix = load_matrix()


def test_counts_read_a_real_pytest_report(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n"
        "def test_one(): pass\n"
        "def test_two(): pass\n"
        "def test_three(): pass\n"
        "def test_fails(): assert False\n"
        "@pytest.mark.skip(reason='x')\n"
        "def test_skipped(): pass\n"
        "@pytest.fixture\n"
        "def broken(): raise RuntimeError\n"
        "def test_errors(broken): pass\n"
    )
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
    )
    report = tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH"}}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:django",
            f"--junitxml={report}",
            "test_sample.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    # A test whose fixture raised is an error: it counts as failed.
    assert matrix.counts(report) == (3, 2, 1)


def test_counts_without_a_report(tmp_path: Path) -> None:
    assert matrix.counts(tmp_path / "missing.xml") is None
    (tmp_path / "bad.xml").write_text("<testsuites><testsuite")
    assert matrix.counts(tmp_path / "bad.xml") is None


def test_table_lists_every_cell_with_counts_and_reasons() -> None:
    cells = [
        matrix.Cell("3.10.13", "5.2.19", "passed", "", 1600, 0, 16, 401.4),
        matrix.Cell("3.10.13", "6.0", "skipped", "the package index offers no Django 6.0"),
        matrix.Cell("3.13.0", "6.1.3", "FAILED", "pytest exit 1", 1590, 3, 23, 512.0),
    ]
    lines = matrix.table(cells).splitlines()
    assert lines[0].split() == ["Python", "Django", "result", "passed", "failed", "skipped", "time"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["3.10.13", "5.2.19", "passed", "1600", "0", "16", "401", "s"]
    assert lines[3].split() == ["3.10.13", "6.0", "skipped", "-", "-", "-", "-"]
    assert lines[4].split() == ["3.13.0", "6.1.3", "FAILED", "1590", "3", "23", "512", "s"]
    assert "  Python 3.10.13 x Django 6.0: the package index offers no Django 6.0" in lines
    assert "  Python 3.13.0 x Django 6.1.3: pytest exit 1" in lines
    # Columns line up: the result column starts at the same place on every row.
    assert lines[0].index("result") == lines[2].index("passed") == lines[4].index("FAILED")


def test_the_index_is_asked_with_the_interpreter_that_will_run() -> None:
    # This interpreter's pip lists what the package index offers *this* Python.
    offered = matrix.offered_django(sys.executable)
    if offered is None:
        pytest.skip("the package index cannot be reached from here")
    assert "5.2" in offered
    assert offered["5.2"].startswith("5.2")
    for series, newest in offered.items():
        assert matrix.FINAL_RELEASE.match(newest), (series, newest)
        assert newest == series or newest.startswith(f"{series}.")


def test_an_interpreter_that_cannot_ask_gives_none(tmp_path: Path) -> None:
    assert matrix.offered_django(str(tmp_path / "no-such-python")) is None
