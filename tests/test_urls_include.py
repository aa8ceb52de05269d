"""``include("dockerflow.django.urls")`` serves the endpoints without the middleware."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import AsyncClient, Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dockerflow.django.system_checks import MIDDLEWARE_PATH

pytestmark = pytest.mark.django_db

EXPECTED_VERSION = json.loads(
    (Path(__file__).parent / "fixtures" / "base" / "version.json").read_text()
)
PROBES = ["/__version__", "/__heartbeat__", "/__lbheartbeat__"]
WITHOUT_OURS = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE_PATH]

use_include = override_settings(ROOT_URLCONF="tests.urls_include", MIDDLEWARE=WITHOUT_OURS)


@pytest.fixture(autouse=True)
def _include_without_middleware() -> object:
    assert MIDDLEWARE_PATH in settings.MIDDLEWARE  # so removing it means something
    with use_include:
        assert MIDDLEWARE_PATH not in settings.MIDDLEWARE
        yield


def test_version(client: Client) -> None:
    response = client.get("/__version__")
    assert response.status_code == 200
    assert response.json() == EXPECTED_VERSION


async def test_version_async(async_client: AsyncClient) -> None:
    response = await async_client.get("/__version__")
    assert response.json() == EXPECTED_VERSION


def test_lbheartbeat(client: Client) -> None:
    response = client.get("/__lbheartbeat__")
    assert response.status_code == 200
    assert response.content == b""


def test_lbheartbeat_runs_no_query_with_sessions_and_auth(client: Client) -> None:
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("include-user", password="pw"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/__lbheartbeat__").status_code == 200
    assert len(queries) == 0


def test_heartbeat(client: Client) -> None:
    response = client.get("/__heartbeat__")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] in {"ok", "warning"}


async def test_heartbeat_async(async_client: AsyncClient) -> None:
    assert (await async_client.get("/__heartbeat__")).status_code == 200


@pytest.mark.parametrize("path", PROBES)
def test_trailing_slash_optional_without_redirect(client: Client, path: str) -> None:
    # CommonMiddleware's APPEND_SLASH must not redirect either form.
    assert client.get(path).status_code == 200
    assert client.get(path + "/").status_code == 200


@pytest.mark.parametrize("path", PROBES)
def test_post_is_405_with_allow(client: Client, path: str) -> None:
    response = client.post(path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", PROBES)
def test_post_is_405_even_when_csrf_is_enforced(path: str) -> None:
    response = Client(enforce_csrf_checks=True).post(path)
    assert response.status_code == 405


@pytest.mark.parametrize("path", PROBES)
def test_no_store(client: Client, path: str) -> None:
    response = client.get(path)
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", PROBES)
def test_login_required_middleware_lets_probes_through(client: Client, path: str) -> None:
    middleware = [*WITHOUT_OURS, "django.contrib.auth.middleware.LoginRequiredMiddleware"]
    with override_settings(MIDDLEWARE=middleware, LOGIN_URL="/login/"):
        assert client.get(path).status_code == 200
        assert client.get("/").status_code == 302  # the middleware is really on


@pytest.mark.parametrize("path", PROBES)
def test_under_a_prefix(client: Client, path: str) -> None:
    assert client.get("/ops" + path).status_code == 200


def test_reverse() -> None:
    assert reverse("dockerflow:version") == "/__version__"
    assert reverse("dockerflow:heartbeat") == "/__heartbeat__"
    assert reverse("dockerflow:lbheartbeat") == "/__lbheartbeat__"
    assert reverse("ops:lbheartbeat") == "/ops/__lbheartbeat__"


@pytest.mark.parametrize("path", PROBES)
def test_allowed_hosts_still_applies_without_the_middleware(client: Client, path: str) -> None:
    # The documented difference: only the middleware answers before host
    # validation, so a pod-IP probe needs the middleware (or ALLOWED_HOSTS).
    assert client.get(path, HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_other_pages_are_still_served(client: Client) -> None:
    assert client.get("/").content == b"index"
    assert client.get("/__nope__").status_code == 404
