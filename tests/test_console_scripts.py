"""The console scripts ``dockerflow-version`` and ``dockerflow-probe``, as installed.

Each test runs the executable pip put in this virtualenv's ``bin/`` (not
``python -m``), so what is tested is what a Dockerfile or a CI step runs: the
entry point, its exit codes and its output. The probe is pointed at
testproject under a real gunicorn.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .servers import Server, free_port, running_server

BIN = Path(sys.executable).parent  # the venv's bin dir; never resolve the symlink
SHA = "0123456789abcdef0123456789abcdef01234567"
VALID = {
    "source": "https://github.com/org/app",
    "version": "v1.2.3",
    "commit": SHA,
    "build": "https://ci.example.com/job/1",
}


def script(
    name: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed executable ``name``, outside this checkout, without CI variables."""
    executable = BIN / name
    assert executable.is_file(), f"{executable} is not installed (pip install -e .)"
    assert os.access(executable, os.X_OK)
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "CI"}
        and not key.startswith(("GITHUB_", "GITLAB_", "CI_", "CIRCLE"))
    }
    environment.update(env or {})
    return subprocess.run(
        [str(executable), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# --- dockerflow-version ------------------------------------------------------------


def test_version_write_then_check(tmp_path: Path) -> None:
    done = script(
        "dockerflow-version",
        "write",
        "--source",
        VALID["source"],
        "--version",
        VALID["version"],
        "--commit",
        VALID["commit"],
        "--build",
        VALID["build"],
        cwd=tmp_path,
        # No git repository above tmp_path may fill anything in.
        env={"GIT_CEILING_DIRECTORIES": str(tmp_path.parent)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wrote version.json (source from --source, ")
    assert json.loads((tmp_path / "version.json").read_text()) == VALID

    checked = script("dockerflow-version", "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "valid version object (version 'v1.2.3'" in checked.stdout


def test_version_write_to_a_path(tmp_path: Path) -> None:
    target = tmp_path / "app" / "version.json"
    target.parent.mkdir()
    done = script(
        "dockerflow-version",
        "write",
        str(target),
        *[f"--{key}={value}" for key, value in VALID.items()],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(target.read_text()) == VALID
    assert script("dockerflow-version", "check", str(target.parent), cwd=tmp_path).returncode == 0


def test_version_check_fails_on_an_invalid_file(tmp_path: Path) -> None:
    (tmp_path / "version.json").write_text(json.dumps({**VALID, "commit": "main"}))
    done = script("dockerflow-version", "check", cwd=tmp_path)
    assert done.returncode == 1
    assert "commit" in done.stderr
    assert done.stdout == ""


def test_version_check_fails_on_a_missing_file(tmp_path: Path) -> None:
    done = script("dockerflow-version", "check", cwd=tmp_path)
    assert done.returncode == 1
    assert "does not exist" in done.stderr


def test_version_write_refuses_a_bad_commit(tmp_path: Path) -> None:
    done = script(
        "dockerflow-version",
        "write",
        *[f"--{k}={v}" for k, v in {**VALID, "commit": "x"}.items()],
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert not (tmp_path / "version.json").exists()


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["write", "--no-such-option"]])
def test_version_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    done = script("dockerflow-version", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert "usage:" in done.stderr


def test_version_help_exits_0(tmp_path: Path) -> None:
    done = script("dockerflow-version", "--help", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("usage: dockerflow-version ")  # its own name, not python -m
    assert "write" in done.stdout
    assert "check" in done.stdout


# --- dockerflow-probe, against a real server ----------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server("gunicorn") as running:
        yield running
    assert not running.alive()


@pytest.mark.e2e
@pytest.mark.parametrize("path", ["/__lbheartbeat__", "/__heartbeat__", "/__version__"])
def test_probe_healthy(server: Server, path: str, tmp_path: Path) -> None:
    done = script("dockerflow-probe", server.url + path, "--timeout", "10", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"healthy: HTTP 200 OK from {server.url}{path} in ")


@pytest.mark.e2e
def test_probe_default_url_follows_port(server: Server, tmp_path: Path) -> None:
    done = script("dockerflow-probe", cwd=tmp_path, env={"PORT": str(server.port)})
    assert done.returncode == 0, done.stderr
    assert f"{server.url}/__lbheartbeat__" in done.stdout


@pytest.mark.e2e
def test_probe_a_path_on_port(server: Server, tmp_path: Path) -> None:
    # The drain-safe exec-form HEALTHCHECK: ["dockerflow-probe", "/__version__"].
    done = script("dockerflow-probe", "/__version__", cwd=tmp_path, env={"PORT": str(server.port)})
    assert done.returncode == 0, done.stderr
    assert f"{server.url}/__version__" in done.stdout


def test_probe_help_names_the_script(tmp_path: Path) -> None:
    done = script("dockerflow-probe", "--help", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("usage: dockerflow-probe ")


@pytest.mark.e2e
def test_probe_unhealthy_page_exits_1(server: Server, tmp_path: Path) -> None:
    done = script("dockerflow-probe", server.url + "/no-such-page/", cwd=tmp_path)
    assert done.returncode == 1
    assert "HTTP 404" in done.stderr


def test_probe_refused_exits_1(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/__lbheartbeat__"
    done = script("dockerflow-probe", url, "--timeout", "5", cwd=tmp_path)
    assert done.returncode == 1
    assert "refused" in done.stderr


@pytest.mark.parametrize("args", [["--timeout", "soon"], ["--no-such-option"]])
def test_probe_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    done = script("dockerflow-probe", *args, cwd=tmp_path, env={"PORT": "8000"})
    assert done.returncode == 2
    assert "usage:" in done.stderr
