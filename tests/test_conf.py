"""Every ``DOCKERFLOW_*`` setting in ``conf.SETTINGS``: its default, overridden, and hostile values.

``conf`` reads settings at access time, so ``override_settings`` must change
what it returns; the start-up check ``dockerflow.config.E002`` must refuse
each hostile value and name it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from django.conf import settings
from django.core import checks
from django.test import override_settings

from dockerflow import health
from dockerflow.django.conf import SETTINGS, Conf, conf


class Example(NamedTuple):
    """A valid non-default value, what ``conf`` returns for it, and values E002 refuses."""

    value: Any
    expected: Any
    hostile: tuple[Any, ...]


NOT_BOOL = ("False", "", 0, 1, None, math.nan)
NOT_LEVEL = ("critical", "", "warn", None, 1, ["error"])

#: One entry per setting in conf.SETTINGS (a test fails when one is missing).
EXAMPLES: dict[str, Example] = {
    "DOCKERFLOW_CHECKS": Example(
        ["tests.test_conf.a_check"],
        ["tests.test_conf.a_check"],
        ("dockerflow.django.checks.check_database_connected", None, 1, {"a": 1}, b"x"),
    ),
    "DOCKERFLOW_VERSION_CALLBACK": Example(
        "tests.test_conf.a_version", "tests.test_conf.a_version", ("", None, 1, math.nan, b"x")
    ),
    "DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE": Example(
        503,
        503,
        (True, False, 200, 399, 600, 503.0, math.nan, math.inf, "", "abc", "-503", "5²3", "٥٠٣"),
    ),
    "DOCKERFLOW_HEARTBEAT_TIMEOUT": Example(
        0.25, 0.25, (0, -1, math.nan, math.inf, -math.inf, True, "5", "", None)
    ),
    "DOCKERFLOW_HEARTBEAT_CACHE_SECONDS": Example(
        3, 3.0, (-0.5, math.nan, math.inf, True, "0", "", None)
    ),
    "DOCKERFLOW_HEARTBEAT_SHOW_DETAILS": Example(True, True, NOT_BOOL),
    "DOCKERFLOW_METRICS_SHOW_CHECKS": Example(True, True, NOT_BOOL),
    "DOCKERFLOW_HEARTBEAT_FAIL_LEVEL": Example("WARNING", "warning", NOT_LEVEL),
    "DOCKERFLOW_UNAPPLIED_MIGRATIONS_LEVEL": Example("Error", "error", NOT_LEVEL),
    "DOCKERFLOW_REQUEST_ID_HEADER_NAME": Example(
        "X-Cloud-Trace-Context",
        "X-Cloud-Trace-Context",
        ("", "X Request", "X-Request-ID\r\nX-Evil: 1", "X-Ré", "X:ID", None, 1),
    ),
    "DOCKERFLOW_SUMMARY_LOG_QUERYSTRING": Example(True, True, NOT_BOOL),
    "DOCKERFLOW_SUMMARY_LOG_PROBES": Example(True, True, NOT_BOOL),
    "DOCKERFLOW_DRAIN_FILE": Example(
        Path("/tmp/drain"), "/tmp/drain", ("", 1, True, b"/tmp/drain", math.nan)
    ),
    "DOCKERFLOW_ERROR_ENDPOINT": Example(True, True, NOT_BOOL),
    "DOCKERFLOW_ERROR_ENDPOINT_TOKEN": Example(
        "s3cret-token-0123456789",
        "s3cret-token-0123456789",
        (
            "",
            "short-token",
            " s3cret-token-0123456789 ",
            "s3cret-token\n0123456789",
            "s3cret-tøken-0123456789",
            12345678901234567890,
            b"s3cret-token-0123456789",
            math.nan,
        ),
    ),
}

HOSTILE = [
    pytest.param(name, value, id=f"{name}={value!r}")
    for name, example in EXAMPLES.items()
    for value in example.hostile
]


def a_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return []


def a_version(root: Any) -> dict[str, Any]:
    return {}


def attribute(name: str) -> str:
    return name.removeprefix("DOCKERFLOW_")


def normalise(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [normalise(item) for item in value]
    return value


def wrong_type_messages() -> list[checks.CheckMessage]:
    return [
        message
        for message in checks.run_checks(tags=["dockerflow"])
        if message.id == health.CONFIG_SETTING_WRONG_TYPE
    ]


def test_every_setting_has_examples() -> None:
    missing = sorted(set(SETTINGS) - set(EXAMPLES))
    assert not missing, f"add a valid value and hostile values for {missing} to EXAMPLES"
    assert not set(EXAMPLES) - set(SETTINGS), "EXAMPLES names a setting conf does not know"


def test_every_setting_has_a_conf_property() -> None:
    for name in SETTINGS:
        assert isinstance(getattr(Conf, attribute(name), None), property), name


def test_the_test_settings_define_no_dockerflow_setting() -> None:
    # The default tests below rely on it.
    assert not [name for name in dir(settings) if name in SETTINGS]


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_default(name: str) -> None:
    assert normalise(getattr(conf, attribute(name))) == normalise(SETTINGS[name].default)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_default_is_valid(name: str) -> None:
    assert SETTINGS[name].validate(SETTINGS[name].default)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_overridden_at_run_time(name: str) -> None:
    example = EXAMPLES[name]
    assert normalise(example.expected) != normalise(SETTINGS[name].default)
    with override_settings(**{name: example.value}):
        assert normalise(getattr(conf, attribute(name))) == normalise(example.expected)
        assert wrong_type_messages() == []
    # and back to the default once the override ends
    assert normalise(getattr(conf, attribute(name))) == normalise(SETTINGS[name].default)


@pytest.mark.parametrize(("name", "value"), HOSTILE)
def test_hostile_value_is_refused_by_name(name: str, value: Any) -> None:
    assert not SETTINGS[name].validate(value)
    with override_settings(**{name: value}):
        (message,) = wrong_type_messages()
    assert SETTINGS[name].expected in message.msg
    if SETTINGS[name].secret:
        assert message.msg.startswith(f"{name} is a {type(value).__name__} (value hidden);")
        assert repr(value) not in message.msg
    else:
        assert message.msg.startswith(f"{name} is {value!r};")


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_expected_is_described(name: str) -> None:
    # The description ends up in the E002 message after "it must be".
    assert SETTINGS[name].expected.strip()


def test_status_code_accepts_a_numeric_string_like_mozilla() -> None:
    with override_settings(DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE="503"):
        assert conf.HEARTBEAT_FAILED_STATUS_CODE == 503
        assert wrong_type_messages() == []


def test_checks_may_be_a_tuple() -> None:
    with override_settings(DOCKERFLOW_CHECKS=("tests.test_conf.a_check",)):
        assert conf.CHECKS == ["tests.test_conf.a_check"]
        assert wrong_type_messages() == []


def test_version_callback_may_be_a_callable() -> None:
    with override_settings(DOCKERFLOW_VERSION_CALLBACK=a_version):
        assert conf.VERSION_CALLBACK is a_version
        assert wrong_type_messages() == []


def test_drain_file_none_is_off() -> None:
    with override_settings(DOCKERFLOW_DRAIN_FILE=None):
        assert conf.DRAIN_FILE is None
        assert wrong_type_messages() == []
