"""Find out whether the ``dockerflow`` import package is installed cleanly.

This library is distributed as ``django-dockerflow`` but imported as
``dockerflow``, the import name of Mozilla's ``dockerflow`` distribution, so
that a project switches by changing only its requirement. The price: pip lets
both be installed at once, and then the files of one overwrite the files of
the other in the same ``site-packages/dockerflow/`` directory. What runs is a
mix of the two, and uninstalling either one deletes files the other needs.

:func:`install_problem` reads the installed distributions' metadata (never
imports them) and says what is wrong, if anything. It imports nothing from
Django; the Django system check ``dockerflow.config.E004`` reports its text at
start-up.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterable, Sequence

__all__ = [
    "DISTRIBUTION_NAME",
    "IMPORT_PACKAGE",
    "MOZILLA_DISTRIBUTION_NAME",
    "REPAIR_HINT",
    "install_problem",
    "providers",
]

#: This library's distribution name on the package index.
DISTRIBUTION_NAME = "django-dockerflow"
#: Mozilla's distribution, which provides the same import package.
MOZILLA_DISTRIBUTION_NAME = "dockerflow"
#: The import package both distributions provide.
IMPORT_PACKAGE = "dockerflow"
#: How to repair an install that :func:`install_problem` complains about.
#: Uninstalling Mozilla's distribution deletes every file it listed, including
#: the shared ones it had overwritten, so ours must be reinstalled after it.
REPAIR_HINT = (
    f"Run `pip uninstall {MOZILLA_DISTRIBUTION_NAME}`, then "
    f"`pip install --force-reinstall {DISTRIBUTION_NAME}` to restore the files the two shared, "
    f"and replace `{MOZILLA_DISTRIBUTION_NAME}==...` by `{DISTRIBUTION_NAME}` in your requirements."
)

_SEPARATORS = r"[-_.]+"


def _canonical(name: str) -> str:
    """The name as the package index compares names (PEP 503): ``Django_Dockerflow`` is ours."""
    return re.sub(_SEPARATORS, "-", name).lower()


def _read(dist: importlib.metadata.Distribution, filename: str) -> str | None:
    """A metadata file's text; None when it is absent or unreadable (never raises)."""
    try:
        return dist.read_text(filename)
    except (OSError, ValueError):  # ValueError: bytes that are not UTF-8
        return None


def _provides(dist: importlib.metadata.Distribution, package: str) -> bool:
    """Whether ``dist`` installs the top-level import package ``package``."""
    top_level = _read(dist, "top_level.txt")
    if top_level is not None:
        return package in top_level.split()
    # Wheels built by other backends have no top_level.txt; their RECORD lists
    # every installed file. The substring test skips the parse for almost all.
    record = _read(dist, "RECORD") or ""
    prefix = f"{package}/"
    if prefix not in record:
        return False
    return any(line.startswith(prefix) for line in record.splitlines())


def _name(dist: importlib.metadata.Distribution) -> str | None:
    """The distribution's canonical name, or None when its METADATA has none."""
    try:
        # Not metadata["Name"]: from Python 3.12, [] on a missing field warns.
        names = dist.metadata.get_all("Name") or []
        name = names[0] if names else None
    except (OSError, ValueError):
        return None
    return _canonical(name) if isinstance(name, str) and name.strip() else None


def providers(package: str = IMPORT_PACKAGE, path: Sequence[str] | None = None) -> list[str]:
    """The names of the installed distributions that provide ``package``, sorted, each once.

    Distributions are looked for on ``path`` (default ``sys.path``), as Python
    finds them. Names are in their canonical form (lower case, ``-`` for ``_``
    and ``.``), so a distribution found twice (an egg-info in a checkout and the
    same distribution in ``site-packages``) counts once.
    """
    found: set[str] = set()
    for dist in _distributions(path):
        if _provides(dist, package):
            name = _name(dist)
            if name is not None:
                found.add(name)
    return sorted(found)


def install_problem(path: Sequence[str] | None = None) -> str | None:
    """Describe what is wrong with how ``dockerflow`` is installed, or return None.

    Something is wrong when Mozilla's ``dockerflow`` distribution is installed
    (beside this one, or instead of it under this library's code), or when more
    than one distribution provides the ``dockerflow`` import package. Only
    metadata is read (on ``path``, default ``sys.path``); nothing is imported.
    """
    names = providers(IMPORT_PACKAGE, path)
    if MOZILLA_DISTRIBUTION_NAME in names or _mozilla_installed(path):
        others = [name for name in names if name != MOZILLA_DISTRIBUTION_NAME]
        beside = f" beside {', '.join(others)}" if others else ""
        return (
            f"Mozilla's `{MOZILLA_DISTRIBUTION_NAME}` distribution is installed{beside}; it "
            f"provides the same `{IMPORT_PACKAGE}` import package as {DISTRIBUTION_NAME}, so "
            "the files of one have overwritten the files of the other and the code that runs "
            "is a mix of both."
        )
    if len(names) > 1:
        return (
            f"The `{IMPORT_PACKAGE}` import package is provided by {len(names)} installed "
            f"distributions ({', '.join(names)}), so their files overwrite each other and the "
            "code that runs is a mix of them."
        )
    return None


def _distributions(
    path: Sequence[str] | None, name: str | None = None
) -> Iterable[importlib.metadata.Distribution]:
    if path is None:
        return importlib.metadata.distributions(name=name)
    return importlib.metadata.distributions(name=name, path=list(path))


def _mozilla_installed(path: Sequence[str] | None) -> bool:
    """Whether a distribution named ``dockerflow`` is installed, whatever files it lists."""
    return any(True for _ in _distributions(path, MOZILLA_DISTRIBUTION_NAME))
