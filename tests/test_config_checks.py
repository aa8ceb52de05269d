"""The start-up configuration checks (tag ``dockerflow``), through Django's check framework."""

from __future__ import annotations

import math
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from dockerflow import health
from dockerflow.django.system_checks import MIDDLEWARE_PATH

#: Not callable, for DOCKERFLOW_VERSION_CALLBACK.
NOT_CALLABLE = 42


def custom_version(root: Any) -> dict[str, Any]:
    return {"version": "custom"}


def dockerflow_messages() -> list[checks.CheckMessage]:
    return checks.run_checks(tags=["dockerflow"])


def ids(messages: list[checks.CheckMessage]) -> list[str | None]:
    return [message.id for message in messages]


def only(messages: list[checks.CheckMessage], check_id: str) -> checks.CheckMessage:
    found = [message for message in messages if message.id == check_id]
    assert len(found) == 1, messages
    return found[0]


# --- A good configuration is silent ------------------------------------------


def test_the_test_settings_are_silent() -> None:
    assert dockerflow_messages() == []


def test_check_command_passes_on_a_good_configuration() -> None:
    stdout = StringIO()
    call_command("check", "--tag", "dockerflow", stdout=stdout, stderr=StringIO())
    assert "no issues" in stdout.getvalue()


def test_checks_are_registered_under_the_dockerflow_tag() -> None:
    assert "dockerflow" in checks.registry.registry.tags_available()


# --- dockerflow.config.E001: BASE_DIR missing ---------------------------------


def test_e001_base_dir_deleted() -> None:
    with override_settings():
        del settings.BASE_DIR
        message = only(dockerflow_messages(), health.CONFIG_BASE_DIR_MISSING)
    assert message.level == checks.ERROR
    assert "BASE_DIR" in message.msg
    assert message.hint is not None
    assert "DOCKERFLOW_VERSION_CALLBACK" in message.hint


def test_e001_base_dir_none() -> None:
    with override_settings(BASE_DIR=None):
        assert health.CONFIG_BASE_DIR_MISSING in ids(dockerflow_messages())


def test_e001_silent_with_a_custom_callback() -> None:
    with override_settings(DOCKERFLOW_VERSION_CALLBACK=f"{__name__}.custom_version"):
        del settings.BASE_DIR
        assert dockerflow_messages() == []


def test_e001_silent_with_a_callable_callback() -> None:
    with override_settings(DOCKERFLOW_VERSION_CALLBACK=custom_version, BASE_DIR=None):
        assert dockerflow_messages() == []


def test_e001_fails_the_check_command() -> None:
    with override_settings():
        del settings.BASE_DIR
        with pytest.raises(SystemCheckError, match=r"dockerflow\.config\.E001"):
            call_command("check", stdout=StringIO(), stderr=StringIO())


# --- dockerflow.config.E002: a setting of the wrong type ----------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DOCKERFLOW_HEARTBEAT_TIMEOUT", math.nan),
        ("DOCKERFLOW_HEARTBEAT_TIMEOUT", math.inf),
        ("DOCKERFLOW_HEARTBEAT_TIMEOUT", True),
        ("DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE", "5²3"),
        ("DOCKERFLOW_SUMMARY_LOG_QUERYSTRING", "False"),
        ("DOCKERFLOW_REQUEST_ID_HEADER_NAME", ""),
        ("DOCKERFLOW_CHECKS", "dockerflow.django.checks.check_database_connected"),
    ],
)
def test_e002_names_the_setting_and_the_value(name: str, value: Any) -> None:
    with override_settings(**{name: value}):
        message = only(dockerflow_messages(), health.CONFIG_SETTING_WRONG_TYPE)
    assert message.level == checks.ERROR
    assert name in message.msg
    assert repr(value) in message.msg
    assert "must be" in message.msg


def test_e002_one_message_per_bad_setting() -> None:
    with override_settings(
        DOCKERFLOW_HEARTBEAT_TIMEOUT=-1, DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE=200
    ):
        messages = [m for m in dockerflow_messages() if m.id == health.CONFIG_SETTING_WRONG_TYPE]
    assert len(messages) == 2
    assert {m.msg.split(" ", 1)[0] for m in messages} == {
        "DOCKERFLOW_HEARTBEAT_TIMEOUT",
        "DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE",
    }


def test_e002_silent_on_good_values() -> None:
    with override_settings(
        DOCKERFLOW_HEARTBEAT_TIMEOUT=2,
        DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE="503",
        DOCKERFLOW_SUMMARY_LOG_QUERYSTRING=True,
    ):
        assert dockerflow_messages() == []


def test_e002_fails_the_check_command_naming_the_value() -> None:
    with (
        override_settings(DOCKERFLOW_HEARTBEAT_TIMEOUT="5"),
        pytest.raises(SystemCheckError, match=r"(?s)E002.*DOCKERFLOW_HEARTBEAT_TIMEOUT is '5'"),
    ):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_e002_a_validator_that_raises_is_reported_not_crashed() -> None:
    class HostilePath:
        def __fspath__(self) -> str:
            raise RuntimeError("no path for you")

        def __repr__(self) -> str:
            return "<HostilePath>"

    with override_settings(DOCKERFLOW_DRAIN_FILE=HostilePath()):
        message = only(dockerflow_messages(), health.CONFIG_SETTING_WRONG_TYPE)
    assert "DOCKERFLOW_DRAIN_FILE is <HostilePath>" in message.msg


# --- dockerflow.config.E003: the version callback does not import -----------


@pytest.mark.parametrize(
    ("callback", "problem"),
    [
        ("no_such_module.get_version", "cannot be imported"),
        ("dockerflow.version.no_such_function", "cannot be imported"),
        ("notdotted", "cannot be imported"),
        ("tests.raising_on_import.get_version", "fails on import on purpose"),
        (f"{__name__}.NOT_CALLABLE", "is not callable (it is a int)"),
    ],
)
def test_e003_names_the_callback(callback: str, problem: str) -> None:
    with override_settings(DOCKERFLOW_VERSION_CALLBACK=callback):
        message = only(dockerflow_messages(), health.CONFIG_VERSION_CALLBACK_IMPORT)
    assert message.level == checks.ERROR
    assert repr(callback) in message.msg
    assert problem in message.msg


def test_e003_silent_on_an_importable_callback() -> None:
    with override_settings(DOCKERFLOW_VERSION_CALLBACK=f"{__name__}.custom_version"):
        assert dockerflow_messages() == []


def test_e003_silent_on_the_default() -> None:
    with override_settings(DOCKERFLOW_VERSION_CALLBACK="dockerflow.version.get_version"):
        assert dockerflow_messages() == []


# --- dockerflow.config.W001: the middleware not first -------------------------


def test_w001_names_the_position_and_the_first_middleware() -> None:
    stack = ["django.middleware.security.SecurityMiddleware", MIDDLEWARE_PATH]
    with override_settings(MIDDLEWARE=stack):
        message = only(dockerflow_messages(), health.CONFIG_MIDDLEWARE_NOT_FIRST)
    assert message.level == checks.WARNING
    assert "position 1" in message.msg
    assert "'django.middleware.security.SecurityMiddleware'" in message.msg


def test_w001_does_not_fail_the_check_command() -> None:
    stack = ["django.middleware.common.CommonMiddleware", MIDDLEWARE_PATH]
    stderr = StringIO()
    with override_settings(MIDDLEWARE=stack):
        call_command("check", stdout=StringIO(), stderr=stderr)
    assert "dockerflow.config.W001" in stderr.getvalue()


@pytest.mark.parametrize(
    "stack",
    [
        [MIDDLEWARE_PATH, "django.middleware.common.CommonMiddleware"],
        ["django.middleware.common.CommonMiddleware"],  # the URL include instead
        [],
        (MIDDLEWARE_PATH,),
    ],
)
def test_w001_silent(stack: list[str]) -> None:
    with override_settings(MIDDLEWARE=stack):
        assert dockerflow_messages() == []


def test_w001_silenced_by_silenced_system_checks() -> None:
    stack = ["django.middleware.common.CommonMiddleware", MIDDLEWARE_PATH]
    with override_settings(MIDDLEWARE=stack, SILENCED_SYSTEM_CHECKS=["dockerflow.config.W001"]):
        stderr = StringIO()
        call_command("check", stdout=StringIO(), stderr=stderr)
    assert "W001" not in stderr.getvalue()


def test_plain_check_runs_no_backing_service_check(django_db_blocker: Any) -> None:
    # Image builds run `manage.py check` without a database: with database
    # access blocked, the check must still pass.
    with django_db_blocker.block():
        call_command("check", stdout=StringIO(), stderr=StringIO())


# --- W030: a relative DOCKERFLOW_DRAIN_FILE ------------------------------------


@pytest.mark.parametrize("path", ["drain", "./run/drain", "../drain"])
def test_w030_relative_drain_file_is_named(path: str) -> None:
    with override_settings(DOCKERFLOW_DRAIN_FILE=path):
        message = only(dockerflow_messages(), health.CONFIG_DRAIN_FILE_RELATIVE)
    assert message.level == checks.WARNING
    assert repr(path) in message.msg


def test_w030_relative_pathlike_drain_file() -> None:
    from pathlib import Path

    with override_settings(DOCKERFLOW_DRAIN_FILE=Path("tmp") / "drain"):
        only(dockerflow_messages(), health.CONFIG_DRAIN_FILE_RELATIVE)


@pytest.mark.parametrize("path", [None, "/tmp/dockerflow-drain", "", 42])
def test_w030_silent_for_absolute_unset_or_mistyped(path: object) -> None:
    # Unset and absolute paths are fine; "" and 42 are E002's to report, once.
    with override_settings(DOCKERFLOW_DRAIN_FILE=path):
        assert health.CONFIG_DRAIN_FILE_RELATIVE not in ids(dockerflow_messages())
