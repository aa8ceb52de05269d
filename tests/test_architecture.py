"""The package's shape: what loads when, what is public, and the import layering.

django-health-check (and through it dnspython and redis) costs tens of
milliseconds to import; a project that never runs a check must not pay it on
every ``manage.py`` command and worker boot.
"""

from __future__ import annotations

import ast
import importlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.python_subprocess import ROOT, run_python

PACKAGE = ROOT / "dockerflow"
TESTPROJECT = ROOT / "testproject"

#: What testproject loads at each step, reported as JSON by the child process.
STAGES = """
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")
seen = {}
import django
django.setup()
seen["setup"] = "health_check" in sys.modules
seen["metadata at setup"] = "importlib.metadata" in sys.modules
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
seen["worker boot"] = "health_check" in sys.modules
from dockerflow.django import heartbeat
heartbeat.configured_checks()
seen["checks resolved"] = "health_check" in sys.modules
print(json.dumps(seen))
"""


def test_health_check_is_imported_when_checks_are_first_resolved() -> None:
    # A fresh clone has never run collectstatic: WhiteNoise would warn (an error here).
    (TESTPROJECT / "staticfiles").mkdir(exist_ok=True)
    done = run_python(["-c", STAGES], cwd=TESTPROJECT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "setup": False,
        "metadata at setup": False,
        "worker boot": False,
        "checks resolved": True,
    }


def public_modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        if path.name == "__init__.py" or any(p.startswith("_") for p in relative.parts):
            continue
        if "commands" in relative.parts:  # management commands are run, not imported
            continue
        names.append(".".join(relative.parts))
    return names


@pytest.mark.parametrize("module", public_modules())
def test_every_public_module_declares_all(module: str) -> None:
    imported = importlib.import_module(module)
    exported = getattr(imported, "__all__", None)
    assert exported is not None, f"{module} has no __all__"
    missing = [name for name in exported if not hasattr(imported, name)]
    assert missing == [], f"{module}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize("module", public_modules())
def test_no_private_name_is_imported_across_modules(module: str) -> None:
    path = ROOT / Path(*module.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text())
    # The package imports its own modules relatively (``from .conf import conf``).
    private = [
        f"{'.' * node.level}{node.module or ''}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level > 0
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == [], f"{module} imports private names of other modules: {private}"


def test_the_import_layering_holds() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(ROOT / ".venv" / "bin")))
    if lint_imports is None:
        pytest.skip("lint-imports is not installed in .venv (make install installs it)")
    done = subprocess.run(
        [lint_imports], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
