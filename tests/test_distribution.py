"""``dockerflow.distribution``: how this package is installed, and ``dockerflow.config.E004``.

Each test lays out real distribution metadata (``*.dist-info`` and
``*.egg-info`` directories, as pip and setuptools write them) in a temporary
directory and lets :mod:`importlib.metadata` read it, as it reads
``site-packages``. The end-to-end tests with real pip installs of this package
and Mozilla's are in ``tests/test_install_e2e.py``.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from dockerflow import health
from dockerflow.distribution import (
    DISTRIBUTION_NAME,
    REPAIR_HINT,
    install_problem,
    providers,
)

ROOT = Path(__file__).resolve().parent.parent

#: What Mozilla's dockerflow 2026.3.4 wheel installs (a part of its RECORD).
MOZILLA_FILES = [
    "dockerflow/__init__.py",
    "dockerflow/version.py",
    "dockerflow/django/apps.py",
    "dockerflow/django/checks.py",
    "dockerflow-2026.3.4.dist-info/METADATA",
]


def dist_info(
    site: Path,
    name: str,
    version: str = "1.0",
    *,
    top_level: str | None = None,
    files: list[str] | None = None,
    suffix: str = "dist-info",
) -> Path:
    """Write the metadata directory of distribution ``name`` into ``site``."""
    directory = site / f"{name.replace('-', '_')}-{version}.{suffix}"
    directory.mkdir(parents=True)
    metadata = "PKG-INFO" if suffix == "egg-info" else "METADATA"
    (directory / metadata).write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if top_level is not None:
        (directory / "top_level.txt").write_text(top_level)
    if files is not None:
        (directory / "RECORD").write_text("".join(f"{file},sha256=x,1\n" for file in files))
    return directory


def ours(site: Path) -> Path:
    return dist_info(site, DISTRIBUTION_NAME, "2026.11.0", top_level="dockerflow\n")


def mozillas(site: Path) -> Path:
    return dist_info(site, "dockerflow", "2026.3.4", top_level="dockerflow\n", files=MOZILLA_FILES)


# --- The function, on laid-out metadata ----------------------------------------


def test_this_package_alone_is_fine(tmp_path: Path) -> None:
    ours(tmp_path)
    dist_info(tmp_path, "Django", top_level="django\n")
    assert providers(path=[str(tmp_path)]) == [DISTRIBUTION_NAME]
    assert install_problem([str(tmp_path)]) is None


def test_nothing_installed_is_fine(tmp_path: Path) -> None:
    # Running from a checkout on sys.path, without installing: nothing to report.
    assert providers(path=[str(tmp_path)]) == []
    assert install_problem([str(tmp_path)]) is None


def test_mozillas_beside_ours_is_reported(tmp_path: Path) -> None:
    ours(tmp_path)
    mozillas(tmp_path)
    assert providers(path=[str(tmp_path)]) == ["django-dockerflow", "dockerflow"]
    problem = install_problem([str(tmp_path)])
    assert problem is not None
    assert "Mozilla's `dockerflow` distribution is installed beside django-dockerflow" in problem
    assert "mix of both" in problem


def test_mozillas_alone_is_reported(tmp_path: Path) -> None:
    # This package's code imported from a checkout while pip installed Mozilla's.
    mozillas(tmp_path)
    problem = install_problem([str(tmp_path)])
    assert problem is not None
    assert problem.startswith("Mozilla's `dockerflow` distribution is installed; it provides")


def test_mozillas_without_top_level_txt_is_found_by_its_record(tmp_path: Path) -> None:
    # Wheels from other build backends have no top_level.txt, only RECORD.
    ours(tmp_path)
    dist_info(tmp_path, "dockerflow", "2026.3.4", files=MOZILLA_FILES)
    assert providers(path=[str(tmp_path)]) == ["django-dockerflow", "dockerflow"]
    assert install_problem([str(tmp_path)]) is not None


def test_a_distribution_named_dockerflow_is_reported_whatever_it_lists(tmp_path: Path) -> None:
    ours(tmp_path)
    dist_info(tmp_path, "dockerflow", "0.1", files=["something_else/__init__.py"])
    assert providers(path=[str(tmp_path)]) == [DISTRIBUTION_NAME]
    assert install_problem([str(tmp_path)]) is not None


def test_any_other_distribution_providing_the_package_is_reported(tmp_path: Path) -> None:
    ours(tmp_path)
    dist_info(tmp_path, "dockerflow-fork", files=["dockerflow/__init__.py"])
    problem = install_problem([str(tmp_path)])
    assert problem is not None
    assert "provided by 2 installed distributions (django-dockerflow, dockerflow-fork)" in problem


def test_the_same_distribution_found_twice_counts_once(tmp_path: Path) -> None:
    # A checkout's egg-info on sys.path beside the installed dist-info, spelled
    # differently: one distribution, not two.
    checkout, site = tmp_path / "checkout", tmp_path / "site"
    dist_info(
        checkout, "Django_Dockerflow", "2026.11.0", top_level="dockerflow\n", suffix="egg-info"
    )
    ours(site)
    assert providers(path=[str(checkout), str(site)]) == [DISTRIBUTION_NAME]
    assert install_problem([str(checkout), str(site)]) is None


@pytest.mark.parametrize(
    ("top_level", "files"),
    [
        ("dockerflow_extras\n", None),  # a longer name that starts the same
        ("dockerflows\n", None),
        (None, ["dockerflow_extras/__init__.py", "vendor/dockerflow/__init__.py"]),
        (None, ["dockerflow.py,"]),  # a module, not the package; never ours either
        ("", None),
    ],
)
def test_names_that_merely_look_alike_are_not_providers(
    tmp_path: Path, top_level: str | None, files: list[str] | None
) -> None:
    ours(tmp_path)
    dist_info(tmp_path, "lookalike", top_level=top_level, files=files)
    assert providers(path=[str(tmp_path)]) == [DISTRIBUTION_NAME]
    assert install_problem([str(tmp_path)]) is None


def test_unreadable_metadata_never_raises(tmp_path: Path) -> None:
    ours(tmp_path)
    broken = dist_info(tmp_path, "broken")
    (broken / "top_level.txt").write_bytes(b"\xff\xfe not UTF-8 \x80")
    (broken / "RECORD").write_bytes(b"dockerflow/\xff\n")
    nameless = tmp_path / "nameless-1.0.dist-info"
    nameless.mkdir()
    (nameless / "METADATA").write_text("Metadata-Version: 2.1\n")
    (nameless / "top_level.txt").write_text("dockerflow\n")
    undecodable = dist_info(tmp_path, "undecodable", top_level="dockerflow\n")
    (undecodable / "METADATA").write_bytes(b"Name: \xff\xfe\n")
    assert providers(path=[str(tmp_path)]) == [DISTRIBUTION_NAME]
    assert install_problem([str(tmp_path)]) is None


def test_the_repair_hint_names_the_uninstall_and_the_reinstall() -> None:
    assert "`pip uninstall dockerflow`" in REPAIR_HINT
    assert "`pip install --force-reinstall django-dockerflow`" in REPAIR_HINT


def test_the_module_imports_nothing_from_django() -> None:
    code = (
        "import sys, dockerflow.distribution as d; d.install_problem();"
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"


# --- This environment ------------------------------------------------------------


def test_this_environment_is_installed_as_django_dockerflow() -> None:
    # The suite runs against `pip install -e .[dev]`: the distribution is ours,
    # and no stale `dockerflow` (this package's old name) is left beside it.
    assert importlib.metadata.distribution(DISTRIBUTION_NAME).metadata["Name"] == DISTRIBUTION_NAME
    assert providers() == [DISTRIBUTION_NAME]
    assert install_problem() is None


def test_the_distribution_declares_its_extras_and_scripts() -> None:
    dist = importlib.metadata.distribution(DISTRIBUTION_NAME)
    extras = dist.metadata.get_all("Provides-Extra") or []
    assert {"redis", "prometheus", "test", "lint", "docs", "dev"} <= set(extras)
    assert 'prometheus-client>=0.20; extra == "prometheus"' in (dist.requires or [])
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {
        "dockerflow-version": "dockerflow.version:main",
        "dockerflow-probe": "dockerflow.probe:main",
    }


# --- dockerflow.config.E004 through Django's check framework -------------------


def test_e004_is_silent_in_a_clean_install() -> None:
    ids = [message.id for message in checks.run_checks(tags=["dockerflow"])]
    assert health.CONFIG_DISTRIBUTION_CONFLICT not in ids


def test_e004_reports_mozillas_package_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mozillas(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    found = [
        message
        for message in checks.run_checks(tags=["dockerflow"])
        if message.id == health.CONFIG_DISTRIBUTION_CONFLICT
    ]
    assert len(found) == 1
    assert found[0].level == checks.ERROR
    assert "Mozilla's `dockerflow` distribution is installed beside django-dockerflow" in (
        found[0].msg
    )
    assert found[0].hint == REPAIR_HINT
    # A plain `manage.py check` (no --deploy, no tag) fails on it.
    with pytest.raises(SystemCheckError, match=r"dockerflow\.config\.E004"):
        call_command("check")
