"""Security, in process: the ``/__error__`` guard, probe headers, nothing revealed.

The same properties are checked through real gunicorn and uvicorn processes,
with real services cut by the fault proxy, in ``test_security_e2e.py``.
"""

from __future__ import annotations

import hmac
import json
import logging
import platform
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings
from django.core import checks
from django.core.checks import run_checks
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import include, path

from dockerflow import health
from dockerflow.django import views
from dockerflow.django.conf import SETTINGS, conf
from dockerflow.django.signals import heartbeat_passed
from dockerflow.logging import MozlogFormatter

pytestmark = pytest.mark.django_db

TOKEN = "error-endpoint-token-0123456789"
TOKEN_HEADER = "X-Dockerflow-Error-Token"
SECRET = "s3cr3t-Pa55w0rd-do-not-leak"
PROBES = ["/__version__", "/__heartbeat__", "/__lbheartbeat__"]

# A URLconf that mounts the endpoints with include() instead of the middleware.
urlpatterns = [path("", include("dockerflow.django.urls"))]
INCLUDE_URLCONF = "tests.test_security"
NO_MIDDLEWARE = [m for m in settings.MIDDLEWARE if "dockerflow" not in m]


def error_client(**kwargs: Any) -> Client:
    # The test client re-raises view exceptions by default; we want the response.
    return Client(raise_request_exception=False, **kwargs)


@pytest.fixture
def got_exceptions() -> Iterator[list[Any]]:
    """Requests for which Django sent ``got_request_exception`` (what Sentry hooks)."""
    seen: list[Any] = []

    def receiver(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        seen.append(request)

    got_request_exception.connect(receiver)
    yield seen
    got_request_exception.disconnect(receiver)


# --- /__error__: off by default ---------------------------------------------------


def test_error_endpoint_setting_defaults() -> None:
    assert conf.ERROR_ENDPOINT is False
    assert conf.ERROR_ENDPOINT_TOKEN is None
    assert SETTINGS["DOCKERFLOW_ERROR_ENDPOINT_TOKEN"].secret is True


@override_settings(DOCKERFLOW_ERROR_ENDPOINT=True, DOCKERFLOW_ERROR_ENDPOINT_TOKEN=TOKEN)
def test_error_endpoint_settings_overridden() -> None:
    assert conf.ERROR_ENDPOINT is True
    assert conf.ERROR_ENDPOINT_TOKEN == TOKEN


@pytest.mark.parametrize("suffix", ["", "/"])
def test_error_endpoint_off_by_default_is_the_projects_404(
    suffix: str, got_exceptions: list[Any]
) -> None:
    response = error_client().get("/__error__" + suffix, HTTP_X_DOCKERFLOW_ERROR_TOKEN=TOKEN)
    assert response.status_code == 404
    assert got_exceptions == []


@override_settings(DEBUG=True)
def test_error_endpoint_off_even_with_debug(got_exceptions: list[Any]) -> None:
    assert error_client().get("/__error__").status_code == 404
    assert got_exceptions == []


@override_settings(DOCKERFLOW_ERROR_ENDPOINT=False, DOCKERFLOW_ERROR_ENDPOINT_TOKEN=TOKEN)
def test_token_alone_does_not_switch_it_on() -> None:
    response = error_client().get("/__error__", HTTP_X_DOCKERFLOW_ERROR_TOKEN=TOKEN)
    assert response.status_code == 404


# --- /__error__: on, guarded ------------------------------------------------------


@override_settings(DOCKERFLOW_ERROR_ENDPOINT=True, DEBUG=False)
def test_on_without_token_is_refused_in_production(got_exceptions: list[Any]) -> None:
    assert error_client().get("/__error__").status_code == 404
    assert got_exceptions == []


@override_settings(DOCKERFLOW_ERROR_ENDPOINT=True, DEBUG=True)
def test_on_without_token_is_served_with_debug() -> None:
    with pytest.raises(views.ErrorEndpointCalled):
        Client().get("/__error__")


@override_settings(DOCKERFLOW_ERROR_ENDPOINT=True, DOCKERFLOW_ERROR_ENDPOINT_TOKEN=TOKEN)
@pytest.mark.parametrize(
    "offered",
    [
        None,
        "",
        TOKEN[:-1],
        TOKEN + "x",
        TOKEN.upper(),
        " " + TOKEN,
        "x" * 10_000,
        "tok\u00e9n-\u2603-\U0001f600",
    ],
    ids=["missing", "empty", "prefix", "longer", "case", "space", "huge", "unicode"],
)
def test_wrong_token_is_the_projects_404(offered: str | None, got_exceptions: list[Any]) -> None:
    headers = {} if offered is None else {"HTTP_X_DOCKERFLOW_ERROR_TOKEN": offered}
    response = error_client().get("/__error__", **headers)
    assert response.status_code == 404
    assert TOKEN.encode() not in response.content
    assert got_exceptions == []


@override_settings(
    DOCKERFLOW_ERROR_ENDPOINT=True, DOCKERFLOW_ERROR_ENDPOINT_TOKEN=TOKEN, DEBUG=True
)
def test_token_is_required_even_with_debug() -> None:
    assert error_client().get("/__error__").status_code == 404


@override_settings(DOCKERFLOW_ERROR_ENDPOINT=True, DOCKERFLOW_ERROR_ENDPOINT_TOKEN=TOKEN)
@pytest.mark.parametrize("suffix", ["", "/"])
def test_right_token_raises_through_djangos_error_handling(
    suffix: str, got_exceptions: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = error_client().get("/__error__" + suffix, HTTP_X_DOCKERFLOW_ERROR_TOKEN=TOKEN)
    assert response.status_code == 500
    assert len(got_exceptions) == 1  # error reporting tools hook this signal
    assert TOKEN.encode() not in response.content
    assert "The /__error__ endpoint was called" in caplog.messages
    reported = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert reported, "Django's request logger did not get the exception"
    exc_info = reported[0].exc_info
    assert exc_info is not None
    assert isinstance(exc_info[1], views.ErrorEndpointCalled)
    summaries = [r for r in caplog.records if r.name == "request.summary"]
    assert [getattr(r, "path", None) for r in summaries] == ["/__error__" + suffix]
    assert getattr(summaries[0], "code", None) == 500
    assert getattr(summaries[0], "errno", None) == 500
    assert all(TOKEN not in MozlogFormatter().format(r) for r in caplog.records)


@override_settings(DOCKERFLOW_ERROR_ENDPOINT=True, DOCKERFLOW_ERROR_ENDPOINT_TOKEN=TOKEN)
async def test_right_token_async(got_exceptions: list[Any]) -> None:
    client = AsyncClient(raise_request_exception=False)
    response = await client.get("/__error__", headers={TOKEN_HEADER: TOKEN})
    assert response.status_code == 500
    assert len(got_exceptions) == 1
    assert (await client.get("/__error__")).status_code == 404


@override_settings(DOCKERFLOW_ERROR_ENDPOINT=True, DOCKERFLOW_ERROR_ENDPOINT_TOKEN=TOKEN)
def test_token_compared_in_constant_time_on_equal_length_digests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    error_client().get("/__error__", HTTP_X_DOCKERFLOW_ERROR_TOKEN="short")
    error_client().get("/__error__", HTTP_X_DOCKERFLOW_ERROR_TOKEN=TOKEN)
    assert len(compared) == 2
    # Equal-length digests: the time taken says nothing about the token's length.
    assert all(isinstance(a, bytes) and len(a) == len(b) == 32 for a, b in compared)


@override_settings(
    ROOT_URLCONF=INCLUDE_URLCONF,
    MIDDLEWARE=NO_MIDDLEWARE,
    DOCKERFLOW_ERROR_ENDPOINT=True,
    DOCKERFLOW_ERROR_ENDPOINT_TOKEN=TOKEN,
)
def test_urlconf_mount_is_guarded_the_same_way(got_exceptions: list[Any]) -> None:
    assert error_client().get("/__error__").status_code == 404
    assert error_client().get("/__error__", HTTP_X_DOCKERFLOW_ERROR_TOKEN="nope").status_code == 404
    assert got_exceptions == []
    response = error_client().get("/__error__", HTTP_X_DOCKERFLOW_ERROR_TOKEN=TOKEN)
    assert response.status_code == 500
    assert len(got_exceptions) == 1


@override_settings(ROOT_URLCONF=INCLUDE_URLCONF, MIDDLEWARE=NO_MIDDLEWARE)
def test_urlconf_mount_is_off_by_default() -> None:
    assert error_client().get("/__error__").status_code == 404


# --- /__error__: start-up checks --------------------------------------------------


def config_messages() -> list[checks.CheckMessage]:
    return [m for m in run_checks(tags=["dockerflow"]) if m.id and "config" in m.id]


@pytest.mark.parametrize(
    ("overrides", "warned"),
    [
        ({}, False),
        ({"DOCKERFLOW_ERROR_ENDPOINT": True}, True),
        ({"DOCKERFLOW_ERROR_ENDPOINT": True, "DEBUG": True}, False),
        ({"DOCKERFLOW_ERROR_ENDPOINT": True, "DOCKERFLOW_ERROR_ENDPOINT_TOKEN": TOKEN}, False),
        ({"DOCKERFLOW_ERROR_ENDPOINT_TOKEN": TOKEN}, False),
    ],
)
def test_unreachable_error_endpoint_is_reported(overrides: dict[str, Any], warned: bool) -> None:
    with override_settings(**overrides):
        ids = [m.id for m in config_messages()]
    assert (health.CONFIG_ERROR_ENDPOINT_UNREACHABLE in ids) is warned


@pytest.mark.parametrize(
    "token",
    ["short-" + SECRET[:5], SECRET + "\n", " " + SECRET, SECRET + "\u00e9", b"x" * 20, 12345],
    ids=["short", "newline", "space", "non-ascii", "bytes", "int"],
)
def test_bad_token_is_reported_without_its_value(token: object) -> None:
    with override_settings(DOCKERFLOW_ERROR_ENDPOINT_TOKEN=token):
        messages = [m for m in config_messages() if m.id == health.CONFIG_SETTING_WRONG_TYPE]
    assert len(messages) == 1
    text = f"{messages[0].msg} {messages[0].hint}"
    assert "DOCKERFLOW_ERROR_ENDPOINT_TOKEN" in text
    assert "value hidden" in text
    assert SECRET[:5] not in text
    assert "xxxxx" not in text
    assert "12345" not in text


@override_settings(DOCKERFLOW_ERROR_ENDPOINT_TOKEN=TOKEN)
def test_good_token_is_accepted() -> None:
    assert not [m for m in config_messages() if m.id == health.CONFIG_SETTING_WRONG_TYPE]


# --- Probes carry no-store and nosniff on every answer ----------------------------


def raising_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    raise RuntimeError(f"password={SECRET} at {Path(__file__)}")


def failing_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [checks.Error(f"cannot log in with password={SECRET}", id="tests.E900")]


def raising_version(root: Any) -> Any:
    raise OSError(f"cannot read {root}/version.json: password={SECRET}")


def raising_receiver(sender: Any, **kwargs: Any) -> None:
    raise RuntimeError(f"receiver failed: password={SECRET}")


PROBE_ANSWERS: list[tuple[str, str, dict[str, Any]]] = [
    ("get", "/__lbheartbeat__", {}),
    ("head", "/__lbheartbeat__", {}),
    ("get", "/__version__", {}),
    ("get", "/__version__", {"DOCKERFLOW_VERSION_CALLBACK": raising_version}),
    ("get", "/__version__", {"BASE_DIR": Path("/nonexistent-dir")}),
    ("get", "/__heartbeat__", {}),
    ("head", "/__heartbeat__", {}),
    ("get", "/__heartbeat__", {"DOCKERFLOW_CHECKS": ["tests.test_security.failing_check"]}),
    ("get", "/__heartbeat__", {"DOCKERFLOW_CHECKS": ["tests.test_security.raising_check"]}),
    ("get", "/__heartbeat__", {"DOCKERFLOW_CHECKS": ["tests.test_security.no_such_check"]}),
    ("post", "/__heartbeat__", {}),
    ("delete", "/__lbheartbeat__", {}),
    ("options", "/__version__", {}),
    ("get", "/__lbheartbeat__", {"DOCKERFLOW_DRAIN_FILE": Path(__file__)}),
    ("get", "/__heartbeat__", {"DOCKERFLOW_DRAIN_FILE": Path(__file__)}),
]
ANSWER_IDS = [
    "lb",
    "lb-head",
    "version",
    "version-raises",
    "version-missing",
    "hb",
    "hb-head",
    "hb-fails",
    "hb-check-raises",
    "hb-bad-entry",
    "hb-post",
    "lb-delete",
    "version-options",
    "lb-draining",
    "hb-draining",
]


@pytest.mark.parametrize(("method", "url", "overrides"), PROBE_ANSWERS, ids=ANSWER_IDS)
def test_every_probe_answer_is_no_store_nosniff(
    client: Client, method: str, url: str, overrides: dict[str, Any]
) -> None:
    with override_settings(**overrides):
        response = getattr(client, method)(url)
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(("method", "url", "overrides"), PROBE_ANSWERS, ids=ANSWER_IDS)
async def test_every_async_probe_answer_is_no_store_nosniff(
    async_client: AsyncClient, method: str, url: str, overrides: dict[str, Any]
) -> None:
    with override_settings(**overrides):
        response = await getattr(async_client, method)(url)
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


@override_settings(ROOT_URLCONF=INCLUDE_URLCONF, MIDDLEWARE=NO_MIDDLEWARE)
@pytest.mark.parametrize("url", PROBES)
def test_urlconf_mounted_probes_are_no_store_nosniff(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


# --- Probes reveal nothing beyond the status in production ------------------------

#: Strings that must never reach a probe's body in production.
REVEALING = [
    SECRET,
    "Traceback",
    'File "',
    "site-packages",
    sys.prefix,
    str(Path(__file__).parent),
    f"Python {platform.python_version()}",
    f"Python/{platform.python_version()}",
    f"Django {django.get_version()}",
    f"Django/{django.get_version()}",
    "RuntimeError",
    "OSError",
    "no_such_check",
    "tests.E900",
    "<html",
    "<!DOCTYPE",
]


def assert_reveals_nothing(response: HttpResponse) -> Any:
    assert response["Content-Type"] == "application/json", response.content[:200]
    text = response.content.decode()
    for needle in REVEALING:
        assert needle not in text, f"{needle!r} in {text!r}"
    for name, value in response.items():
        for needle in (SECRET, platform.python_version(), django.get_version()):
            assert needle not in value, f"{needle!r} in header {name}: {value!r}"
    return json.loads(text)


@pytest.mark.parametrize(
    "checks_setting",
    [["tests.test_security.failing_check"], ["tests.test_security.raising_check"]],
    ids=["fails", "raises"],
)
def test_failing_heartbeat_says_only_error(
    client: Client, checks_setting: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(DOCKERFLOW_CHECKS=checks_setting, DEBUG=False):
        response = client.get("/__heartbeat__")
    assert response.status_code == 500
    assert assert_reveals_nothing(response) == {"status": "error"}


def test_heartbeat_with_an_unimportable_check_is_a_bare_json_error(client: Client) -> None:
    with override_settings(DOCKERFLOW_CHECKS=["tests.test_security.no_such_check"]):
        response = client.get("/__heartbeat__")
    assert response.status_code >= 500
    body = assert_reveals_nothing(response)
    assert set(body) <= {"status", "error"}
    assert body.get("status", "error") == "error"


def test_healthy_heartbeat_says_only_ok(client: Client) -> None:
    with override_settings(DOCKERFLOW_CHECKS=[], DEBUG=False):
        response = client.get("/__heartbeat__")
    assert response.status_code == 200
    assert assert_reveals_nothing(response) == {"status": "ok"}


def test_details_appear_with_debug_so_the_above_can_fail(client: Client) -> None:
    with override_settings(DOCKERFLOW_CHECKS=["tests.test_security.failing_check"], DEBUG=True):
        body = client.get("/__heartbeat__").json()
    assert "checks" in body
    assert "details" in body


def raising_engine(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(f"engine broke: password={SECRET} in {Path(__file__)}")


async def araising_engine(*args: Any, **kwargs: Any) -> Any:
    raising_engine()


def test_engine_failure_is_a_bare_json_error(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dockerflow.django import heartbeat as engine

    monkeypatch.setattr(engine, "run", raising_engine)
    response = client.get("/__heartbeat__")
    assert response.status_code == 500
    assert assert_reveals_nothing(response) == {"status": "error"}


async def test_engine_failure_is_a_bare_json_error_async(
    async_client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dockerflow.django import heartbeat as engine

    monkeypatch.setattr(engine, "arun", araising_engine)
    response = await async_client.get("/__heartbeat__")
    assert response.status_code == 500
    assert assert_reveals_nothing(response) == {"status": "error"}


@pytest.mark.parametrize("url", ["/__lbheartbeat__", "/__heartbeat__"])
def test_draining_probe_reveals_nothing(client: Client, url: str) -> None:
    with override_settings(DOCKERFLOW_DRAIN_FILE=Path(__file__)):
        response = client.get(url)
    assert response.status_code == 503
    assert_reveals_nothing(response)


def test_version_callback_failure_reveals_nothing(client: Client) -> None:
    with override_settings(DOCKERFLOW_VERSION_CALLBACK=raising_version):
        response = client.get("/__version__")
    assert response.status_code == 500
    assert set(assert_reveals_nothing(response)) == {"error"}


def test_malformed_version_json_reveals_no_path(client: Client, tmp_path: Path) -> None:
    (tmp_path / "version.json").write_text('{"version": ')
    with override_settings(BASE_DIR=tmp_path):
        response = client.get("/__version__")
    assert response.status_code == 500
    assert_reveals_nothing(response)
    assert str(tmp_path) not in response.content.decode()


def test_signal_receiver_that_raises_never_fails_the_heartbeat(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    heartbeat_passed.connect(raising_receiver)
    try:
        with override_settings(DOCKERFLOW_CHECKS=[]):
            response = client.get("/__heartbeat__")
    finally:
        heartbeat_passed.disconnect(raising_receiver)
    # A broken metrics receiver says nothing about the backing services.
    assert response.status_code == 200
    assert assert_reveals_nothing(response) == {"status": "ok"}
    # The failure went to the log instead, with the password scrubbed.
    assert "receiver failed" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize("method", ["post", "put", "delete"])
@pytest.mark.parametrize("url", PROBES)
def test_method_not_allowed_is_json(client: Client, method: str, url: str) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == 405
    assert set(assert_reveals_nothing(response)) == {"error"}


# --- Secrets never reach a body or a log line, in process ---------------------------


@pytest.fixture
def every_log_line() -> Iterator[list[str]]:
    """Every record logged during the test, formatted as the MozLog line it would be."""
    lines: list[str] = []
    formatter = MozlogFormatter()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    handler = Collect(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_secret_key_and_check_secrets_stay_out_of_bodies_and_logs(
    client: Client, every_log_line: list[str]
) -> None:
    bodies = []
    with override_settings(
        SECRET_KEY=SECRET + "-key",
        DEBUG=False,
        DOCKERFLOW_CHECKS=[
            "tests.test_security.failing_check",
            "tests.test_security.raising_check",
        ],
    ):
        for url in [*PROBES, "/", "/nope/"]:
            bodies.append(client.get(url).content)
    assert bodies
    for body in bodies:
        assert SECRET.encode() not in body
    # The check messages themselves are the project's and may be logged; our own
    # summary lines and error records must not carry the SECRET_KEY.
    assert every_log_line
    assert not [line for line in every_log_line if SECRET + "-key" in line]
