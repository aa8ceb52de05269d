"""Sphinx configuration."""

from __future__ import annotations

import os
import sys

import django
from sphinx.application import Sphinx

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

import dockerflow  # noqa: E402

project = "dockerflow"
author = "dockerflow maintainers"
copyright = "2026, dockerflow maintainers"
release = dockerflow.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "furo"
html_title = "dockerflow"
exclude_patterns = ["_build"]
nitpicky = False


def setup(app: Sphinx) -> None:
    """Add the ``setting`` directive and role used by settings.rst.

    ``.. setting:: DOCKERFLOW_X`` declares a setting (tests/test_docs_settings.py
    reads these declarations and compares them with ``dockerflow.django.conf.SETTINGS``);
    ``:setting:`DOCKERFLOW_X``` links to it from any page.
    """
    app.add_object_type("setting", "setting", indextemplate="pair: %s; setting")
