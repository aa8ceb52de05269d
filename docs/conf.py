"""Sphinx configuration."""

from __future__ import annotations

import os
import sys

import django

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
