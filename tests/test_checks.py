"""The django-health-check adapter, DOCKERFLOW_CHECKS entries, built-ins on SQLite,
and the checks' place in Django's check framework."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core import checks as django_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import override_settings
from health_check.base import HealthCheck
from health_check.exceptions import (
    HealthCheckException,
    ServiceReturnedUnexpectedResult,
    ServiceUnavailable,
    ServiceWarning,
)

from dockerflow import health
from dockerflow.django import heartbeat
from dockerflow.django.adapter import CheckUnavailable, adapt
from dockerflow.django.checks import (
    MigrationsApplied,
    check_database_connected,
    check_migrations_applied,
    check_redis_connected,
)
from dockerflow.django.entries import resolve_entries, resolve_entry
from dockerflow.django.redaction import redact
from dockerflow.django.system_checks import check_heartbeat_entries
from tests.faultproxy import database_alias

HERE = "tests.test_checks"


@dataclasses.dataclass
class Raises(HealthCheck):  # type: ignore[misc]
    """Raises what it is told to; ``message`` is shown, ``token`` is a secret."""

    kind: str = "none"
    message: str = "down"
    token: str = dataclasses.field(default="tok-SECRET-123", repr=False)

    def run(self) -> None:
        exc: dict[str, BaseException] = {
            "warning": ServiceWarning(self.message),
            "unavailable": ServiceUnavailable(self.message),
            "unexpected": ServiceReturnedUnexpectedResult(self.message),
            "base": HealthCheckException(self.message),
            "bug": KeyError(f"token {self.token}"),
            "identified": CheckUnavailable(self.message, id="tests.E900"),
        }
        if self.kind in exc:
            raise exc[self.kind]


@dataclasses.dataclass
class AsyncRaises(HealthCheck):  # type: ignore[misc]
    kind: str = "none"

    async def run(self) -> None:
        if self.kind == "warning":
            raise ServiceWarning("async warn")
        if self.kind == "bug":
            raise ZeroDivisionError("oops")


def plain_check(app_configs: Any = None, **kwargs: Any) -> list[django_checks.CheckMessage]:
    return []


NOT_A_CHECK = 42


@pytest.fixture(autouse=True)
def _fresh_engine() -> Iterator[None]:
    heartbeat.reset()
    yield
    heartbeat.reset()


# --- The adapter -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "level", "check_id", "text"),
    [
        ("none", None, None, None),
        ("warning", django_checks.WARNING, health.WARNING_HEALTH_CHECK, "Warning: down"),
        ("unavailable", django_checks.ERROR, health.ERROR_HEALTH_CHECK_FAILED, "Unavailable: down"),
        (
            "unexpected",
            django_checks.ERROR,
            health.ERROR_HEALTH_CHECK_FAILED,
            "Unexpected Result: down",
        ),
        ("base", django_checks.ERROR, health.ERROR_HEALTH_CHECK_FAILED, "Unknown Error: down"),
        ("identified", django_checks.ERROR, "tests.E900", "down"),
    ],
)
def test_adapter_maps_health_check_outcomes(
    kind: str, level: int | None, check_id: str | None, text: str | None
) -> None:
    messages = adapt(Raises(kind=kind))()
    if level is None:
        assert messages == []
        return
    [message] = messages
    assert (message.level, message.id, message.msg) == (level, check_id, text)


def test_adapter_lets_unexpected_exceptions_through() -> None:
    # Only the heartbeat engine decides what an unexpected exception becomes.
    with pytest.raises(KeyError):
        adapt(Raises(kind="bug"))()


def test_unexpected_exception_is_generic_in_the_heartbeat(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        override_settings(DOCKERFLOW_CHECKS=[Raises(kind="bug")]),
        caplog.at_level(logging.ERROR, logger="dockerflow.checks"),
    ):
        [check] = heartbeat.run().checks
    [message] = check.messages
    assert message.id == health.ERROR_CHECK_RAISED
    assert message.level == django_checks.ERROR
    assert "KeyError" not in message.msg
    assert "Check raises failed" in message.msg
    assert "KeyError" in caplog.text  # the traceback is in the log
    assert "Raises(kind='bug'" not in message.msg


def test_adapter_is_a_django_system_check() -> None:
    check = adapt(Raises(kind="unavailable"))
    [message] = check(app_configs=None, databases=None)
    assert isinstance(message, django_checks.CheckMessage)


def test_adapter_runs_async_health_checks_from_sync_code() -> None:
    [message] = adapt(AsyncRaises(kind="warning"))()
    assert message.id == health.WARNING_HEALTH_CHECK
    assert adapt(AsyncRaises())() == []


async def test_adapter_sync_call_works_under_a_running_loop() -> None:
    # Someone calls the sync form from async code: it must not deadlock or refuse.
    [message] = adapt(AsyncRaises(kind="warning"))()
    assert message.id == health.WARNING_HEALTH_CHECK
    with pytest.raises(ZeroDivisionError):
        adapt(AsyncRaises(kind="bug"))()


async def test_adapter_acall_runs_sync_checks_in_a_thread() -> None:
    [message] = await adapt(Raises(kind="unavailable")).acall()
    assert message.id == health.ERROR_HEALTH_CHECK_FAILED
    assert await adapt(AsyncRaises()).acall() == []


def test_health_check_names_are_short_and_the_same_on_every_host() -> None:
    # Derived from the class, never from fields such as a hostname or a path.
    assert resolve_entry(Raises(kind="x", message="on host-1")).name == "raises"
    assert resolve_entry(_WithAddress()).name == "_withaddress"
    assert resolve_entry(("health_check.checks.Cache", {"alias": "default"})).name == "cache"
    assert [c.name for c in resolve_entries([Raises(), Raises(kind="warning")])] == [
        "raises",
        "raises #2",
    ]


@dataclasses.dataclass
class _WithAddress(HealthCheck):  # type: ignore[misc]
    thing: object = dataclasses.field(default_factory=object)

    def run(self) -> None:
        return None


@dataclasses.dataclass
class Leaky(HealthCheck):  # type: ignore[misc]
    url: str = "amqp://guest:leaky-pw@rabbit:5672//"

    def run(self) -> None:
        raise ServiceUnavailable(f"cannot reach {self.url}")


def test_names_and_messages_never_hold_url_credentials(caplog: pytest.LogCaptureFixture) -> None:
    with (
        override_settings(DOCKERFLOW_CHECKS=[Leaky()]),
        caplog.at_level(logging.DEBUG, logger="dockerflow"),
    ):
        [check] = heartbeat.run().checks
    assert check.name == "leaky"
    [message] = check.messages
    assert "leaky-pw" not in message.msg
    assert "amqp://guest:***@rabbit:5672//" in message.msg
    assert "amqp://guest:***@rabbit:5672//" in caplog.text
    assert "leaky-pw" not in caplog.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://u:p4ss@h/db", "postgres://u:***@h/db"),
        ("redis://:p4ss@h:6379", "redis://:***@h:6379"),
        ("host=h password=p4ss dbname=x", "host=h password=*** dbname=x"),
        ("{'PASSWORD': 'p4ss'}", "{'PASSWORD': '***'}"),
        ("nothing to see", "nothing to see"),
        ("http://host/path?x=1", "http://host/path?x=1"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


# --- DOCKERFLOW_CHECKS entries -------------------------------------------------------


def test_entry_function_path() -> None:
    check = resolve_entry(f"{HERE}.plain_check")
    assert check.name == "plain_check"
    assert check.call is plain_check
    assert check.aliases == (f"{HERE}.plain_check",)


def test_entry_health_check_class_path() -> None:
    check = resolve_entry(f"{HERE}.Raises")
    assert check.name == "raises"
    assert check.aliases == (f"{HERE}.Raises",)
    assert check.call is not None
    assert check.call() == []


def test_entry_class_path_with_kwargs() -> None:
    check = resolve_entry((f"{HERE}.Raises", {"kind": "warning", "message": "m"}))
    assert check.name == "raises"
    assert check.call is not None
    assert [m.id for m in check.call()] == [health.WARNING_HEALTH_CHECK]


def test_entry_instance_and_class_objects() -> None:
    assert resolve_entry(Raises(kind="x")).name == "raises"
    assert resolve_entry(Raises).name == "raises"
    assert resolve_entry(plain_check).name == "plain_check"


def test_entry_with_its_own_name() -> None:
    check = resolve_entry(
        {"check": f"{HERE}.Raises", "name": "queue-depth", "kwargs": {"kind": "warning"}}
    )
    assert (check.name, check.aliases, check.problem) == ("queue-depth", (f"{HERE}.Raises",), None)
    assert check.call is not None
    assert [m.id for m in check.call()] == [health.WARNING_HEALTH_CHECK]
    assert resolve_entry({"check": plain_check, "name": "plain"}).name == "plain"


def test_a_name_given_twice_is_a_problem() -> None:
    first, second, derived = resolve_entries(
        [
            {"check": f"{HERE}.plain_check", "name": "db"},
            {"check": f"{HERE}.Raises", "name": "db"},
            {"check": f"{HERE}.plain_check"},
        ]
    )
    assert (first.name, first.problem) == ("db", None)
    assert second.name == "db #2"
    assert second.problem is not None
    assert second.problem.id == health.CONFIG_CHECK_DUPLICATE_NAME
    assert "'db'" in second.problem.msg
    assert (derived.name, derived.problem) == ("plain_check", None)


def test_a_derived_name_never_takes_a_given_one() -> None:
    derived, given = resolve_entries(
        [f"{HERE}.plain_check", {"check": f"{HERE}.Raises", "name": "plain_check"}]
    )
    assert (derived.name, given.name) == ("plain_check #2", "plain_check")
    assert derived.problem is None
    assert given.problem is None


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "x"},
        {"check": f"{HERE}.plain_check", "nme": "x"},
        {"check": f"{HERE}.plain_check", "name": ""},
        {"check": f"{HERE}.plain_check", "name": 7},
        {"check": f"{HERE}.plain_check", "name": "two\nlines"},
        {"check": f"{HERE}.plain_check", "name": " padded "},
        {"check": f"{HERE}.plain_check", "name": "x" * 201},
        {"check": f"{HERE}.Raises", "kwargs": ["kind", "x"]},
    ],
    ids=["no-check", "unknown-key", "empty", "not-str", "newline", "spaces", "long", "kwargs"],
)
def test_bad_named_entries(entry: dict[str, Any]) -> None:
    check = resolve_entry(entry)
    assert check.problem is not None
    assert check.problem.id == health.CONFIG_CHECK_BAD_ENTRY


def test_hostile_but_printable_names_are_kept() -> None:
    name = 'quote" back\\slash é ✓'
    assert resolve_entry({"check": plain_check, "name": name}).name == name


@pytest.mark.parametrize(
    ("entry", "setting"),
    [
        (("health_check.checks.Cache", {"alias": "sessions"}), "CACHES"),
        (("health_check.checks.Database", {"alias": "replica"}), "DATABASES"),
        (("health_check.checks.Storage", {"alias": "media"}), "STORAGES"),
        (("dockerflow.django.checks.RedisConnected", {"alias": "sessions"}), "CACHES"),
        (("dockerflow.django.checks.MigrationsApplied", {"alias": "replica"}), "DATABASES"),
    ],
)
def test_an_alias_the_settings_do_not_define_fails_manage_py_check(
    entry: Any, setting: str
) -> None:
    # Found at start-up, not only by every heartbeat once deployed.
    with override_settings(DOCKERFLOW_CHECKS=[entry]):
        [error] = check_heartbeat_entries()
    assert error.id == health.CONFIG_CHECK_UNKNOWN_ALIAS
    assert setting in error.msg
    assert repr(entry[1]["alias"]) in error.msg


def test_entry_async_health_check_is_awaited() -> None:
    check = resolve_entry(AsyncRaises())
    assert check.is_async
    assert check.call is None


@pytest.mark.parametrize(
    ("entry", "check_id", "words"),
    [
        ("tests.nope.missing", health.CONFIG_CHECK_IMPORT, "cannot be imported"),
        ("not_a_dotted_path", health.CONFIG_CHECK_IMPORT, "cannot be imported"),
        (f"{HERE}.NOT_A_CHECK", health.CONFIG_CHECK_NOT_A_CHECK, "not a check function"),
        (f"{HERE}.HERE", health.CONFIG_CHECK_NOT_A_CHECK, "is a str"),
        ("collections.OrderedDict", health.CONFIG_CHECK_NOT_A_CHECK, "is a type"),
        ((f"{HERE}.Raises", {"nope": 1}), health.CONFIG_CHECK_ARGUMENTS, "cannot be created"),
        ((f"{HERE}.plain_check", {"a": 1}), health.CONFIG_CHECK_BAD_ENTRY, "only a django"),
        ((f"{HERE}.Raises",), health.CONFIG_CHECK_BAD_ENTRY, "pair"),
        ((f"{HERE}.Raises", "kind=x"), health.CONFIG_CHECK_BAD_ENTRY, "pair"),
        (42, health.CONFIG_CHECK_NOT_A_CHECK, "is a int"),
        (None, health.CONFIG_CHECK_NOT_A_CHECK, "is a NoneType"),
    ],
)
def test_bad_entries_are_named(entry: Any, check_id: str, words: str) -> None:
    check = resolve_entry(entry)
    assert check.problem is not None
    assert check.problem.id == check_id
    assert words in check.problem.msg
    assert check.name in check.problem.msg
    # The start-up check reports the same problem.
    with override_settings(DOCKERFLOW_CHECKS=[f"{HERE}.plain_check", entry]):
        [error] = check_heartbeat_entries()
    assert error.id == check_id


def test_bad_entry_secrets_are_not_repeated() -> None:
    check = resolve_entry(("amqp://user:pw-in-path@x", {}))
    assert check.problem is not None
    assert "pw-in-path" not in check.problem.msg


@pytest.mark.django_db
def test_bad_entries_fail_the_heartbeat_with_json_not_a_crash(client: Any) -> None:
    with override_settings(DOCKERFLOW_CHECKS=["tests.nope.missing", f"{HERE}.plain_check"]):
        response = client.get("/__heartbeat__")
        with override_settings(DEBUG=True):
            detailed = client.get("/__heartbeat__").json()
    assert response.status_code == 500
    assert response.json() == {"status": "error"}
    assert detailed["checks"] == {"tests.nope.missing": "error", "plain_check": "ok"}
    assert health.CONFIG_CHECK_IMPORT in detailed["details"]["tests.nope.missing"]["messages"]


def test_good_entries_pass_the_startup_check() -> None:
    entries = [f"{HERE}.plain_check", f"{HERE}.Raises", (f"{HERE}.Raises", {"kind": "x"})]
    with override_settings(DOCKERFLOW_CHECKS=entries):
        assert check_heartbeat_entries() == []
    assert check_heartbeat_entries() == []  # the default


@pytest.mark.django_db
def test_a_lone_string_setting_is_refused_and_the_defaults_run() -> None:
    # Never split into characters: reported at start-up (E002), defaults meanwhile.
    with override_settings(DOCKERFLOW_CHECKS=f"{HERE}.plain_check"):
        names = [c.name for c in heartbeat.run().checks]
        errors = django_checks.run_checks(tags=["dockerflow"])
    assert names == ["check_database_connected", "check_migrations_applied"]
    assert [e.id for e in errors] == [health.CONFIG_SETTING_WRONG_TYPE]


def test_manage_py_check_reports_bad_entries() -> None:
    with (
        override_settings(DOCKERFLOW_CHECKS=["tests.nope.missing"]),
        pytest.raises(SystemCheckError, match=r"dockerflow\.config\.E010.*tests\.nope\.missing"),
    ):
        call_command("check", tags=["dockerflow"], stdout=StringIO(), stderr=StringIO())


# --- Django's check framework ------------------------------------------------------------

framework_calls: list[str] = []


def framework_probe(app_configs: Any = None, **kwargs: Any) -> list[django_checks.CheckMessage]:
    framework_calls.append("called")
    return [django_checks.Error("backing service down", id="tests.E100")]


@override_settings(DOCKERFLOW_CHECKS=[f"{HERE}.framework_probe"])
def test_plain_manage_py_check_does_not_run_heartbeat_checks() -> None:
    framework_calls.clear()
    call_command("check", stdout=StringIO(), stderr=StringIO())
    call_command("check", tags=["dockerflow"], stdout=StringIO(), stderr=StringIO())
    assert framework_calls == []


@override_settings(DOCKERFLOW_CHECKS=[f"{HERE}.framework_probe"])
def test_check_deploy_tag_dockerflow_runs_them_and_names_the_check() -> None:
    framework_calls.clear()
    with pytest.raises(SystemCheckError) as excinfo:
        call_command(
            "check", deploy=True, tags=["dockerflow"], stdout=StringIO(), stderr=StringIO()
        )
    assert framework_calls == ["called"]
    assert "framework_probe: (tests.E100) backing service down" in str(excinfo.value)


@override_settings(
    DOCKERFLOW_CHECKS=[f"{HERE}.framework_probe"], SILENCED_SYSTEM_CHECKS=["tests.E100"]
)
def test_check_deploy_honours_silenced_checks() -> None:
    out = StringIO()
    call_command("check", deploy=True, tags=["dockerflow"], stdout=out, stderr=StringIO())
    assert "no issues" in out.getvalue()


# --- Built-in checks on SQLite ---------------------------------------------------------------


@pytest.mark.django_db
def test_database_connected_on_sqlite() -> None:
    assert check_database_connected() == []


@pytest.fixture
def extra_alias() -> Iterator[str]:
    """A second, broken database alias, added for one test."""
    with database_alias("broken", {"ENGINE": "django.db.backends.dummy"}) as alias:
        yield alias


@pytest.mark.django_db
def test_database_connected_checks_every_alias(extra_alias: str) -> None:
    [message] = check_database_connected()
    assert message.id == health.ERROR_MISCONFIGURED_DATABASE
    assert repr(extra_alias) in message.msg


@pytest.mark.django_db
def test_migrations_applied_on_the_test_database() -> None:
    assert check_migrations_applied() == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setting", "level"),
    [
        (None, django_checks.WARNING),
        ("warning", django_checks.WARNING),
        ("error", django_checks.ERROR),
    ],
)
def test_unapplied_migration(setting: str | None, level: int) -> None:
    from django.db.migrations.recorder import MigrationRecorder

    MigrationRecorder(connection).record_unapplied("sessions", "0001_initial")
    overrides = {} if setting is None else {"DOCKERFLOW_UNAPPLIED_MIGRATIONS_LEVEL": setting}
    with override_settings(**overrides):
        [message] = check_migrations_applied()
    assert message.id == health.WARNING_UNAPPLIED_MIGRATION
    assert message.level == level
    assert message.msg == "Unapplied migration sessions.0001_initial"  # Mozilla's words


@pytest.mark.django_db
def test_unapplied_migrations_only_for_the_apps_asked() -> None:
    from django.apps import apps
    from django.db.migrations.recorder import MigrationRecorder

    MigrationRecorder(connection).record_unapplied("sessions", "0001_initial")
    assert check_migrations_applied(app_configs=[apps.get_app_config("auth")]) == []


@pytest.mark.django_db
def test_one_message_per_unapplied_migration_as_mozilla() -> None:
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connection)
    unapplied = sorted(
        f"{app_label}.{name}"
        for app_label, name in recorder.applied_migrations()
        if app_label in {"auth", "contenttypes", "sessions"}
    )
    for migration in unapplied:
        recorder.record_unapplied(*migration.split("."))
    messages = check_migrations_applied()
    assert len(unapplied) > 10
    assert [m.msg for m in messages] == [f"Unapplied migration {m}" for m in unapplied]
    assert {m.id for m in messages} == {health.WARNING_UNAPPLIED_MIGRATION}


def test_migrations_cannot_be_checked_is_info() -> None:
    [message] = adapt(MigrationsApplied(alias="no-such-alias"))()
    assert message.id == health.INFO_CANT_CHECK_MIGRATIONS
    assert message.level == django_checks.INFO


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_redis_check_on_a_non_redis_cache() -> None:
    [message] = check_redis_connected()
    assert message.id == health.ERROR_MISSING_REDIS_CLIENT


@override_settings(CACHES={"other": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_redis_check_without_a_default_cache() -> None:
    [message] = check_redis_connected()
    assert message.id == health.ERROR_MISCONFIGURED_REDIS


@pytest.mark.django_db
def test_default_checks_are_database_and_migrations() -> None:
    result = heartbeat.run()
    assert [c.name for c in result.checks] == [
        "check_database_connected",
        "check_migrations_applied",
    ]
    assert result.status == "ok"


def test_every_id_is_in_the_checks_reference() -> None:
    from pathlib import Path

    reference = (Path(__file__).parent.parent / "docs" / "checks.rst").read_text()
    ids = [v for k, v in vars(health).items() if k.isupper() and isinstance(v, str)]
    assert ids
    missing = [i for i in ids if f"``{i}``" not in reference]
    assert missing == []


# --- Recipes that need no external service ------------------------------------------------


def test_storage_recipe(tmp_path: Any) -> None:
    storages = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        }
    }
    with override_settings(
        STORAGES=storages, DOCKERFLOW_CHECKS=[("health_check.checks.Storage", {})]
    ):
        result = heartbeat.run()
    assert [(c.name, c.status) for c in result.checks] == [("storage", "ok")]
    assert list(tmp_path.rglob("*.txt")) == []  # the probe file was removed


def test_storage_recipe_unknown_alias() -> None:
    with override_settings(DOCKERFLOW_CHECKS=[("health_check.checks.Storage", {"alias": "nope"})]):
        [check] = heartbeat.run().checks
    [message] = check.messages
    assert check.name == "storage:nope"
    assert message.id == health.CONFIG_CHECK_UNKNOWN_ALIAS
    assert "'nope', which STORAGES does not define" in message.msg


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    DOCKERFLOW_CHECKS=["health_check.checks.Cache", ("health_check.checks.Cache", {"alias": "x"})],
)
def test_cache_recipe_on_locmem() -> None:
    result = heartbeat.run()
    assert {c.name: c.status for c in result.checks} == {"cache": "ok", "cache:x": "error"}
