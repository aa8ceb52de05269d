"""The settings the middleware reads on every request, through ``conf``.

``conf`` keeps each parsed value until Django's ``setting_changed`` signal says
the setting changed (``override_settings`` sends it), so a request reads a
setting with one dictionary lookup; these tests hold it to what the settings
say, however they were configured and changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.signals import setting_changed
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


def test_a_deleted_setting_is_absent_once_django_says_it_changed() -> None:
    # Django's documented way to test without a setting: delete it inside
    # override_settings(). Deleting sends no signal, so send the one Django
    # documents for settings changed by tests.
    with override_settings(DOCKERFLOW_SUMMARY_LOG_QUERYSTRING=True):
        assert conf.SUMMARY_LOG_QUERYSTRING is True
        with override_settings():
            del settings.DOCKERFLOW_SUMMARY_LOG_QUERYSTRING
            setting_changed.send(
                sender=None, setting="DOCKERFLOW_SUMMARY_LOG_QUERYSTRING", value=None, enter=True
            )
            assert not hasattr(settings, "DOCKERFLOW_SUMMARY_LOG_QUERYSTRING")
            assert conf.SUMMARY_LOG_QUERYSTRING is False
        setting_changed.send(
            sender=None, setting="DOCKERFLOW_SUMMARY_LOG_QUERYSTRING", value=True, enter=False
        )
        assert conf.SUMMARY_LOG_QUERYSTRING is True


def test_a_value_is_read_once_until_the_setting_changes() -> None:
    # An assignment that sends no setting_changed is not seen: Django documents
    # override_settings (or the signal) for changing settings at run time.
    with override_settings(DOCKERFLOW_REQUEST_ID_HEADER_NAME="X-First"):
        assert conf.REQUEST_ID_HEADER_NAME == "X-First"
        settings.DOCKERFLOW_REQUEST_ID_HEADER_NAME = "X-Unannounced"
        assert conf.REQUEST_ID_HEADER_NAME == "X-First"
        setting_changed.send(
            sender=None, setting="DOCKERFLOW_REQUEST_ID_HEADER_NAME", value="", enter=True
        )
        assert conf.REQUEST_ID_HEADER_NAME == "X-Unannounced"
    assert conf.REQUEST_ID_HEADER_NAME == "X-Request-ID"


@pytest.mark.parametrize(
    "configure",
    [
        # settings.configure(): a UserSettingsHolder over Django's global_settings
        "settings.configure(DOCKERFLOW_REQUEST_ID_HEADER_NAME='X-Configured')",
        # conf imported while the settings are still unconfigured (LazySettings
        # wraps nothing yet), then configured
        "import dockerflow.django.conf;"
        "settings.configure(DOCKERFLOW_REQUEST_ID_HEADER_NAME='X-Configured')",
    ],
    ids=["configure", "imported-first"],
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
    # first read sets the settings up.
    (tmp_path / "prod_settings.py").write_text(
        "SECRET_KEY = 'test-only'\nDOCKERFLOW_REQUEST_ID_HEADER_NAME = 'X-From-Module'\n"
    )
    code = "\n".join(
        [
            "from django.conf import settings, Settings",
            "from dockerflow.django.conf import conf",
            "assert not settings.configured",
            "assert conf.REQUEST_ID_HEADER_NAME == 'X-From-Module'",
            "assert settings.configured",
            "assert conf.REQUEST_ID_HEADER_NAME == 'X-From-Module'",
            "assert conf.SUMMARY_LOG_QUERYSTRING is False",
        ]
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "prod_settings", "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode == 0, result.stderr


def test_deeply_nested_overrides() -> None:
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
