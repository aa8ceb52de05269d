"""A request in a log record is written without its query string (issue 13, item 3).

Django's ``django.request`` logger passes the request as ``extra``; the MozLog
formatter writes it through the formatter the app registers, so a token in a
query string stays out of the logs unless DOCKERFLOW_SUMMARY_LOG_QUERYSTRING
is on.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import AsyncClient, Client, RequestFactory, override_settings

from dockerflow.django.request_log import request_text
from dockerflow.logging import MozlogFormatter

from .mozlog import check_mozlog

SECRET = "s3cret-token-value"


@pytest.fixture
def django_request_lines() -> Iterator[io.StringIO]:
    """What Django's ``django.request`` logger writes, through the MozLog formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(MozlogFormatter(logger_name="test"))
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [check_mozlog(line) for line in stream.getvalue().splitlines()]


def test_404_request_is_logged_without_its_query_string(
    client: Client, django_request_lines: io.StringIO
) -> None:
    response = client.get(f"/nope?token={SECRET}&page=2")
    assert response.status_code == 404
    (record,) = records(django_request_lines)
    assert record["Type"] == "django.request"
    assert record["Fields"]["status_code"] == 404
    assert record["Fields"]["request"] == "<WSGIRequest: GET '/nope'>"
    assert SECRET not in django_request_lines.getvalue()


@override_settings(DOCKERFLOW_SUMMARY_LOG_QUERYSTRING=True)
def test_with_the_setting_on_the_query_string_is_logged(
    client: Client, django_request_lines: io.StringIO
) -> None:
    client.get(f"/nope?token={SECRET}")
    (record,) = records(django_request_lines)
    assert record["Fields"]["request"] == f"<WSGIRequest: GET '/nope?token={SECRET}'>"


async def test_asgi_request_too(
    async_client: AsyncClient, django_request_lines: io.StringIO
) -> None:
    response = await async_client.get(f"/nope?token={SECRET}")
    assert response.status_code == 404
    (record,) = records(django_request_lines)
    assert record["Fields"]["request"] == "<ASGIRequest: GET '/nope'>"
    assert SECRET not in django_request_lines.getvalue()


def test_server_error_request_is_logged_without_its_query_string(
    django_request_lines: io.StringIO,
) -> None:
    client = Client(raise_request_exception=False)
    response = client.get(f"/boom/?token={SECRET}")
    assert response.status_code == 500
    (record,) = records(django_request_lines)
    assert record["Severity"] == 3
    assert record["Fields"]["request"] == "<WSGIRequest: GET '/boom/'>"
    assert record["Fields"]["error"] == "RuntimeError('boom')"
    assert SECRET not in django_request_lines.getvalue()


def test_hostile_path(client: Client, django_request_lines: io.StringIO) -> None:
    # Quotes, a newline and non-ASCII characters in the path, percent-encoded
    # on the wire as a client must send them.
    client.get(f"/it's%20%22q%22%0A%0D/caf%C3%A9/%E2%80%A8?token={SECRET}")
    lines = django_request_lines.getvalue().splitlines()
    (record,) = [check_mozlog(line) for line in lines]
    assert record["Fields"]["request"] == (
        '<WSGIRequest: GET "/it\'s%20%22q%22%0A%0D/caf%C3%A9/%E2%80%A8">'
    )
    assert SECRET not in django_request_lines.getvalue()


def test_other_records_carrying_a_request(django_request_lines: io.StringIO) -> None:
    # A project's own record with the request in extra, nested or not.
    request = RequestFactory().get("/orders/", {"token": SECRET})
    logging.getLogger("django.request.custom").warning(
        "odd", extra={"request": request, "context": {"requests": [request]}}
    )
    (record,) = records(django_request_lines)
    assert record["Fields"]["request"] == "<WSGIRequest: GET '/orders/'>"
    assert record["Fields"]["context"] == {"requests": ["<WSGIRequest: GET '/orders/'>"]}
    assert SECRET not in django_request_lines.getvalue()


@pytest.mark.parametrize("querystring", [False, True])
def test_request_text_matches_djangos_repr_but_for_the_query_string(querystring: bool) -> None:
    factory = RequestFactory()
    with override_settings(DOCKERFLOW_SUMMARY_LOG_QUERYSTRING=querystring):
        for path in ["/", "/a b/", "/caf\u00e9", "/x?y=1", "/x?y=1&token=2"]:
            request = factory.get(path)
            expected = repr(request)
            if not querystring:
                expected = expected.split("?")[0] + ("'>" if "?" in expected else "")
            assert request_text(request) == expected, path


def test_request_without_a_method() -> None:
    request = RequestFactory().get("/")
    request.method = None
    assert request_text(request) == "<WSGIRequest>"
