"""``manage.py dockerflow_drain``: create the drain file, ``--undo`` removes it."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parent.parent


def drain(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("dockerflow_drain", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def command_error(*args: str) -> CommandError:
    with pytest.raises(CommandError) as info:
        drain(*args)
    return info.value


def test_creates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "drain"
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(path)):
        out, err = drain()
    assert path.is_file()
    assert path.read_text().startswith("draining since ")
    assert f"created {path}" in out
    assert err == ""


@pytest.mark.django_db
def test_probes_answer_503_after_the_command(client: Client, tmp_path: Path) -> None:
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(tmp_path / "drain")):
        assert client.get("/__lbheartbeat__").status_code == 200
        drain()
        assert client.get("/__lbheartbeat__").status_code == 503
        assert client.get("/__heartbeat__").status_code == 503
        drain("--undo")
        assert client.get("/__lbheartbeat__").status_code == 200


def test_already_draining_keeps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "drain"
    path.write_text("first\n")
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(path)):
        out, _ = drain()
    assert "Already draining" in out
    assert path.read_text() == "first\n"


def test_undo_removes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "drain"
    path.touch()
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(path)):
        out, _ = drain("--undo")
    assert not path.exists()
    assert f"removed {path}" in out


def test_undo_when_not_draining_succeeds(tmp_path: Path) -> None:
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(tmp_path / "drain")):
        out, _ = drain("--undo")
    assert "Not draining" in out


def test_default_setting_unset_exits_3() -> None:
    error = command_error()
    assert error.returncode == 3
    assert "DOCKERFLOW_DRAIN_FILE is not set" in str(error)


def test_undo_with_setting_unset_exits_3() -> None:
    assert command_error("--undo").returncode == 3


@pytest.mark.parametrize("value", ["", 123])
def test_setting_not_a_path_exits_3(value: object) -> None:
    # Not valid: dockerflow.config.E002 says so at start-up, and meanwhile the
    # setting counts as not set.
    with override_settings(DOCKERFLOW_DRAIN_FILE=value):
        error = command_error()
    assert error.returncode == 3
    assert "DOCKERFLOW_DRAIN_FILE is not set or not valid" in str(error)


def test_pathlib_setting(tmp_path: Path) -> None:
    with override_settings(DOCKERFLOW_DRAIN_FILE=tmp_path / "drain"):
        drain()
    assert (tmp_path / "drain").is_file()


@pytest.mark.parametrize("args", [(), ("--undo",)])
def test_missing_directory_exits_1_naming_it(tmp_path: Path, args: tuple[str, ...]) -> None:
    missing = tmp_path / "missing"
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(missing / "drain")):
        error = command_error(*args)
    assert error.returncode == 1
    assert f"the directory {missing} does not exist" in str(error)
    assert not missing.exists()


@pytest.mark.parametrize("args", [(), ("--undo",)])
def test_path_is_a_directory_exits_1(tmp_path: Path, args: tuple[str, ...]) -> None:
    path = tmp_path / "drain"
    path.mkdir()
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(path)):
        error = command_error(*args)
    assert error.returncode == 1
    assert "it is a directory" in str(error)
    assert path.is_dir()


def test_parent_is_a_file_exits_1(tmp_path: Path) -> None:
    parent = tmp_path / "file"
    parent.write_text("x")
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(parent / "drain")):
        error = command_error()
    assert error.returncode == 1
    assert "is not a directory" in str(error)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
@pytest.mark.parametrize("args", [(), ("--undo",)])
def test_directory_not_writable_exits_1(tmp_path: Path, args: tuple[str, ...]) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    path = directory / "drain"
    if args:
        path.touch()
    directory.chmod(0o500)
    try:
        with override_settings(DOCKERFLOW_DRAIN_FILE=str(path)):
            error = command_error(*args)
    finally:
        directory.chmod(0o700)
    assert error.returncode == 1
    assert f"the directory {directory} is not writable" in str(error)


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_directory_not_writable_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    # These tests also run as root, which a read-only mode does not stop; so
    # the refusal the kernel would give is injected here.
    def refuse(*args: object, **kwargs: object) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "open", refuse)
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(tmp_path / "drain")):
        error = command_error()
    assert error.returncode == 1
    assert f"the directory {tmp_path} is not writable ({os.strerror(code)})" in str(error)


def test_relative_path_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with override_settings(DOCKERFLOW_DRAIN_FILE="drain"):
        out, err = drain()
    assert "relative path" in err
    assert f"created {tmp_path / 'drain'}" in out


def run_command(*args: str, drain_file: str | None) -> subprocess.CompletedProcess[str]:
    """The command as a process, to see its real exit status."""
    env = {k: v for k, v in os.environ.items() if k != "DOCKERFLOW_DRAIN_FILE"}
    env["DJANGO_SETTINGS_MODULE"] = "tests.drain_settings"
    env["PYTHONPATH"] = str(ROOT)
    if drain_file is not None:
        env["DOCKERFLOW_DRAIN_FILE"] = drain_file
    return subprocess.run(
        [sys.executable, "-m", "django", "dockerflow_drain", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_exit_statuses_of_the_process(tmp_path: Path) -> None:
    path = str(tmp_path / "drain")
    done = run_command(drain_file=path)
    assert (done.returncode, done.stderr) == (0, "")
    assert Path(path).is_file()
    assert run_command("--undo", drain_file=path).returncode == 0
    assert not Path(path).exists()
    missing_dir = run_command(drain_file=str(tmp_path / "missing" / "drain"))
    assert missing_dir.returncode == 1
    assert "does not exist" in missing_dir.stderr
    unset = run_command(drain_file=None)
    assert unset.returncode == 3
    assert "DOCKERFLOW_DRAIN_FILE is not set" in unset.stderr
    usage = run_command("--no-such-option", drain_file=path)
    assert usage.returncode == 2


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.ENOENT, "does not accept new files"),  # /proc answers so as root
        (errno.ENOSPC, os.strerror(errno.ENOSPC)),
    ],
)
def test_other_creation_failures_are_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, reason: str
) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "open", refuse)
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(tmp_path / "drain")):
        error = command_error()
    assert error.returncode == 1
    assert f"Cannot create the drain file {tmp_path / 'drain'}: " in str(error)
    assert reason in str(error)
