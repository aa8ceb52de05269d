"""The settings the middleware reads on every request are read at access time.

``conf`` finds a ``DOCKERFLOW_*`` setting without the AttributeError that
``getattr(settings, name, default)`` costs for an absent one; these tests hold
it to exactly what ``getattr`` would answer, however the settings were changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from dockerflow.django.conf import conf


def test_default_when_absent() -> None:
    assert not hasattr(settings, "DOCKERFLOW_SUMMARY_LOG_QUERYSTRING")
    assert conf.SUMMARY_LOG_QUERYSTRING is False
    assert conf.SUMMARY_LOG_PROBES is False
    assert conf.REQUEST_ID_HEADER_NAME == "X-Request-ID"


def test_override_settings_and_nesting() -> None:
    with override_settings(DOCKERFLOW_REQUEST_ID_HEADER_NAME="X-Outer"):
        assert conf.REQUEST_ID_HEADER_NAME == "X-Outer"
        with override_settings(DOCKERFLOW_SUMMARY_LOG_PROBES=True):
            assert conf.REQUEST_ID_HEADER_NAME == "X-Outer"  # from the outer holder
            assert conf.SUMMARY_LOG_PROBES is True
            with override_settings(DOCKERFLOW_REQUEST_ID_HEADER_NAME="X-Inner"):
                assert conf.REQUEST_ID_HEADER_NAME == "X-Inner"
            assert conf.REQUEST_ID_HEADER_NAME == "X-Outer"
        assert conf.SUMMARY_LOG_PROBES is False
    assert conf.REQUEST_ID_HEADER_NAME == "X-Request-ID"


def test_a_deleted_setting_is_absent() -> None:
    with override_settings(DOCKERFLOW_SUMMARY_LOG_QUERYSTRING=True):
        with override_settings():
            del settings.DOCKERFLOW_SUMMARY_LOG_QUERYSTRING
            assert not hasattr(settings, "DOCKERFLOW_SUMMARY_LOG_QUERYSTRING")
            assert conf.SUMMARY_LOG_QUERYSTRING is False
        assert conf.SUMMARY_LOG_QUERYSTRING is True


def test_a_change_at_run_time_is_seen_at_once() -> None:
    settings.DOCKERFLOW_SUMMARY_LOG_QUERYSTRING = True
    try:
        assert conf.SUMMARY_LOG_QUERYSTRING is True
    finally:
        del settings.DOCKERFLOW_SUMMARY_LOG_QUERYSTRING
    assert conf.SUMMARY_LOG_QUERYSTRING is False


@pytest.mark.parametrize(
    "configure",
    [
        # settings.configure(): a UserSettingsHolder over Django's global_settings
        "settings.configure(DOCKERFLOW_REQUEST_ID_HEADER_NAME='X-Configured')",
        # a custom LazySettings wrapped object is read through getattr
        "settings.configure(DOCKERFLOW_REQUEST_ID_HEADER_NAME='X-Configured');"
        "from django.utils.functional import empty;"
        "holder = settings._wrapped;"
        "Odd = type('Odd', (), {'__getattr__': lambda self, name: getattr(holder, name)});"
        "settings._wrapped = Odd()",
        # conf imported while the settings are still unconfigured (LazySettings
        # wraps nothing yet), then configured
        "import dockerflow.django.conf;"
        "settings.configure(DOCKERFLOW_REQUEST_ID_HEADER_NAME='X-Configured')",
    ],
    ids=["configure", "unknown-holder", "imported-first"],
)
def test_other_ways_to_configure(configure: str) -> None:
    code = (
        "from django.conf import settings;"
        f"{configure};"
        "from dockerflow.django.conf import conf;"
        "assert conf.REQUEST_ID_HEADER_NAME == 'X-Configured', conf.REQUEST_ID_HEADER_NAME;"
        "assert conf.SUMMARY_LOG_PROBES is False"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_settings_module_read_before_and_after_setup(tmp_path: Path) -> None:
    # The production shape: DJANGO_SETTINGS_MODULE, one Settings object. The
    # first read sets the settings up; later reads take the Settings fast path
    # and still see assignments and deletions at once.
    (tmp_path / "prod_settings.py").write_text(
        "SECRET_KEY = 'test-only'\nDOCKERFLOW_REQUEST_ID_HEADER_NAME = 'X-From-Module'\n"
    )
    code = "\n".join(
        [
            "from django.conf import settings, Settings",
            "from dockerflow.django.conf import conf",
            "assert not settings.configured",
            "assert conf.REQUEST_ID_HEADER_NAME == 'X-From-Module'",
            "assert type(settings._wrapped) is Settings",
            "assert conf.REQUEST_ID_HEADER_NAME == 'X-From-Module'",
            "assert conf.SUMMARY_LOG_QUERYSTRING is False",
            "settings.DOCKERFLOW_SUMMARY_LOG_QUERYSTRING = True",
            "assert conf.SUMMARY_LOG_QUERYSTRING is True",
            "del settings.DOCKERFLOW_REQUEST_ID_HEADER_NAME",
            "assert conf.REQUEST_ID_HEADER_NAME == 'X-Request-ID'",
        ]
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "prod_settings", "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode == 0, result.stderr


def test_deeper_than_the_walk_is_left_to_getattr() -> None:
    # More nested overrides than conf walks itself: getattr answers, rightly.
    from contextlib import ExitStack

    with ExitStack() as stack:
        stack.enter_context(override_settings(DOCKERFLOW_REQUEST_ID_HEADER_NAME="X-Bottom"))
        for _ in range(80):
            stack.enter_context(override_settings())
        assert conf.REQUEST_ID_HEADER_NAME == "X-Bottom"
        assert conf.SUMMARY_LOG_PROBES is False
        stack.enter_context(override_settings(DOCKERFLOW_SUMMARY_LOG_PROBES=True))
        assert conf.SUMMARY_LOG_PROBES is True
    assert conf.REQUEST_ID_HEADER_NAME == "X-Request-ID"
