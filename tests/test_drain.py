"""Drain mode: while DOCKERFLOW_DRAIN_FILE exists the load-balancer probes answer 503."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from dockerflow.django import views
from dockerflow.django.signals import heartbeat_failed, heartbeat_passed

pytestmark = pytest.mark.django_db

DRAINED = ["/__lbheartbeat__", "/__heartbeat__"]
DRAIN_BODY = {
    "status": "draining",
    "detail": "this instance is draining: it is being taken out of service",
}


@pytest.fixture
def drain_file(tmp_path: Path) -> Iterator[Path]:
    """DOCKERFLOW_DRAIN_FILE set to a path that does not exist yet."""
    path = tmp_path / "drain"
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(path)):
        yield path


def assert_draining(response: Any) -> None:
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == DRAIN_BODY
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", DRAINED)
def test_default_setting_is_off(client: Client, path: str, tmp_path: Path) -> None:
    from django.conf import settings

    assert not hasattr(settings, "DOCKERFLOW_DRAIN_FILE")
    assert views.draining() is False
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", DRAINED)
def test_setting_set_but_file_absent_serves_normally(
    client: Client, path: str, drain_file: Path
) -> None:
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", DRAINED)
def test_file_present_answers_503_json(client: Client, path: str, drain_file: Path) -> None:
    drain_file.touch()
    assert_draining(client.get(path))
    assert_draining(client.get(path + "/"))


@pytest.mark.parametrize("path", DRAINED)
async def test_file_present_answers_503_async(
    async_client: AsyncClient, path: str, drain_file: Path
) -> None:
    drain_file.touch()
    assert_draining(await async_client.get(path))


@pytest.mark.parametrize("path", DRAINED)
def test_head_is_503_too(client: Client, path: str, drain_file: Path) -> None:
    drain_file.touch()
    assert client.head(path).status_code == 503


@pytest.mark.parametrize("path", DRAINED)
def test_wrong_method_is_still_405(client: Client, path: str, drain_file: Path) -> None:
    drain_file.touch()
    assert client.post(path).status_code == 405


def test_version_is_not_drained(client: Client, drain_file: Path) -> None:
    drain_file.touch()
    response = client.get("/__version__")
    assert response.status_code == 200
    assert response.json()["commit"] == "abc123def4567890abc123def4567890abc12345"


def test_normal_requests_are_still_served(client: Client, drain_file: Path) -> None:
    drain_file.touch()
    assert client.get("/").status_code == 200
    assert client.get("/").content == b"index"


async def test_normal_async_requests_are_still_served(
    async_client: AsyncClient, drain_file: Path
) -> None:
    drain_file.touch()
    assert (await async_client.get("/async/")).status_code == 200


def test_file_removed_serves_normally_again(client: Client, drain_file: Path) -> None:
    assert client.get("/__lbheartbeat__").status_code == 200
    drain_file.touch()
    assert client.get("/__lbheartbeat__").status_code == 503
    drain_file.unlink()
    # No state kept between requests: the next probe sees the file gone.
    assert client.get("/__lbheartbeat__").status_code == 200
    assert client.get("/__heartbeat__").status_code == 200


def test_setting_read_at_request_time(client: Client, tmp_path: Path) -> None:
    present = tmp_path / "present"
    present.touch()
    assert client.get("/__lbheartbeat__").status_code == 200
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(present)):
        assert client.get("/__lbheartbeat__").status_code == 503
    with override_settings(DOCKERFLOW_DRAIN_FILE=None):
        assert client.get("/__lbheartbeat__").status_code == 200


def test_pathlib_path_setting(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "drain"
    path.touch()
    with override_settings(DOCKERFLOW_DRAIN_FILE=path):
        assert_draining(client.get("/__lbheartbeat__"))


def test_draining_heartbeat_runs_no_check(client: Client, drain_file: Path) -> None:
    drain_file.touch()
    sent: list[str] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        sent.append("passed" if kwargs["signal"] is heartbeat_passed else "failed")

    heartbeat_passed.connect(receiver)
    heartbeat_failed.connect(receiver)
    try:
        with CaptureQueriesContext(connection) as queries:
            assert_draining(client.get("/__heartbeat__"))
        # The same client without the file runs the checks (and sends a signal;
        # the checks' queries run on the heartbeat's own threads, not on this one).
        drain_file.unlink()
        assert client.get("/__heartbeat__").status_code == 200
    finally:
        heartbeat_passed.disconnect(receiver)
        heartbeat_failed.disconnect(receiver)
    assert len(queries) == 0
    assert sent == ["passed"]


def test_unreachable_drain_path_serves_normally(client: Client, tmp_path: Path) -> None:
    # A parent that is a file: stat fails with ENOTDIR, which is not "draining".
    parent = tmp_path / "not-a-directory"
    parent.write_text("x")
    with override_settings(DOCKERFLOW_DRAIN_FILE=str(parent / "drain")):
        assert client.get("/__lbheartbeat__").status_code == 200


def test_urlconf_views_drain_too(drain_file: Path) -> None:
    # include("dockerflow.django.urls") serves the same decorated views.
    drain_file.touch()
    factory = RequestFactory()
    assert_draining(views.lbheartbeat(factory.get("/__lbheartbeat__")))
    assert_draining(views.heartbeat(factory.get("/__heartbeat__")))
    assert views.version(factory.get("/__version__")).status_code == 200


class CountingStat:
    """Wraps os.stat and records every path it is called with."""

    def __init__(self) -> None:
        self.real = os.stat
        self.paths: list[str] = []

    def __call__(self, path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        self.paths.append(os.fspath(path) if not isinstance(path, int) else str(path))
        return self.real(path, *args, **kwargs)


@pytest.mark.parametrize("present", [False, True])
def test_lbheartbeat_costs_one_stat(
    client: Client, drain_file: Path, monkeypatch: pytest.MonkeyPatch, present: bool
) -> None:
    if present:
        drain_file.touch()
    client.get("/__lbheartbeat__")  # warm any lazy import before counting
    counter = CountingStat()
    monkeypatch.setattr(os, "stat", counter)
    response = client.get("/__lbheartbeat__")
    monkeypatch.undo()
    assert response.status_code == (503 if present else 200)
    assert counter.paths == [str(drain_file)]


def test_lbheartbeat_without_setting_costs_no_stat(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.get("/__lbheartbeat__")
    counter = CountingStat()
    monkeypatch.setattr(os, "stat", counter)
    response = client.get("/__lbheartbeat__")
    monkeypatch.undo()
    assert response.status_code == 200
    assert counter.paths == []


def test_draining_heartbeat_costs_one_stat(
    client: Client, drain_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drain_file.touch()
    client.get("/__heartbeat__")
    counter = CountingStat()
    monkeypatch.setattr(os, "stat", counter)
    response = client.get("/__heartbeat__")
    monkeypatch.undo()
    assert response.status_code == 503
    assert counter.paths == [str(drain_file)]


@pytest.mark.parametrize("path", DRAINED)
def test_draining_is_not_logged_as_a_server_error(
    client: Client, path: str, drain_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    drain_file.touch()
    with caplog.at_level(logging.DEBUG, logger="django.request"):
        assert client.get(path).status_code == 503
    assert [r for r in caplog.records if r.name == "django.request"] == []


def test_other_probe_errors_are_still_logged(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    # The suppression is for drain answers only: a 405 still reaches django.request.
    with caplog.at_level(logging.DEBUG, logger="django.request"):
        assert client.post("/__lbheartbeat__").status_code == 405
    assert any(r.name == "django.request" for r in caplog.records)
