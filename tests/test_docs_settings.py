"""The settings reference (docs/settings.rst) documents exactly the settings conf.py knows.

``dockerflow.django.conf.SETTINGS`` is the registry of every ``DOCKERFLOW_*``
setting. Each needs one ``.. setting::`` entry with a type and the same default,
and the docs may name no setting the registry does not know.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dockerflow.django import conf as conf_module
from dockerflow.django.conf import SETTINGS, Conf

from .rst_source import DOCS, SettingEntry, pages, setting_entries, strip_comments

ENTRIES = setting_entries()
BY_NAME = {entry.name: entry for entry in ENTRIES}
SETTING_NAME = re.compile(r"\bDOCKERFLOW_[A-Z0-9_]*[A-Z0-9]\b")


def normalise(value: object) -> object:
    """Lists and tuples document the same default."""
    if isinstance(value, (list, tuple)):
        return [normalise(item) for item in value]
    return value


def test_every_known_setting_is_documented() -> None:
    missing = sorted(set(SETTINGS) - set(BY_NAME))
    assert not missing, f"docs/settings.rst has no `.. setting::` entry for {missing}"


def test_every_documented_setting_is_known() -> None:
    unknown = sorted(set(BY_NAME) - set(SETTINGS))
    assert not unknown, f"docs/settings.rst documents {unknown}, which conf.SETTINGS does not know"


def test_each_setting_is_documented_once() -> None:
    names = [entry.name for entry in ENTRIES]
    assert sorted(names) == sorted(set(names)), "a setting has two entries in docs/settings.rst"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.name)
def test_entry_has_a_type(entry: SettingEntry) -> None:
    assert entry.type.strip(), f"{entry.where}: {entry.name} has no `:Type:` field"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.name)
def test_documented_default_is_the_real_default(entry: SettingEntry) -> None:
    assert entry.default_source, f"{entry.where}: {entry.name} has no `:Default:` field"
    try:
        documented = entry.default()
    except (ValueError, SyntaxError) as exc:
        pytest.fail(f"{entry.where}: {entry.name} default is not a Python literal: {exc}")
    if entry.name in SETTINGS:
        assert normalise(documented) == normalise(SETTINGS[entry.name].default), (
            f"{entry.where}: {entry.name} documents the default {documented!r}, "
            f"but conf.SETTINGS has {SETTINGS[entry.name].default!r}"
        )


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_default_passes_its_own_validator(name: str) -> None:
    # The start-up check would otherwise report a project that sets nothing.
    assert SETTINGS[name].validate(SETTINGS[name].default)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_conf_has_a_property_for_each_setting(name: str) -> None:
    attribute = name.removeprefix("DOCKERFLOW_")
    assert isinstance(getattr(Conf, attribute, None), property), (
        f"{name} is in SETTINGS but Conf has no `{attribute}` property to read it"
    )


def test_every_conf_property_is_a_registered_setting() -> None:
    properties = [name for name, value in vars(Conf).items() if isinstance(value, property)]
    unregistered = sorted(
        f"DOCKERFLOW_{name}" for name in properties if f"DOCKERFLOW_{name}" not in SETTINGS
    )
    assert not unregistered, f"Conf reads {unregistered}, which SETTINGS does not register"


def test_package_names_only_registered_settings() -> None:
    """A ``DOCKERFLOW_*`` name in the package must be a registered setting."""
    package = Path(conf_module.__file__).resolve().parent.parent
    strays = {
        f"{path.relative_to(package.parent)}: {name}"
        for path in package.rglob("*.py")
        for name in SETTING_NAME.findall(path.read_text(encoding="utf-8"))
        if name not in SETTINGS
    }
    assert not strays, (
        f"unregistered DOCKERFLOW_* names in the package: {sorted(strays)}; a setting is "
        "read through conf.py and registered in conf.SETTINGS (then documented in settings.rst)"
    )


def test_docs_name_only_known_settings() -> None:
    """Every page: a ``DOCKERFLOW_*`` name in the text is a setting conf.py knows."""
    strays = {
        f"{page.name}:{number}: {name}"
        for page in pages()
        for number, line in enumerate(strip_comments(page.read_text(encoding="utf-8")), 1)
        for name in SETTING_NAME.findall(line)
        if name not in SETTINGS
    }
    assert not strays, f"the docs name settings conf.py does not know: {sorted(strays)}"


def test_reader_sees_entries_and_ignores_comments(tmp_path: Path) -> None:
    """The reader itself: an entry in a comment does not count, a real one does."""
    page = tmp_path / "settings.rst"
    page.write_text(
        "Settings\n========\n\n"
        "..\n   .. setting:: DOCKERFLOW_IN_A_COMMENT\n\n      :Type: bool\n\n"
        ".. setting:: DOCKERFLOW_REAL\n\n"
        "   :Type: list of\n      checks\n"
        '   :Default: ``["a",\n      "b"]``\n\n'
        "   :Other: not a field of the entry\n",
        encoding="utf-8",
    )
    (entry,) = setting_entries(page)
    assert entry.name == "DOCKERFLOW_REAL"
    assert entry.type == "list of checks"
    assert entry.default() == ["a", "b"]
    assert entry.where == "settings.rst:9"


def test_reader_rejects_a_default_that_is_not_one_literal(tmp_path: Path) -> None:
    page = tmp_path / "settings.rst"
    page.write_text(
        ".. setting:: DOCKERFLOW_X\n\n   :Type: int\n   :Default: 5 seconds\n", encoding="utf-8"
    )
    (entry,) = setting_entries(page)
    with pytest.raises(ValueError, match="inline literal"):
        entry.default()


def test_the_settings_page_is_the_one_read() -> None:
    assert (DOCS / "settings.rst").is_file()
    assert len(ENTRIES) >= len(SETTINGS) > 0
