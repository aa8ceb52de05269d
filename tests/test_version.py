"""dockerflow.version.get_version: the parsed version.json, or None, or a clear error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockerflow.version import VersionFileError, get_version

VERSION = {"source": "https://example.com/src", "version": "1", "commit": "ab12", "build": ""}


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "version.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_returns_parsed_object(tmp_path: Path) -> None:
    write(tmp_path, json.dumps(VERSION))
    assert get_version(tmp_path) == VERSION
    assert get_version(str(tmp_path)) == VERSION


def test_missing_file_is_none(tmp_path: Path) -> None:
    assert get_version(tmp_path) is None


def test_missing_root_is_none(tmp_path: Path) -> None:
    assert get_version(tmp_path / "nope") is None


def test_invalid_json_names_file_and_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "{not json")
    with pytest.raises(VersionFileError) as excinfo:
        get_version(tmp_path)
    assert str(path) in str(excinfo.value)
    assert "not valid JSON" in str(excinfo.value)
    assert "line 1" in excinfo.value.problem
    assert str(tmp_path) not in excinfo.value.problem


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ("[1, 2]", "an array"),
        ('"v1"', "a string"),
        ("42", "a number"),
        ("null", "null"),
        ("true", "a boolean"),
    ],
)
def test_non_object_is_refused(tmp_path: Path, content: str, kind: str) -> None:
    write(tmp_path, content)
    with pytest.raises(VersionFileError, match=f"must hold a JSON object, not {kind}"):
        get_version(tmp_path)


def test_nan_is_refused(tmp_path: Path) -> None:
    write(tmp_path, '{"version": NaN}')
    with pytest.raises(VersionFileError, match="NaN"):
        get_version(tmp_path)


def test_invalid_utf8_is_refused(tmp_path: Path) -> None:
    write(tmp_path, b'{"version": "\xff"}')
    with pytest.raises(VersionFileError, match="UTF-8"):
        get_version(tmp_path)


def test_directory_in_place_of_file(tmp_path: Path) -> None:
    (tmp_path / "version.json").mkdir()
    with pytest.raises(VersionFileError, match="directory"):
        get_version(tmp_path)


def test_bom_is_accepted(tmp_path: Path) -> None:
    write(tmp_path, "\ufeff" + json.dumps(VERSION))
    assert get_version(tmp_path) == VERSION


def test_unchanged_file_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, json.dumps(VERSION))
    assert get_version(tmp_path) == VERSION
    opened: list[object] = []
    real_open = open

    def spy_open(*args: object, **kwargs: object) -> object:
        opened.append(args[0])
        return real_open(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", spy_open)
    for _ in range(5):
        assert get_version(tmp_path) == VERSION
    assert opened == []


def test_changed_file_is_read_again(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(VERSION))
    assert get_version(tmp_path) == VERSION
    write(tmp_path, json.dumps({**VERSION, "version": "2-longer"}))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert get_version(tmp_path)["version"] == "2-longer"  # type: ignore[index]


def test_mutating_the_result_does_not_change_the_next_one(tmp_path: Path) -> None:
    write(tmp_path, json.dumps(VERSION))
    first = get_version(tmp_path)
    assert first is not None
    first["version"] = "tampered"
    assert get_version(tmp_path) == VERSION


def test_deleted_file_becomes_none(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(VERSION))
    assert get_version(tmp_path) == VERSION
    path.unlink()
    assert get_version(tmp_path) is None
