"""``/__heartbeat__`` through the middleware: body, status codes, details, ASGI path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import AsyncClient, Client, override_settings

from dockerflow.django import heartbeat
from tests import test_heartbeat as hb

P = hb.path


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    heartbeat.reset()
    hb.calls.clear()
    hb.seen_loops.clear()
    hb.gate.clear()
    hb.entered.clear()
    yield
    hb.gate.set()
    hb._wait_until(lambda: hb.active[0] == 0, seconds=10)  # blocking_check has returned
    heartbeat.reset()


@override_settings(DOCKERFLOW_CHECKS=[P("ok_check")])
def test_ok_is_200_with_status_only(client: Client) -> None:
    response = client.get("/__heartbeat__")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


@override_settings(DOCKERFLOW_CHECKS=[P("warning_check")])
def test_warning_is_200(client: Client) -> None:
    response = client.get("/__heartbeat__")
    assert response.status_code == 200
    assert response.json() == {"status": "warning"}


@override_settings(DOCKERFLOW_CHECKS=[P("error_check")])
def test_error_is_500_by_default(client: Client) -> None:
    response = client.get("/__heartbeat__")
    assert response.status_code == 500
    assert response.json() == {"status": "error"}


@pytest.mark.parametrize(("setting", "expected"), [(503, 503), ("503", 503), (599, 599)])
def test_failed_status_code_setting(client: Client, setting: Any, expected: int) -> None:
    with override_settings(
        DOCKERFLOW_CHECKS=[P("error_check")], DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE=setting
    ):
        assert client.get("/__heartbeat__").status_code == expected


@pytest.mark.parametrize("bad", ["abc", 200, 99, None, 1000])
def test_bad_failed_status_code_falls_back_to_500(client: Client, bad: Any) -> None:
    with override_settings(
        DOCKERFLOW_CHECKS=[P("error_check")], DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE=bad
    ):
        response = client.get("/__heartbeat__")
    assert response.status_code == 500
    assert response.json() == {"status": "error"}


@override_settings(
    DOCKERFLOW_CHECKS=[P("warning_check")], DOCKERFLOW_HEARTBEAT_FAIL_LEVEL="warning"
)
def test_fail_level_warning_fails_on_warnings(client: Client) -> None:
    response = client.get("/__heartbeat__")
    assert response.status_code == 500
    assert response.json() == {"status": "warning"}


@override_settings(DOCKERFLOW_CHECKS=[P("ok_check"), P("error_check")], DEBUG=True)
def test_debug_shows_checks_and_details(client: Client) -> None:
    assert client.get("/__heartbeat__").json() == {
        "status": "error",
        "checks": {"ok_check": "ok", "error_check": "error"},
        "details": {
            "error_check": {"status": "error", "level": 40, "messages": {"tests.E001": "broken"}}
        },
    }


@override_settings(DOCKERFLOW_CHECKS=[P("error_check")])
def test_show_details_setting(client: Client) -> None:
    assert set(client.get("/__heartbeat__").json()) == {"status"}
    with override_settings(DOCKERFLOW_HEARTBEAT_SHOW_DETAILS=True):
        assert set(client.get("/__heartbeat__").json()) == {"status", "checks", "details"}


@override_settings(DOCKERFLOW_CHECKS=[P("ok_check")])
def test_engine_failure_is_json_not_html(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("engine bug")

    monkeypatch.setattr(heartbeat, "run", broken)
    response = client.get("/__heartbeat__")
    assert response.status_code == 500
    assert response.json() == {"status": "error"}


@override_settings(DOCKERFLOW_CHECKS=[P("raising_check"), P("none_check")], DEBUG=True)
def test_misbehaving_checks_give_json(client: Client) -> None:
    response = client.get("/__heartbeat__")
    assert response.status_code == 500
    body = response.json()
    assert body["checks"] == {"raising_check": "error", "none_check": "error"}
    assert "hunter2" not in response.content.decode()


@override_settings(DOCKERFLOW_CHECKS=[P("error_check")])
def test_failures_are_logged(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dockerflow.checks"):
        client.get("/__heartbeat__")
    [record] = [r for r in caplog.records if r.name == "dockerflow.checks.registry"]
    assert record.check == "error_check"  # type: ignore[attr-defined]
    assert record.check_id == "tests.E001"  # type: ignore[attr-defined]


@override_settings(DOCKERFLOW_CHECKS=[P("blocking_check")], DOCKERFLOW_HEARTBEAT_TIMEOUT=0.1)
def test_timeout_is_a_json_5xx_naming_the_check(client: Client) -> None:
    try:
        with override_settings(DEBUG=True):
            response = client.get("/__heartbeat__")
    finally:
        hb.gate.set()
    assert response.status_code == 500
    [message] = response.json()["details"]["blocking_check"]["messages"].values()
    assert "blocking_check" in message
    assert "0.1 seconds" in message


# --- ASGI: the native async path ----------------------------------------------------------


@override_settings(DOCKERFLOW_CHECKS=[P("async_ok_check"), P("ok_check")], DEBUG=True)
async def test_asgi_heartbeat_is_native(
    async_client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_sync_run(**kwargs: Any) -> None:
        raise AssertionError("the ASGI path must not call the sync engine")

    monkeypatch.setattr(heartbeat, "run", no_sync_run)
    response = await async_client.get("/__heartbeat__")
    assert response.status_code == 200
    assert response.json()["checks"] == {"async_ok_check": "info", "ok_check": "ok"}
    # The async check ran on this very event loop, not in a thread.
    assert hb.seen_loops == [asyncio.get_running_loop()]


@override_settings(DOCKERFLOW_CHECKS=[P("error_check")])
async def test_asgi_failure_status(async_client: AsyncClient) -> None:
    with override_settings(DOCKERFLOW_HEARTBEAT_FAILED_STATUS_CODE=503):
        response = await async_client.get("/__heartbeat__")
    assert response.status_code == 503
    assert response.json() == {"status": "error"}
    assert response["Cache-Control"] == "no-store"


@override_settings(DOCKERFLOW_CHECKS=[P("ok_check")])
async def test_asgi_engine_failure_is_json(
    async_client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(**kwargs: Any) -> None:
        raise RuntimeError("engine bug")

    monkeypatch.setattr(heartbeat, "arun", broken)
    response = await async_client.get("/__heartbeat__")
    assert response.status_code == 500
    assert response.json() == {"status": "error"}


@override_settings(DOCKERFLOW_CHECKS=[P("ok_check")])
async def test_asgi_only_get_and_head(async_client: AsyncClient) -> None:
    response = await async_client.post("/__heartbeat__")
    assert response.status_code == 405
    assert hb.calls == {}


@override_settings(DOCKERFLOW_CHECKS=[P("ok_check")])
async def test_asgi_draining_runs_no_check(async_client: AsyncClient, tmp_path: Path) -> None:
    drain = tmp_path / "drain"
    drain.touch()
    with override_settings(DOCKERFLOW_DRAIN_FILE=drain):
        response = await async_client.get("/__heartbeat__")
    assert response.status_code == 503
    assert response.json()["status"] == "draining"
    assert hb.calls == {}


@override_settings(DOCKERFLOW_CHECKS=[P("blocking_check")], DOCKERFLOW_HEARTBEAT_TIMEOUT=5)
async def test_asgi_concurrent_probes_share_one_run(async_client: AsyncClient) -> None:
    hb.gate.clear()
    hb.entered.clear()
    probes = [asyncio.ensure_future(async_client.get("/__heartbeat__")) for _ in range(10)]
    for _ in range(500):
        if hb.entered.is_set():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # let the other probes reach the flight
    hb.gate.set()
    responses = await asyncio.gather(*probes)
    assert [r.status_code for r in responses] == [200] * 10
    assert hb.calls["blocking_check"] == 1
