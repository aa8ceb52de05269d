"""The benchmark harness (bench/run.py) and the scripts' output protocol."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
SCRIPTS = sorted(BENCH.glob("bench_*.py"))


def load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


harness = load_harness()


@pytest.mark.parametrize(
    ("ratio", "target", "expected"),
    [
        (0.2, 0.3, "PASS"),
        (0.3, 0.3, "PASS"),
        (0.31, 0.3, "MISS"),
        (5.0, None, "-"),
        (None, 0.3, "n/a"),
        (float("nan"), 0.3, "n/a"),
    ],
)
def test_verdict(ratio: float | None, target: float | None, expected: str) -> None:
    assert harness.verdict(ratio, target) == expected


@pytest.mark.parametrize(
    ("ours", "other", "expected"),
    [(1.0, 4.0, 0.25), (1.0, 0.0, None), (1.0, -1.0, None), (None, 1.0, None), (1.0, None, None)],
)
def test_ratio_of(ours: float | None, other: float | None, expected: float | None) -> None:
    assert harness.ratio_of(ours, other) == expected


def test_rows_pair_lines_by_name() -> None:
    ours = {
        "a": {"name": "a", "seconds": 1.0, "target": 0.5},
        "b": {"name": "b", "ours": 2.0, "baseline": 4.0, "baseline_name": "curl", "target": 1.0},
        "only-ours": {"name": "only-ours", "seconds": 1.0, "target": None},
    }
    mozilla = {
        "a": {"name": "a", "seconds": 4.0, "target": 0.5},
        "only-mozilla": {"name": "only-mozilla", "seconds": 3.0, "target": 1.0},
    }
    rows = {row.name: row for row in harness.build_rows(ours, mozilla)}
    assert list(rows) == ["a", "b", "only-mozilla", "only-ours"]
    assert (rows["a"].ratio, rows["a"].verdict, rows["a"].other_name) == (0.25, "PASS", "mozilla")
    assert (rows["b"].other, rows["b"].other_name, rows["b"].ratio) == (4.0, "curl", 0.5)
    assert rows["b"].verdict == "PASS"
    assert (rows["only-mozilla"].ours, rows["only-mozilla"].verdict) == (None, "n/a")
    assert (rows["only-ours"].other, rows["only-ours"].verdict) == (None, "-")


@pytest.mark.parametrize(
    ("ours", "baseline", "expected"), [(0.410, 0.400, "PASS"), (0.416, 0.400, "MISS")]
)
def test_a_margin_target_is_a_time_above_the_baseline(
    ours: float, baseline: float, expected: str
) -> None:
    line = {
        "name": "m",
        "ours": ours,
        "baseline": baseline,
        "baseline_name": "manage.py version",
        "target": None,
        "margin": 0.015,
    }
    (row,) = harness.build_rows({"m": line}, {})
    assert (row.verdict, row.margin, row.other_name) == (expected, 0.015, "manage.py version")
    assert harness.target_text(row) == "<= +15.000 ms"


def test_instruction_counts_pair_as_their_own_unit() -> None:
    ours = {"n": {"name": "n", "instructions": 90_000.0, "target": None}}
    mozilla = {"n": {"name": "n", "instructions": 300_000.0, "target": None}}
    (row,) = harness.build_rows(ours, mozilla)
    assert (row.ours, row.other, row.unit, row.verdict) == (
        90_000.0,
        300_000.0,
        "instructions",
        "-",
    )
    assert row.ratio == pytest.approx(0.3)
    (only_theirs,) = harness.build_rows({}, mozilla)
    assert (only_theirs.unit, only_theirs.other, only_theirs.ours) == (
        "instructions",
        300_000.0,
        None,
    )


def test_merge_keeps_the_best_round() -> None:
    best: dict[str, dict[str, Any]] = {}
    harness.merge(best, [{"name": "a", "seconds": 2.0}, {"name": "b", "ours": 5.0}])
    harness.merge(best, [{"name": "a", "seconds": 1.0}, {"name": "b", "ours": 9.0}])
    harness.merge(best, [{"name": "a", "seconds": None}])
    harness.merge(best, [{"name": "i", "instructions": 7.0}, {"name": "i", "instructions": 6.0}])
    harness.merge(best, [{"name": "i", "instructions": 8.0}])
    assert best["a"]["seconds"] == 1.0
    assert best["b"]["ours"] == 5.0
    assert best["i"]["instructions"] == 6.0


def test_human_units() -> None:
    assert harness.human(2.5) == "2.500 s"
    assert harness.human(0.0025) == "2.500 ms"
    assert harness.human(0.0000025) == "2.50 µs"
    assert harness.human(None) == "n/a"
    assert harness.human(94_512.4, "instructions") == "94,512 instr"
    assert harness.human(None, "instructions") == "n/a"


def test_discover_filters_by_name() -> None:
    assert harness.discover([]) == SCRIPTS
    assert harness.discover(["no-such-benchmark"]) == []
    assert harness.discover(["middleware"]) == [BENCH / "bench_middleware.py"]


def test_write_results_keeps_rows_of_scripts_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"results": [{"name": "old"}, {"name": "a", "ours": 9}]}))
    monkeypatch.setattr(harness, "RESULTS", results)
    row = harness.Row("a", 1.0, 2.0, "mozilla", 1.0, 0.5, "PASS")
    harness.write_results({"date": "today"}, [row])
    written = json.loads(results.read_text())
    assert written["date"] == "today"
    assert [r["name"] for r in written["results"]] == ["a", "old"]
    assert written["results"][0]["ours"] == 1.0


def test_write_results_survives_a_corrupt_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "results.json"
    results.write_text("not json")
    monkeypatch.setattr(harness, "RESULTS", results)
    harness.write_results({}, [harness.Row("a", 1.0, None, "mozilla", None, None, "-")])
    assert json.loads(results.read_text())["results"][0]["name"] == "a"


def test_scripts_run_without_this_repository_on_sys_path(tmp_path: Path) -> None:
    # What keeps Mozilla's run from importing our package by accident.
    script = tmp_path / "bench_probe.py"
    script.write_text(
        "import json, os, sys\n"
        "print(json.dumps({'name': 'p', 'path': sys.path, 'cwd': os.getcwd(),"
        " 'package': os.environ['DOCKERFLOW_BENCH_PACKAGE']}))\n"
    )
    (line,) = harness.run_script(sys.executable, script, "mozilla")
    root = str(BENCH.parent)
    assert root not in line["path"]
    assert "" not in line["path"]
    assert not line["cwd"].startswith(root)
    assert line["package"] == "mozilla"


def test_a_failing_script_reports_its_output(tmp_path: Path) -> None:
    script = tmp_path / "bench_broken.py"
    script.write_text("import sys\nprint('partial')\nsys.exit('broken on purpose')\n")
    with pytest.raises(RuntimeError, match=r"(?s)bench_broken.py \(ours\) exited with 1.*partial"):
        harness.run_script(sys.executable, script, "ours")


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_every_script_prints_the_protocol(script: Path) -> None:
    if script.name == "bench_instructions.py" and shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed: bench_instructions.py prints nothing")
    env = harness.script_env("ours") | {"DOCKERFLOW_BENCH_QUICK": "1"}
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=BENCH.parent.parent,
        # valgrind runs two interpreters under callgrind: minutes on a loaded machine
        timeout=600 if script.name == "bench_instructions.py" else 120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stdout
    for line in lines:
        assert isinstance(line["name"], str)
        assert line["name"]
        assert line["target"] is None or line["target"] > 0
        if "baseline" in line:
            assert isinstance(line["ours"], float)
            assert isinstance(line["baseline"], float)
            assert isinstance(line["baseline_name"], str)
        elif "instructions" in line:
            # the middleware adds work: a count that is not positive is a broken measurement
            assert isinstance(line["instructions"], float)
            assert line["instructions"] > 0
        else:
            assert isinstance(line["seconds"], float)


def load_bench_command() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # its own imports (benchlib)
    try:
        spec = importlib.util.spec_from_file_location("bench_command", BENCH / "bench_command.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def test_the_command_runner_insists_on_exit_0(tmp_path: Path) -> None:
    bench_command = load_bench_command()
    run_once = bench_command.runner(
        [sys.executable, "-c", "raise SystemExit(3)"], cwd=tmp_path, env={}
    )
    with pytest.raises(subprocess.CalledProcessError) as failed:
        run_once()
    assert failed.value.returncode == 3
    assert bench_command.runner([sys.executable, "-c", "pass"], cwd=tmp_path, env={})() == 0


def test_the_command_runner_kills_a_command_that_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench_command = load_bench_command()
    monkeypatch.setattr(bench_command, "PROCESS_TIMEOUT", 0.5)
    run_once = bench_command.runner(["sleep", "30"], cwd=tmp_path, env={})
    with pytest.raises(subprocess.CalledProcessError) as failed:
        run_once()
    assert failed.value.returncode == -9  # SIGKILL from the watchdog, long before 30 s
