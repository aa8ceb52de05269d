"""Check message ids: unique, well formed, Mozilla's kept, each used at most once.

Ids are a public contract (``SILENCED_SYSTEM_CHECKS``, alerts), so every id
lives in ``dockerflow/health.py`` and the code refers to it by name.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

from dockerflow import health

PACKAGE = Path(health.__file__).resolve().parent
ID = re.compile(r"^dockerflow\.(?P<group>[a-z]+)\.(?P<level>[CEWID])(?P<number>\d{3})$")
#: The prefix of a constant's name, when it has one, says the level.
LEVEL_PREFIXES = {"CRITICAL_": "C", "ERROR_": "E", "WARNING_": "W", "INFO_": "I", "DEBUG_": "D"}
#: Mozilla's dockerflow 2026.3.4 (Django part): same names, same ids.
MOZILLA_IDS = {
    "INFO_CANT_CHECK_MIGRATIONS": "dockerflow.health.I001",
    "WARNING_UNAPPLIED_MIGRATION": "dockerflow.health.W001",
    "ERROR_CANNOT_CONNECT_DATABASE": "dockerflow.health.E001",
    "ERROR_UNUSABLE_DATABASE": "dockerflow.health.E002",
    "ERROR_MISCONFIGURED_DATABASE": "dockerflow.health.E003",
    "ERROR_CANNOT_CONNECT_REDIS": "dockerflow.health.E004",
    "ERROR_MISSING_REDIS_CLIENT": "dockerflow.health.E005",
    "ERROR_MISCONFIGURED_REDIS": "dockerflow.health.E006",
    "ERROR_REDIS_PING_FAILED": "dockerflow.health.E007",
}
#: Mozilla's Flask integration owns these; reusing one would confuse alerts.
MOZILLA_FLASK_IDS = {"dockerflow.health.E008", "dockerflow.health.E009", "dockerflow.health.E010"}


def constants() -> dict[str, str]:
    """Every module-level ``NAME = "dockerflow.…"`` in health.py, read from its source."""
    tree = ast.parse((PACKAGE / "health.py").read_text())
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Constant):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    assert target.id not in found, f"{target.id} is assigned twice in health.py"
                    found[target.id] = node.value.value
    return found


CONSTANTS = constants()


def package_sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "health.py" or p.parent != PACKAGE)


def uses() -> Counter[str]:
    """How often the package source names each constant (``health.X`` or an imported ``X``)."""
    counts: Counter[str] = Counter()
    for source in package_sources():
        tree = ast.parse(source.read_text(), filename=str(source))
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("health"):
                imported |= {alias.asname or alias.name for alias in node.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in CONSTANTS:
                counts[node.attr] += 1
            elif isinstance(node, ast.Name) and node.id in CONSTANTS and node.id in imported:
                counts[node.id] += 1
    return counts


def test_there_are_ids() -> None:
    assert len(CONSTANTS) >= 13
    for name, value in CONSTANTS.items():
        assert getattr(health, name) == value


def test_ids_are_unique() -> None:
    duplicates = [value for value, count in Counter(CONSTANTS.values()).items() if count > 1]
    assert not duplicates, f"ids defined twice in dockerflow/health.py: {duplicates}"


@pytest.mark.parametrize(("name", "value"), sorted(CONSTANTS.items()))
def test_id_is_well_formed(name: str, value: str) -> None:
    match = ID.match(value)
    assert match, f"{name} = {value!r} is not dockerflow.<group>.<C|E|W|I|D><3 digits>"
    assert match["number"] != "000"
    for prefix, level in LEVEL_PREFIXES.items():
        if name.startswith(prefix):
            assert match["level"] == level, f"{name} says {prefix[:-1]} but its id is {value}"
    assert name.isupper()
    assert name.isidentifier()


@pytest.mark.parametrize(("name", "value"), sorted(MOZILLA_IDS.items()))
def test_mozillas_ids_are_kept(name: str, value: str) -> None:
    assert CONSTANTS.get(name) == value


def test_mozillas_flask_ids_are_not_reused() -> None:
    assert not MOZILLA_FLASK_IDS & set(CONSTANTS.values())


def test_each_id_is_used_at_most_once_in_the_package() -> None:
    overused = {name: count for name, count in uses().items() if count > 1}
    assert not overused, f"ids used in more than one place: {overused}"


def test_no_id_is_written_out_outside_health_py() -> None:
    # A string "dockerflow.health.E001" elsewhere would escape the checks above
    # (docstrings may mention ids; a string that *is* an id may not).
    offenders = [
        f"{source.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value}"
        for source in package_sources()
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and ID.match(node.value.strip())
    ]
    assert not offenders, offenders


def test_usage_counter_sees_real_uses() -> None:
    # A counter that finds nothing would make the at-most-once test pass vacuously.
    counts = uses()
    assert counts["CONFIG_SETTING_WRONG_TYPE"] == 1
    assert counts["ERROR_CANNOT_CONNECT_DATABASE"] == 1
