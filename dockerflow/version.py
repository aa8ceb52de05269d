"""Read the Dockerflow ``version.json`` object.

Imports nothing from Django: it also runs in Docker build stages where settings
may not load.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

__all__ = ["VersionFileError", "get_version"]

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
