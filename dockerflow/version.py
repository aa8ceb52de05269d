"""Read, write and check the Dockerflow ``version.json`` object.

``get_version(root)`` reads it for ``/__version__``. The command line writes
and validates it (see the "Deploy lifecycle" documentation page)::

    python -m dockerflow.version write [PATH]   # from options, the CI, or git
    python -m dockerflow.version check [PATH]   # exit 1 when invalid

Standard library only, and nothing from Django: it also runs in Docker build
stages where settings may not load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["VersionFileError", "get_version", "main", "validate_version_object"]

VERSION_FILENAME = "version.json"


class VersionFileError(ValueError):
    """``version.json`` exists but does not hold a JSON object.

    ``path`` is the offending file and ``problem`` a short description that
    names no filesystem path (safe to show in a response).
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


# path -> (stat signature, raw text). The parsed object is rebuilt from the
# text on every call so a caller that mutates the result cannot corrupt the
# cache; the disk is read again only when the stat signature changes.
_cache: dict[str, tuple[tuple[int, int, int], str]] = {}
_cache_lock = threading.Lock()


def _signature(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def get_version(root: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Load and return the contents of ``version.json`` under ``root``.

    :param root: the directory that holds ``version.json`` (usually ``BASE_DIR``)
    :returns: the parsed JSON object, or ``None`` when the file does not exist
    :raises VersionFileError: when the file is not valid UTF-8 JSON or not a
        JSON object; the message names the file and the problem.

    The file is read again only when its modification time, size or inode
    change, so calling this on every request costs one ``stat``.
    """
    path = os.path.join(os.fspath(root), VERSION_FILENAME)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    signature = _signature(st)
    cached = _cache.get(path)
    if cached is not None and cached[0] == signature:
        text = cached[1]
    else:
        text = _read(path)
        with _cache_lock:
            _cache[path] = (signature, text)
    return _parse(path, text)


def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except IsADirectoryError as exc:
        raise VersionFileError(path, "is a directory, not a file") from exc
    except PermissionError as exc:
        raise VersionFileError(path, "cannot be read (permission denied)") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VersionFileError(path, f"is not valid UTF-8 (byte {exc.start})") from exc


def _parse(path: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise VersionFileError(
            path, f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except ValueError as exc:
        raise VersionFileError(path, f"is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise VersionFileError(path, f"must hold a JSON object, not {_json_type_name(value)}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _json_type_name(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null"


# ---------------------------------------------------------------------------
# The version object: what a valid one holds.

#: The four fields of a Dockerflow version object, in the order they are written.
FIELDS = ("source", "version", "commit", "build")
#: A full git object name: SHA-1 (40 hex digits) or SHA-256 (64).
COMMIT_LENGTHS = (40, 64)
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_CONTROL = r"[\x00-\x1f\x7f]"


def _url_problem(name: str, value: str) -> str | None:
    if value == "":
        return f"{name} is empty; it must be an http(s) URL"
    if re.search(_CONTROL, value) or any(c.isspace() for c in value):
        return f"{name} {value!r} contains whitespace or control characters"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        return f"{name} {value!r} is not a valid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{name} {value!r} is not an http(s) URL"
    if not parts.hostname:
        return f"{name} {value!r} has no host"
    if parts.username is not None or parts.password is not None:
        # /__version__ is public: never publish a token from a clone URL.
        return f"{name} {value!r} contains credentials (user@ or user:password@)"
    return None


def _commit_problem(value: str) -> str | None:
    if len(value) not in COMMIT_LENGTHS or not set(value) <= _HEX_DIGITS:
        return (
            f"commit {value!r} is not a full git commit hash "
            "(40 or 64 hexadecimal digits, as `git rev-parse HEAD` prints)"
        )
    return None


def validate_version_object(obj: Mapping[str, Any]) -> list[str]:
    """Return the problems of a Dockerflow version object, one sentence each.

    Valid means: ``source`` and ``build`` are http(s) URLs with a host and no
    credentials, ``commit`` is a full git commit hash (40 or 64 hex digits),
    ``version`` is a string (empty is allowed: the Dockerflow spec lets
    non-release builds leave it blank), and no field holds control characters.
    Other keys are allowed. An empty list means the object is valid.
    """
    return list(_field_problems(obj).values())


def _field_problems(obj: Mapping[str, Any]) -> dict[str, str]:
    problems: dict[str, str] = {}
    for name in FIELDS:
        if name not in obj:
            problems[name] = f"{name} is missing"
            continue
        value = obj[name]
        if not isinstance(value, str):
            problems[name] = f"{name} must be a string, not {_json_type_name(value)}"
            continue
        if name in ("source", "build"):
            problem = _url_problem(name, value)
        elif name == "commit":
            problem = _commit_problem(value)
        elif re.search(_CONTROL, value):
            problem = f"version {value!r} contains control characters"
        else:
            problem = None
        if problem is not None:
            problems[name] = problem
    return problems


# ---------------------------------------------------------------------------
# Detection: explicit options, then the CI's variables, then git.


@dataclass
class _Found:
    """Values found so far, where each came from, and why some are missing."""

    values: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def offer(self, name: str, value: str | None, origin: str) -> None:
        value = (value or "").strip()
        if name not in self.values and value:
            self.values[name] = value
            self.origins[name] = origin

    def note(self, name: str, text: str) -> None:
        if name not in self.values:
            self.notes.setdefault(name, []).append(text)

    def missing(self) -> list[str]:
        return [name for name in FIELDS if name not in self.values]


def web_url_from_remote(remote: str) -> str | None:
    """Turn a git remote URL into the project's web URL, or None.

    ``git@host:org/repo.git`` and ``ssh://git@host:22/org/repo.git`` become
    ``https://host/org/repo``; ``https://user:token@host/org/repo.git`` loses
    its credentials and ``.git``. Local paths and ``file://`` give None.
    """
    remote = remote.strip()
    scp_like = re.fullmatch(r"(?:[^@/:]+@)?([^@/:]+):(?!//)/?(.+)", remote)
    if scp_like and len(scp_like.group(1)) > 1:  # "C:/path" is a Windows drive
        scheme, host, port, path = "https", scp_like.group(1), None, scp_like.group(2)
    else:
        try:
            parts = urlsplit(remote)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        path = parts.path
        if scheme in ("ssh", "git", "git+ssh", "ssh+git"):
            scheme, port = "https", None  # that port is the SSH/git daemon's
        elif scheme not in ("http", "https"):
            return None
        if not host:
            return None
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    if not path:
        return None
    netloc = host if port is None else f"{host}:{port}"
    return f"{scheme}://{netloc}/{path}"


def _from_github(env: Mapping[str, str], found: _Found) -> None:
    server = env.get("GITHUB_SERVER_URL", "").rstrip("/")
    repository = env.get("GITHUB_REPOSITORY", "").strip("/")
    if server and repository:
        found.offer("source", f"{server}/{repository}", "GITHUB_SERVER_URL/GITHUB_REPOSITORY")
        run_id = env.get("GITHUB_RUN_ID", "")
        if run_id:
            found.offer(
                "build",
                f"{server}/{repository}/actions/runs/{run_id}",
                "GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID",
            )
    found.offer("commit", env.get("GITHUB_SHA"), "GITHUB_SHA")
    if env.get("GITHUB_REF_TYPE") == "tag":
        found.offer("version", env.get("GITHUB_REF_NAME"), "GITHUB_REF_NAME")


def _from_gitlab(env: Mapping[str, str], found: _Found) -> None:
    found.offer("source", env.get("CI_PROJECT_URL"), "CI_PROJECT_URL")
    found.offer("commit", env.get("CI_COMMIT_SHA"), "CI_COMMIT_SHA")
    found.offer("build", env.get("CI_JOB_URL"), "CI_JOB_URL")
    found.offer("build", env.get("CI_PIPELINE_URL"), "CI_PIPELINE_URL")
    found.offer("version", env.get("CI_COMMIT_TAG"), "CI_COMMIT_TAG")


def _from_circleci(env: Mapping[str, str], found: _Found) -> None:
    remote = env.get("CIRCLE_REPOSITORY_URL", "")
    if remote:
        web_url = web_url_from_remote(remote)
        if web_url is None:
            found.note("source", f"CIRCLE_REPOSITORY_URL {remote!r} is not a web URL")
        found.offer("source", web_url, "CIRCLE_REPOSITORY_URL")
    found.offer("commit", env.get("CIRCLE_SHA1"), "CIRCLE_SHA1")
    found.offer("build", env.get("CIRCLE_BUILD_URL"), "CIRCLE_BUILD_URL")
    found.offer("version", env.get("CIRCLE_TAG"), "CIRCLE_TAG")


#: CI name, the variable each sets to "true" in every job, and its reader.
CI_SYSTEMS = (
    ("GitHub Actions", "GITHUB_ACTIONS", _from_github),
    ("GitLab CI", "GITLAB_CI", _from_gitlab),
    ("CircleCI", "CIRCLECI", _from_circleci),
)

GIT_TIMEOUT = 10.0


def _git(*args: str) -> tuple[str | None, str]:
    """Run git; (stdout, "") on success, (None, why not) otherwise."""
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            ["git", *args],  # noqa: S607 - git is looked up on PATH on purpose
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return None, "git is not installed"
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"`git {' '.join(args)}` failed: {exc}"
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        why = lines[0] if lines else f"exit status {result.returncode}"
        return None, f"`git {' '.join(args)}` failed: {why}"
    return result.stdout.strip(), ""


def _from_git(found: _Found) -> None:
    if "commit" not in found.values:
        commit, why = _git("rev-parse", "--verify", "HEAD")
        found.offer("commit", commit, "git rev-parse HEAD")
        found.note("commit", why)
    if "source" not in found.values:
        remote, why = _git("remote", "get-url", "origin")
        if remote is None:
            found.note("source", why)
        else:
            web_url = web_url_from_remote(remote)
            if web_url is None:
                found.note("source", f"the git remote 'origin' {remote!r} is not a web URL")
            found.offer("source", web_url, "git remote get-url origin")
    if "version" not in found.values:
        described, _ = _git("describe", "--tags")
        found.offer("version", described, "git describe --tags")
    found.note("build", "plain git knows no CI build URL")


def detect(options: Mapping[str, str | None], env: Mapping[str, str]) -> _Found:
    """Collect the four fields: explicit options first, then the CI, then git."""
    found = _Found()
    for name in FIELDS:
        value = options.get(name)
        if value is not None:
            # Explicit, even empty: `--version ""` means "no release version".
            found.values[name] = value.strip()
            found.origins[name] = f"--{name}"
    if not found.missing():
        return found
    for ci_name, marker, read in CI_SYSTEMS:
        if env.get(marker, "").lower() == "true":
            read(env, found)
            for name in found.missing():
                found.note(name, f"{ci_name} did not provide it")
            break
    if found.missing():
        _from_git(found)
    # The Dockerflow spec lets non-release builds leave the version blank.
    if "version" not in found.values:
        found.values["version"] = ""
        found.origins["version"] = "blank: no release tag found"
    return found


# ---------------------------------------------------------------------------
# Command line.

EXIT_OK = 0
EXIT_INVALID = 1  # argparse itself exits 2 on a usage error


def _target(path: str) -> str:
    """PATH, or PATH/version.json when PATH is a directory."""
    return os.path.join(path, VERSION_FILENAME) if os.path.isdir(path) else path


def _write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".version.json.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; the web server may run as another user.
        os.chmod(tmp, 0o644)
        # A reader sees the old file or the new one, never half of one.
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_INVALID


def _cmd_write(args: argparse.Namespace) -> int:
    options = {name: getattr(args, name) for name in FIELDS}
    found = detect(options, os.environ)
    missing = found.missing()
    if missing:
        for name in missing:
            why = "; ".join(found.notes.get(name, [])) or "no source for it was found"
            _error(f"no {name} ({why}); pass --{name}")
        return EXIT_INVALID
    obj = {name: found.values[name] for name in FIELDS}
    if obj["commit"] and set(obj["commit"]) <= _HEX_DIGITS:
        obj["commit"] = obj["commit"].lower()
    problems = _field_problems(obj)
    if problems:
        for name, problem in problems.items():
            _error(f"{problem} (from {found.origins[name]}); nothing written")
        return EXIT_INVALID
    text = json.dumps(obj, indent=2) + "\n"
    if args.dry_run:
        sys.stdout.write(text)
        return EXIT_OK
    path = _target(args.path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        return _error(f"cannot write {path}: the directory {directory} does not exist")
    try:
        _write_atomically(path, text)
    except OSError as exc:
        return _error(f"cannot write {path}: {exc.strerror or exc}")
    origins = ", ".join(f"{name} from {found.origins[name]}" for name in FIELDS)
    print(f"wrote {path} ({origins})")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    path = _target(args.path)
    try:
        obj = _parse(path, _read(path))
    except FileNotFoundError:
        return _error(f"{path} does not exist")
    except VersionFileError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"{path} cannot be read: {exc.strerror or exc}")
    problems = validate_version_object(obj)
    if problems:
        for problem in problems:
            _error(f"{path}: {problem}")
        return EXIT_INVALID
    print(f"{path}: valid version object (version {obj['version']!r}, commit {obj['commit']})")
    return EXIT_OK


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Write or check a Dockerflow version.json (source, version, commit, build).",
        epilog="Exit status: 0 success, 1 invalid or undetectable values (nothing written) "
        "or an invalid file, 2 wrong arguments.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{write,check}")
    write = commands.add_parser(
        "write",
        help="write version.json from options, the CI's variables or git",
        description="Each field comes from its option, else from the CI's variables "
        "(GitHub Actions, GitLab CI, CircleCI), else from git in the current directory. "
        "The file is replaced atomically, and only when every field is valid.",
    )
    write.add_argument(
        "path",
        nargs="?",
        default=VERSION_FILENAME,
        metavar="PATH",
        help="the file to write, or a directory to write version.json in (default: ./version.json)",
    )
    write.add_argument("--source", help="the repository's http(s) URL")
    write.add_argument("--version", help="the release tag or a version for humans; may be empty")
    write.add_argument("--commit", help="the full git commit hash (40 or 64 hex digits)")
    write.add_argument("--build", help="the http(s) URL of the CI job that built the image")
    write.add_argument(
        "--dry-run", action="store_true", help="print the object instead of writing it"
    )
    write.set_defaults(handler=_cmd_write)
    check = commands.add_parser(
        "check",
        help="validate an existing version.json",
        description="Exit 0 when the file holds a valid version object, 1 otherwise.",
    )
    check.add_argument(
        "path",
        nargs="?",
        default=VERSION_FILENAME,
        metavar="PATH",
        help="the file to check, or a directory holding version.json (default: ./version.json)",
    )
    check.set_defaults(handler=_cmd_check)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "dockerflow-version") -> int:
    """Run ``dockerflow-version`` (or ``python -m dockerflow.version``); return the exit status.

    ``prog`` is the name the usage and help messages give the command.
    """
    args = _parser(prog).parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main(prog="python -m dockerflow.version"))
