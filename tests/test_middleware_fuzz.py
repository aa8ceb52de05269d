"""Property-based tests: hostile requests still give one valid ``request.summary`` line."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerflow.logging import is_valid_request_id

from .test_middleware import RID, Captured
from .test_middleware import logged as logged  # the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_middleware")]

REQUESTS = settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Header values as a WSGI server hands them over: latin-1 text, control
# characters included, sometimes huge.
header_values = (
    st.text(st.characters(max_codepoint=0xFF), max_size=60)
    | st.text(st.characters(max_codepoint=0xFF), min_size=2000, max_size=9000)
    | st.sampled_from([RID, "a" * 128, "a" * 129, "x\r\nSet-Cookie: a=b", "\x00", "é", "%ff"])
)
# Paths with percent-encoded bytes that are not UTF-8, dot segments, doubled
# slashes and the probe paths.
segments = st.sampled_from(
    ["a", "async", "%ff", "%C3%A9", "%c0%af", "..", ".", "", "%00", "%2F", "é", "__lbheartbeat__"]
) | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="#?%"))
# (A path starting with "//" would be a host name to the test client.)
paths = st.lists(segments, max_size=6).map(lambda parts: "/f/" + "/".join(parts)) | (
    st.sampled_from(["/", "/async/", "/__lbheartbeat__", "/__lbheartbeat__/"])
)
methods = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PROPFIND"])


def check(captured: Captured, response: Any, headers: dict[str, str], path: str) -> None:
    summaries = captured.summaries()
    if path.rstrip("/") in {"/__lbheartbeat__"}:
        assert summaries == []  # probes are not logged by default
        return
    (summary,) = summaries
    fields = summary["Fields"]
    assert fields["code"] == response.status_code
    assert response["X-Request-ID"] == fields["rid"]
    incoming = headers.get("X-Request-ID")
    if incoming is not None and is_valid_request_id(incoming):
        assert fields["rid"] == incoming
    else:
        assert fields["rid"] != incoming
    assert fields["agent"] == headers.get("User-Agent", "")
    assert fields["lang"] == headers.get("Accept-Language", "")


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    headers = draw(
        st.dictionaries(
            st.sampled_from(["User-Agent", "Accept-Language", "X-Request-ID", "Cookie"]),
            header_values,
        )
    )
    return draw(methods), draw(paths), headers


@REQUESTS
@given(requests())
def test_hostile_requests(logged: Captured, request_: tuple[str, str, dict[str, str]]) -> None:
    method, path, headers = request_
    logged.clear()
    response = Client(raise_request_exception=False).generic(method, path, headers=headers)
    check(logged, response, headers, path)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(requests())
def test_hostile_requests_async(
    logged: Captured, request_: tuple[str, str, dict[str, str]]
) -> None:
    method, path, headers = request_
    logged.clear()
    client = AsyncClient(raise_request_exception=False)

    async def send() -> Any:
        return await client.generic(method, path, headers=headers)

    response = async_to_sync(send)()
    check(logged, response, headers, path)
