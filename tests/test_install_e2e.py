"""Real installs: this package's wheel and Mozilla's ``dockerflow`` in a throwaway virtualenv.

Both distributions provide the ``dockerflow`` import package, so pip lets the
second one installed overwrite the first one's files. These tests do what a
user would: build this package's wheel, ``pip install`` it beside Mozilla's
``dockerflow==2026.3.4`` (from the package index, as ``bench/`` does) in a new
virtualenv, and run ``manage.py check`` on a tiny project:

- Mozilla's first, then ours: ``dockerflow.config.E004`` fails ``manage.py
  check``, and following its hint gives a clean install again;
- ours, then Mozilla's over it: Mozilla's files replaced ours, so nothing of
  ours runs at start-up, ``python -m dockerflow.version write`` silently writes
  nothing (Mozilla's module), and ``dockerflow-version write`` fails loudly.

The steps depend on each other and share one virtualenv, in the order below.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
MOZILLA = "dockerflow==2026.3.4"
#: pip may download; generous on a shared machine.
PIP_TIMEOUT = 600
SHA = "0123456789abcdef0123456789abcdef01234567"
VERSION_ARGS = [
    "--source=https://github.com/org/app",
    "--version=v1",
    f"--commit={SHA}",
    "--build=https://ci.example.com/1",
]

SETTINGS = """\
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "not-a-secret"
INSTALLED_APPS = ["dockerflow.django"]
MIDDLEWARE = ["dockerflow.django.middleware.DockerflowMiddleware"]
ROOT_URLCONF = "urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
"""
MANAGE = """\
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
"""


def clean_environ() -> dict[str, str]:
    """Our environment without what would put this checkout or its settings in play."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "PYTHONDEVMODE", "VIRTUAL_ENV"}
    }


def run(args: list[str], *, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env=clean_environ(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Venv:
    """A throwaway virtualenv and the tiny project whose ``manage.py`` it runs."""

    def __init__(self, root: Path, wheel: Path) -> None:
        self.root = root
        self.wheel = wheel
        self.bin = root / "venv" / "bin"
        self.project = root / "project"

    def pip(self, *args: str) -> None:
        done = run(
            [str(self.bin / "python"), "-m", "pip", *args, "--disable-pip-version-check"],
            cwd=self.root,  # never this checkout: pip must not see it as a source tree
            timeout=PIP_TIMEOUT,
        )
        assert done.returncode == 0, f"pip {' '.join(args)}:\n{done.stdout}{done.stderr}"

    def check(self) -> subprocess.CompletedProcess[str]:
        return run([str(self.bin / "python"), "manage.py", "check"], cwd=self.project)

    def installed(self) -> set[str]:
        done = run(
            [str(self.bin / "python"), "-m", "pip", "list", "--format=freeze"], cwd=self.root
        )
        return {line.split("==")[0].lower() for line in done.stdout.split()}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    root = tmp_path_factory.mktemp("install")
    # Build the wheel from a copy of what the Dockerfile copies, so the build
    # writes nothing (build/, *.egg-info) into this checkout.
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "dockerflow", source / "dockerflow", ignore=shutil.ignore_patterns("__pycache__")
    )
    built = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(root / "dist"),
            str(source),
        ],
        cwd=root,
        timeout=PIP_TIMEOUT,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (root / "dist").glob("django_dockerflow-*.whl")

    created = run([sys.executable, "-m", "venv", str(root / "venv")], cwd=root)
    assert created.returncode == 0, created.stderr
    env = Venv(root, wheel)
    env.project.mkdir()
    (env.project / "settings.py").write_text(SETTINGS)
    (env.project / "urls.py").write_text("urlpatterns = []\n")
    (env.project / "manage.py").write_text(MANAGE)
    # The same Django and django-health-check as this suite's, so pip reuses its cache.
    env.pip(
        "install",
        "--quiet",
        f"Django=={importlib.metadata.version('Django')}",
        f"django-health-check=={importlib.metadata.version('django-health-check')}",
    )
    return env


def test_mozillas_then_ours_fails_manage_py_check_with_e004(venv: Venv) -> None:
    venv.pip("install", "--quiet", MOZILLA)
    venv.pip("install", "--quiet", str(venv.wheel))
    assert {"dockerflow", "django-dockerflow"} <= venv.installed()
    done = venv.check()
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "(dockerflow.config.E004) Mozilla's `dockerflow` distribution is installed beside "
        "django-dockerflow" in done.stderr
    )
    assert "HINT: Run `pip uninstall dockerflow`" in done.stderr


def test_following_the_hint_repairs_the_install(venv: Venv) -> None:
    venv.pip("uninstall", "--yes", "dockerflow")
    # Uninstalling Mozilla's deleted the files the two shared: our app is gone,
    # so `manage.py check` has nothing to say (which is why the hint goes on).
    (site_packages,) = (venv.bin.parent / "lib").glob("python*/site-packages")
    assert not (site_packages / "dockerflow" / "django" / "apps.py").exists()
    venv.pip("install", "--quiet", "--force-reinstall", "--no-deps", str(venv.wheel))
    assert "dockerflow" not in venv.installed()
    done = venv.check()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "E004" not in done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_ours_only_console_scripts_work(venv: Venv) -> None:
    written = run([str(venv.bin / "dockerflow-version"), "write", *VERSION_ARGS], cwd=venv.root)
    assert written.returncode == 0, written.stderr
    assert (venv.root / "version.json").exists()
    assert run([str(venv.bin / "dockerflow-version"), "check"], cwd=venv.root).returncode == 0
    (venv.root / "version.json").unlink()


def test_mozillas_installed_over_ours_makes_dockerflow_version_fail_loudly(venv: Venv) -> None:
    venv.pip("install", "--quiet", MOZILLA)
    # `python -m dockerflow.version write` now runs Mozilla's module: exit 0, nothing written.
    silent = run(
        [str(venv.bin / "python"), "-m", "dockerflow.version", "write", *VERSION_ARGS],
        cwd=venv.root,
    )
    assert silent.returncode == 0
    assert not (venv.root / "version.json").exists()
    # The console script is ours alone: it cannot find its entry point and fails.
    loud = run([str(venv.bin / "dockerflow-version"), "write", *VERSION_ARGS], cwd=venv.root)
    assert loud.returncode != 0
    assert "ImportError" in loud.stderr
    assert not (venv.root / "version.json").exists()
