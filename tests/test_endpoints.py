"""The probe endpoints through DockerflowMiddleware, with the sync and async clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import AsyncClient, Client, override_settings
from django.test.utils import CaptureQueriesContext

from dockerflow.version import get_version

pytestmark = pytest.mark.django_db

EXPECTED_VERSION = json.loads(
    (Path(__file__).parent / "fixtures" / "base" / "version.json").read_text()
)

PROBES = ["/__version__", "/__heartbeat__", "/__lbheartbeat__"]


def custom_version(root: Any) -> dict[str, Any]:
    return {"custom": True, "root": str(root)}


def test_version(client: Client) -> None:
    response = client.get("/__version__")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == EXPECTED_VERSION


async def test_version_async(async_client: AsyncClient) -> None:
    response = await async_client.get("/__version__")
    assert response.status_code == 200
    assert response.json() == EXPECTED_VERSION


def test_version_missing_is_404_json(client: Client, tmp_path: Path) -> None:
    with override_settings(BASE_DIR=tmp_path):
        response = client.get("/__version__")
    assert response.status_code == 404
    assert response.json() == {"error": "version.json not found"}


def test_version_malformed_is_500_json(client: Client, tmp_path: Path) -> None:
    (tmp_path / "version.json").write_text("[1, 2]")
    with override_settings(BASE_DIR=tmp_path):
        response = client.get("/__version__")
    assert response.status_code == 500
    body = response.json()
    assert "JSON object" in body["error"]
    assert str(tmp_path) not in body["error"]  # no filesystem paths in the response


def test_version_callback_changed_at_run_time(client: Client) -> None:
    with override_settings(DOCKERFLOW_VERSION_CALLBACK="tests.test_endpoints.custom_version"):
        response = client.get("/__version__")
    assert response.json()["custom"] is True
    assert response.json()["root"].endswith("base")
    assert client.get("/__version__").json() == EXPECTED_VERSION


def test_version_callback_may_be_a_callable(client: Client) -> None:
    with override_settings(DOCKERFLOW_VERSION_CALLBACK=custom_version):
        assert client.get("/__version__").json()["custom"] is True


def test_version_callback_that_raises_is_500_json(client: Client) -> None:
    def broken(root: Any) -> None:
        raise OSError("disk on fire /secret/path")

    with override_settings(DOCKERFLOW_VERSION_CALLBACK=broken):
        response = client.get("/__version__")
    assert response.status_code == 500
    assert response.json() == {"error": "the version callback failed"}


def test_lbheartbeat(client: Client) -> None:
    response = client.get("/__lbheartbeat__")
    assert response.status_code == 200
    assert response.content == b""
    # Mozilla's package answers an empty HttpResponse(): keep its Content-Type.
    assert response["Content-Type"] == "text/html; charset=utf-8"


async def test_lbheartbeat_async(async_client: AsyncClient) -> None:
    response = await async_client.get("/__lbheartbeat__")
    assert response.status_code == 200


def test_lbheartbeat_runs_no_query_even_with_sessions_and_auth(client: Client) -> None:
    from django.contrib.auth.models import User

    user = User.objects.create_user("probe-user", password="pw")
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/__lbheartbeat__")
    assert response.status_code == 200
    assert len(queries) == 0
    assert "sessionid" not in response.cookies or response.cookies["sessionid"].value


def test_heartbeat_ok(client: Client) -> None:
    response = client.get("/__heartbeat__")
    assert response.status_code == 200
    assert response.json()["status"] in {"ok", "warning"}


async def test_heartbeat_async(async_client: AsyncClient) -> None:
    response = await async_client.get("/__heartbeat__")
    assert response.status_code == 200


@pytest.mark.parametrize("path", PROBES)
def test_trailing_slash_is_optional(client: Client, path: str) -> None:
    assert client.get(path + "/").status_code == client.get(path).status_code == 200


@pytest.mark.parametrize("path", PROBES)
def test_double_slash_is_not_a_probe(client: Client, path: str) -> None:
    assert client.get(path + "//").status_code == 404


@pytest.mark.parametrize("path", PROBES)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_only_get_and_head(client: Client, path: str, method: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"] == f"method {method.upper()} not allowed"


@pytest.mark.parametrize("path", PROBES)
def test_head(client: Client, path: str) -> None:
    response = client.head(path)
    assert response.status_code == 200


@pytest.mark.parametrize("path", PROBES)
def test_no_store_and_nosniff(client: Client, path: str) -> None:
    response = client.get(path)
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", PROBES)
def test_unlisted_host_still_answered(client: Client, path: str) -> None:
    # Kubernetes probes use the pod IP as Host, which ALLOWED_HOSTS rarely lists.
    response = client.get(path, HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert client.get("/", HTTP_HOST="10.1.2.3:8000").status_code == 400


@pytest.mark.parametrize("path", PROBES)
@override_settings(SECURE_SSL_REDIRECT=True)
def test_ssl_redirect_does_not_apply(client: Client, path: str) -> None:
    assert client.get(path).status_code == 200
    assert client.get("/").status_code == 301


@pytest.mark.parametrize("path", PROBES)
def test_login_required_middleware_does_not_apply(client: Client, path: str) -> None:
    from django.conf import settings

    middleware = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    with override_settings(MIDDLEWARE=middleware, LOGIN_URL="/login/"):
        assert client.get(path).status_code == 200
        assert client.get("/").status_code == 302


@pytest.mark.parametrize("path", PROBES)
def test_csrf_enforced_client_gets_405_not_403(path: str) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post(path).status_code == 405
    assert client.get(path).status_code == 200
    assert client.post("/post/").status_code == 403


@pytest.mark.parametrize("path", PROBES)
def test_atomic_requests_do_not_wrap_probes(
    client: Client, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import transaction

    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    entered: list[object] = []
    real_enter = transaction.Atomic.__enter__

    def spy_enter(self: transaction.Atomic) -> None:
        entered.append(self)
        real_enter(self)

    monkeypatch.setattr(transaction.Atomic, "__enter__", spy_enter)
    assert client.get(path).status_code == 200
    assert entered == []
    assert client.get("/").status_code == 200
    assert len(entered) == 1  # an ordinary view is wrapped, so the spy works


def test_normal_requests_pass_through(client: Client) -> None:
    assert client.get("/").content == b"index"


async def test_normal_async_requests_pass_through(async_client: AsyncClient) -> None:
    response = await async_client.get("/async/")
    assert response.content == b"async index"


def test_get_version_matches_endpoint(client: Client) -> None:
    from django.conf import settings

    assert client.get("/__version__").json() == get_version(settings.BASE_DIR)
