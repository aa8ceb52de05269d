"""``python -m dockerflow.version write|check``: version.json from options, the CI, or git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dockerflow.version import get_version, main, validate_version_object, web_url_from_remote

ROOT = Path(__file__).resolve().parent.parent
SHA = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "0123456789abcdef" * 4
VALID = {
    "source": "https://github.com/org/app",
    "version": "v1.2.3",
    "commit": SHA,
    "build": "https://ci.example.com/job/1",
}

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

#: Variables of the CI this suite may itself run in; every test starts without them.
CI_PREFIXES = ("GITHUB_", "GITLAB_", "CI_", "CIRCLE")


def ci_free_environ() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(CI_PREFIXES) and k not in ("CI", "CIRCLECI")
    }


@pytest.fixture(autouse=True)
def _no_ci_and_no_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(CI_PREFIXES) or name in ("CI", "CIRCLECI"):
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    # git must not find a repository above the test's directory, nor the
    # developer's configuration.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def written(path: str | Path = "version.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data


GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "org/app",
    "GITHUB_SHA": SHA,
    "GITHUB_RUN_ID": "1658821493",
    "GITHUB_REF_TYPE": "tag",
    "GITHUB_REF_NAME": "v2.0.0",
}
GITLAB = {
    "GITLAB_CI": "true",
    "CI_PROJECT_URL": "https://gitlab.example.com/group/app",
    "CI_COMMIT_SHA": SHA,
    "CI_COMMIT_TAG": "v3.1.0",
    "CI_COMMIT_REF_NAME": "v3.1.0",
    "CI_JOB_URL": "https://gitlab.example.com/group/app/-/jobs/77",
    "CI_PIPELINE_URL": "https://gitlab.example.com/group/app/-/pipelines/12",
}
CIRCLECI = {
    "CIRCLECI": "true",
    "CIRCLE_REPOSITORY_URL": "git@github.com:org/app.git",
    "CIRCLE_SHA1": SHA,
    "CIRCLE_TAG": "v4.0.0",
    "CIRCLE_BUILD_URL": "https://circleci.com/gh/org/app/123",
}


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


# --- GitHub Actions ---------------------------------------------------------


def test_github_actions_tag_build(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, GITHUB)
    code, out, err = run(capsys, "write")
    assert (code, err) == (0, "")
    assert written() == {
        "source": "https://github.com/org/app",
        "version": "v2.0.0",
        "commit": SHA,
        "build": "https://github.com/org/app/actions/runs/1658821493",
    }
    assert "commit from GITHUB_SHA" in out


def test_github_actions_branch_build_has_blank_version(
    capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, {**GITHUB, "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main"})
    assert run(capsys, "write")[0] == 0
    assert written()["version"] == ""


def test_github_actions_pull_request_ref_is_not_a_version(
    capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, {**GITHUB, "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "12/merge"})
    assert run(capsys, "write")[0] == 0
    assert written()["version"] == ""


def test_github_enterprise_server_url(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**GITHUB, "GITHUB_SERVER_URL": "https://github.example.com/"})
    assert run(capsys, "write")[0] == 0
    assert written()["source"] == "https://github.example.com/org/app"
    assert written()["build"] == "https://github.example.com/org/app/actions/runs/1658821493"


def test_github_variables_without_the_marker_are_ignored(
    capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, {k: v for k, v in GITHUB.items() if k != "GITHUB_ACTIONS"})
    code, _, err = run(capsys, "write")
    assert code == 1
    assert "no commit" in err
    assert not Path("version.json").exists()


def test_github_bad_sha_names_the_variable(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**GITHUB, "GITHUB_SHA": "not-a-sha"})
    code, _, err = run(capsys, "write")
    assert code == 1
    assert "commit 'not-a-sha' is not a full git commit hash" in err
    assert "(from GITHUB_SHA)" in err
    assert not Path("version.json").exists()


# --- GitLab CI --------------------------------------------------------------


def test_gitlab_tag_pipeline(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, GITLAB)
    assert run(capsys, "write")[0] == 0
    assert written() == {
        "source": "https://gitlab.example.com/group/app",
        "version": "v3.1.0",
        "commit": SHA,
        "build": "https://gitlab.example.com/group/app/-/jobs/77",
    }


def test_gitlab_branch_pipeline(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in GITLAB.items() if k != "CI_COMMIT_TAG"}
    set_env(monkeypatch, {**env, "CI_COMMIT_REF_NAME": "main"})
    assert run(capsys, "write")[0] == 0
    assert written()["version"] == ""


def test_gitlab_pipeline_url_when_no_job_url(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {k: v for k, v in GITLAB.items() if k != "CI_JOB_URL"})
    assert run(capsys, "write")[0] == 0
    assert written()["build"] == "https://gitlab.example.com/group/app/-/pipelines/12"


# --- CircleCI ---------------------------------------------------------------


def test_circleci_tag_build_with_ssh_remote(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, CIRCLECI)
    assert run(capsys, "write")[0] == 0
    assert written() == {
        "source": "https://github.com/org/app",
        "version": "v4.0.0",
        "commit": SHA,
        "build": "https://circleci.com/gh/org/app/123",
    }


def test_circleci_https_remote(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**CIRCLECI, "CIRCLE_REPOSITORY_URL": "https://bitbucket.org/org/app"})
    assert run(capsys, "write")[0] == 0
    assert written()["source"] == "https://bitbucket.org/org/app"


def test_circleci_without_repository_url_and_no_git(
    capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CircleCI does not set CIRCLE_REPOSITORY_URL for GitLab or GitHub App projects.
    set_env(monkeypatch, {k: v for k, v in CIRCLECI.items() if k != "CIRCLE_REPOSITORY_URL"})
    code, _, err = run(capsys, "write")
    assert code == 1
    assert "no source (CircleCI did not provide it;" in err
    assert "pass --source" in err
    assert not Path("version.json").exists()
    assert run(capsys, "write", "--source", "https://gitlab.com/org/app")[0] == 0
    assert written()["source"] == "https://gitlab.com/org/app"


# --- options ----------------------------------------------------------------


def test_options_override_the_ci(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, GITHUB)
    code, out, _ = run(capsys, "write", "--version", "release-7", "--build", "https://b.example/9")
    assert code == 0
    assert written()["version"] == "release-7"
    assert written()["build"] == "https://b.example/9"
    assert written()["commit"] == SHA
    assert "version from --version" in out


def test_explicit_blank_version_wins_over_a_tag(
    capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, GITHUB)
    assert run(capsys, "write", "--version", "")[0] == 0
    assert written()["version"] == ""


def test_all_options_need_neither_ci_nor_git(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_subprocess(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("git must not run when every field is given")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    code, _, err = run(
        capsys,
        "write",
        "--source",
        VALID["source"],
        "--version",
        VALID["version"],
        "--commit",
        VALID["commit"],
        "--build",
        VALID["build"],
    )
    assert (code, err) == (0, "")
    assert written() == VALID


def options(**overrides: str) -> list[str]:
    values = {**VALID, **overrides}
    return [arg for name in VALID for arg in (f"--{name}", values[name])]


def test_sha256_commit_accepted(capsys: Any) -> None:
    assert run(capsys, "write", *options(commit=SHA256))[0] == 0
    assert written()["commit"] == SHA256


def test_uppercase_commit_is_written_lowercase(capsys: Any) -> None:
    assert run(capsys, "write", *options(commit=SHA.upper()))[0] == 0
    assert written()["commit"] == SHA


def test_surrounding_whitespace_is_stripped(capsys: Any) -> None:
    assert run(capsys, "write", *options(commit=f" {SHA}\n"))[0] == 0
    assert written()["commit"] == SHA


# --- refusals ---------------------------------------------------------------

REFUSALS = [
    ("commit", "abc1234", "is not a full git commit hash"),
    ("commit", "g" * 40, "is not a full git commit hash"),
    ("commit", SHA + "0", "is not a full git commit hash"),
    ("commit", "", "is not a full git commit hash"),
    ("source", "ftp://example.com/app", "is not an http(s) URL"),
    ("source", "git@github.com:org/app.git", "is not an http(s) URL"),
    ("source", "github.com/org/app", "is not an http(s) URL"),
    ("source", "https://", "has no host"),
    ("source", "https://user:token@github.com/org/app", "contains credentials"),
    ("source", "https://ci-token@github.com/org/app", "contains credentials"),
    ("source", "https://github.com/org/my app", "contains whitespace or control characters"),
    ("source", "https://example.com:99999/app", "is not a valid URL"),
    ("build", "javascript:alert(1)", "is not an http(s) URL"),
    ("build", "", "build is empty"),
    ("build", "https://ci.example.com/\x00", "contains whitespace or control characters"),
    ("version", "v1\nv2", "contains control characters"),
]


@pytest.mark.parametrize(("name", "value", "problem"), REFUSALS)
def test_write_refuses_invalid_values(capsys: Any, name: str, value: str, problem: str) -> None:
    Path("version.json").write_text("previous\n")
    code, out, err = run(capsys, "write", *options(**{name: value}))
    assert code == 1
    assert out == ""
    assert problem in err
    if value.strip():
        assert repr(value.strip()) in err  # the message names the bad value
    assert f"(from --{name}); nothing written" in err
    assert Path("version.json").read_text() == "previous\n"
    assert os.listdir(".") == ["version.json"]  # no temporary file left behind


@pytest.mark.parametrize(("name", "value", "problem"), REFUSALS)
def test_check_refuses_invalid_values(
    capsys: Any, tmp_path: Path, name: str, value: str, problem: str
) -> None:
    path = tmp_path / "version.json"
    path.write_text(json.dumps({**VALID, name: value}))
    code, _, err = run(capsys, "check", str(path))
    assert code == 1
    assert problem in err
    assert str(path) in err


# --- git --------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "work" / "repo"
    path.mkdir()
    git(path, "init", "--quiet")
    (path / "app.py").write_text("print('hi')\n")
    git(path, "add", "app.py")
    git(path, "commit", "--quiet", "-m", "first")
    git(path, "remote", "add", "origin", "git@github.com:org/app.git")
    monkeypatch.chdir(path)
    return path


@needs_git
def test_git_detection(capsys: Any, repo: Path) -> None:
    git(repo, "tag", "v1.2.3")
    code, out, _ = run(capsys, "write", "--build", "https://ci.example.com/5")
    assert code == 0
    assert written() == {
        "source": "https://github.com/org/app",
        "version": "v1.2.3",
        "commit": git(repo, "rev-parse", "HEAD"),
        "build": "https://ci.example.com/5",
    }
    assert "commit from git rev-parse HEAD" in out


@needs_git
def test_git_describe_after_the_tag(capsys: Any, repo: Path) -> None:
    git(repo, "tag", "v1.2.3")
    (repo / "app.py").write_text("print('bye')\n")
    git(repo, "commit", "--quiet", "-am", "second")
    assert run(capsys, "write", "--build", "https://ci.example.com/5")[0] == 0
    short = git(repo, "rev-parse", "--short", "HEAD")
    assert written()["version"] == f"v1.2.3-1-g{short}"


@needs_git
def test_git_without_tags_gives_blank_version(capsys: Any, repo: Path) -> None:
    assert run(capsys, "write", "--build", "https://ci.example.com/5")[0] == 0
    assert written()["version"] == ""


@needs_git
def test_git_has_no_build_url(capsys: Any, repo: Path) -> None:
    code, _, err = run(capsys, "write")
    assert code == 1
    assert "no build (plain git knows no CI build URL); pass --build" in err
    assert not (repo / "version.json").exists()


@needs_git
def test_git_remote_credentials_never_written(capsys: Any, repo: Path) -> None:
    git(repo, "remote", "set-url", "origin", "https://gitlab-ci-token:s3cret@gitlab.com/g/app.git")
    assert run(capsys, "write", "--build", "https://ci.example.com/5")[0] == 0
    assert written()["source"] == "https://gitlab.com/g/app"
    assert "s3cret" not in (repo / "version.json").read_text()


@needs_git
def test_git_remote_that_is_a_local_path(capsys: Any, repo: Path) -> None:
    git(repo, "remote", "set-url", "origin", "/srv/git/app.git")
    code, _, err = run(capsys, "write", "--build", "https://ci.example.com/5")
    assert code == 1
    assert "the git remote 'origin' '/srv/git/app.git' is not a web URL" in err


@needs_git
def test_ci_values_win_over_git(capsys: Any, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, GITLAB)
    assert run(capsys, "write")[0] == 0
    assert written()["commit"] == SHA
    assert written()["source"] == "https://gitlab.example.com/group/app"


@needs_git
def test_git_fills_what_the_ci_lacks(
    capsys: Any, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, {k: v for k, v in CIRCLECI.items() if k != "CIRCLE_REPOSITORY_URL"})
    code, out, _ = run(capsys, "write")
    assert code == 0
    assert written()["source"] == "https://github.com/org/app"
    assert "source from git remote get-url origin" in out


def test_no_repository(capsys: Any) -> None:
    code, _, err = run(capsys, "write", "--build", "https://ci.example.com/5")
    assert code == 1
    assert "no commit (`git rev-parse --verify HEAD` failed: fatal: not a git repository" in err


def test_git_not_installed(capsys: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code, _, err = run(capsys, "write", "--build", "https://ci.example.com/5")
    assert code == 1
    assert "no commit (git is not installed); pass --commit" in err


@pytest.mark.parametrize(
    ("remote", "web_url"),
    [
        ("git@github.com:org/app.git", "https://github.com/org/app"),
        ("git@github.com:org/app", "https://github.com/org/app"),
        ("github.com:org/app.git", "https://github.com/org/app"),
        ("ssh://git@gitlab.com:2222/group/sub/app.git", "https://gitlab.com/group/sub/app"),
        ("git://example.org/app.git", "https://example.org/app"),
        ("https://github.com/org/app.git", "https://github.com/org/app"),
        ("https://github.com/org/app/", "https://github.com/org/app"),
        (
            "https://user:tok@gitlab.example.com:8443/g/app.git",
            "https://gitlab.example.com:8443/g/app",
        ),
        ("http://git.internal/app", "http://git.internal/app"),
        ("/srv/git/app.git", None),
        ("file:///srv/git/app.git", None),
        ("C:/repos/app", None),
        ("../app", None),
        ("https://github.com/", None),
        ("https://example.com:notaport/app", None),
        ("", None),
    ],
)
def test_web_url_from_remote(remote: str, web_url: str | None) -> None:
    assert web_url_from_remote(remote) == web_url


# --- writing ----------------------------------------------------------------


def test_path_may_be_a_directory(capsys: Any, tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    code, out, _ = run(capsys, "write", str(app), *options())
    assert code == 0
    assert written(app / "version.json") == VALID
    assert f"wrote {app / 'version.json'}" in out


def test_explicit_file_path(capsys: Any, tmp_path: Path) -> None:
    target = tmp_path / "build-info.json"
    assert run(capsys, "write", str(target), *options())[0] == 0
    assert written(target) == VALID


def test_missing_directory_is_refused(capsys: Any, tmp_path: Path) -> None:
    code, _, err = run(capsys, "write", str(tmp_path / "nope" / "version.json"), *options())
    assert code == 1
    assert f"the directory {tmp_path / 'nope'} does not exist" in err


def test_written_file_is_world_readable(capsys: Any) -> None:
    # The image is built as root, the server often runs as another user.
    assert run(capsys, "write", *options())[0] == 0
    assert Path("version.json").stat().st_mode & 0o777 == 0o644


def test_written_file_is_served_and_checks(capsys: Any) -> None:
    assert run(capsys, "write", *options())[0] == 0
    assert get_version(".") == VALID
    assert run(capsys, "check")[0] == 0


def test_replaces_an_existing_file(capsys: Any) -> None:
    Path("version.json").write_text('{"old": true}')
    assert run(capsys, "write", *options())[0] == 0
    assert written() == VALID


def test_failed_rename_keeps_the_old_file(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("version.json").write_text("previous\n")

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    code, _, err = run(capsys, "write", *options())
    assert code == 1
    assert "cannot write version.json: No space left on device" in err
    assert Path("version.json").read_text() == "previous\n"
    assert os.listdir(".") == ["version.json"]


def test_reader_never_sees_a_partial_file(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # What is at the final path just before the rename: still the old file.
    Path("version.json").write_text("previous\n")
    seen: list[str] = []
    real_replace = os.replace

    def spying_replace(src: Any, dst: Any) -> None:
        seen.append(Path(dst).read_text())
        seen.append(Path(src).read_text())
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spying_replace)
    assert run(capsys, "write", *options())[0] == 0
    assert seen[0] == "previous\n"
    assert json.loads(seen[1]) == VALID


def test_dry_run_prints_and_writes_nothing(capsys: Any) -> None:
    code, out, _ = run(capsys, "write", "--dry-run", *options())
    assert code == 0
    assert json.loads(out) == VALID
    assert list(json.loads(out)) == ["source", "version", "commit", "build"]
    assert not Path("version.json").exists()


# --- check ------------------------------------------------------------------


def test_check_valid(capsys: Any) -> None:
    Path("version.json").write_text(json.dumps(VALID))
    code, out, err = run(capsys, "check")
    assert (code, err) == (0, "")
    assert "valid version object" in out


def test_check_allows_extra_keys_and_blank_version(capsys: Any) -> None:
    Path("version.json").write_text(json.dumps({**VALID, "version": "", "date": "2026-01-01"}))
    assert run(capsys, "check")[0] == 0


def test_check_accepts_a_bom(capsys: Any) -> None:
    Path("version.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(VALID).encode())
    assert run(capsys, "check")[0] == 0


def test_check_directory_argument(capsys: Any, tmp_path: Path) -> None:
    (tmp_path / "version.json").write_text(json.dumps(VALID))
    assert run(capsys, "check", str(tmp_path))[0] == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "is not valid JSON"),
        (b"[1, 2]", "must hold a JSON object, not an array"),
        (b'{"a": NaN}', "is not valid JSON"),
        (b"\xff\xfe{}", "is not valid UTF-8"),
        (b"{}", "source is missing"),
        (json.dumps({**VALID, "version": 3}).encode(), "version must be a string, not a number"),
        (json.dumps({**VALID, "commit": None}).encode(), "commit must be a string, not null"),
    ],
)
def test_check_invalid_files(capsys: Any, content: bytes, problem: str) -> None:
    Path("version.json").write_bytes(content)
    code, out, err = run(capsys, "check")
    assert code == 1
    assert out == ""
    assert problem in err


def test_check_names_every_problem(capsys: Any) -> None:
    Path("version.json").write_text("{}")
    code, _, err = run(capsys, "check")
    assert code == 1
    for name in ("source", "version", "commit", "build"):
        assert f"{name} is missing" in err


def test_check_missing_file(capsys: Any) -> None:
    code, _, err = run(capsys, "check")
    assert code == 1
    assert "version.json does not exist" in err


def test_check_a_directory_without_version_json(capsys: Any, tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", str(tmp_path))
    assert code == 1
    assert "does not exist" in err


@pytest.mark.parametrize(
    "path", [ROOT / "testproject" / "version.json", ROOT / "tests" / "fixtures" / "base"]
)
def test_shipped_version_files_are_valid(capsys: Any, path: Path) -> None:
    assert run(capsys, "check", str(path))[0] == 0


def test_validate_version_object() -> None:
    assert validate_version_object(VALID) == []
    assert validate_version_object({**VALID, "commit": "abc"}) == [
        "commit 'abc' is not a full git commit hash "
        "(40 or 64 hexadecimal digits, as `git rev-parse HEAD` prints)"
    ]


# --- as a process -----------------------------------------------------------


def python_m(*argv: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockerflow.version", *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_m_exit_statuses(tmp_path: Path) -> None:
    env = {**ci_free_environ(), **GITLAB, "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # runs where Django settings cannot load
    ok = python_m("write", env=env, cwd=tmp_path)
    assert (ok.returncode, ok.stderr) == (0, "")
    assert written(tmp_path / "version.json")["version"] == "v3.1.0"
    assert python_m("check", env=env, cwd=tmp_path).returncode == 0
    refused = python_m("write", "--commit", "abc", env=env, cwd=tmp_path)
    assert refused.returncode == 1
    assert "commit 'abc'" in refused.stderr
    assert python_m("write", "--no-such-option", env=env, cwd=tmp_path).returncode == 2
    assert python_m(env=env, cwd=tmp_path).returncode == 2


def test_imports_nothing_from_django(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from dockerflow.version import main\n"
        f"status = main(['write', '--dry-run', *{options()!r}])\n"
        "assert 'django' not in sys.modules, 'django was imported'\n"
        "sys.exit(status)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=ci_free_environ(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_github_without_run_id_has_no_build(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {k: v for k, v in GITHUB.items() if k != "GITHUB_RUN_ID"})
    code, _, err = run(capsys, "write")
    assert code == 1
    assert "no build (GitHub Actions did not provide it;" in err
    assert not Path("version.json").exists()


def test_circleci_local_repository_url_is_named(
    capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, {**CIRCLECI, "CIRCLE_REPOSITORY_URL": "/home/circleci/app"})
    code, _, err = run(capsys, "write")
    assert code == 1
    assert "CIRCLE_REPOSITORY_URL '/home/circleci/app' is not a web URL" in err


def test_check_path_below_a_file(capsys: Any) -> None:
    Path("file").write_text("x")
    code, _, err = run(capsys, "check", "file/version.json")
    assert code == 1
    assert "file/version.json cannot be read: Not a directory" in err


def test_check_a_directory_named_version_json(capsys: Any) -> None:
    Path("version.json").mkdir()
    Path("version.json", "version.json").mkdir()
    code, _, err = run(capsys, "check")
    assert code == 1
    assert "is a directory, not a file" in err
