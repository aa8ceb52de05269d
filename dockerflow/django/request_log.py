"""Requests in log records, written without their query string.

Django's ``django.request`` logger puts the request in each record it writes
(``extra={"request": request}``), and a request's ``repr()`` carries the query
string, where tokens and personal data travel. This module gives the MozLog
formatter (:func:`dockerflow.logging.register_value_formatter`) a way to write
requests that leaves the query string out unless
:setting:`DOCKERFLOW_SUMMARY_LOG_QUERYSTRING` is on.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.encoding import escape_uri_path

from ..logging import register_value_formatter
from .conf import conf

__all__ = ["register_request_formatter", "request_text"]


def request_text(request: HttpRequest) -> str:
    """``repr(request)``, without the query string unless it may be logged.

    ``<WSGIRequest: GET '/path'>``, as Django writes a request but for the query
    string; with :setting:`DOCKERFLOW_SUMMARY_LOG_QUERYSTRING` on, Django's own
    ``repr()``. The setting is read at every call.
    """
    if conf.SUMMARY_LOG_QUERYSTRING:
        return repr(request)
    name = type(request).__name__
    path = escape_uri_path(request.path)  # what get_full_path() writes before the "?"
    if request.method is None or not path:
        return f"<{name}>"
    return f"<{name}: {request.method} {path!r}>"


def register_request_formatter() -> None:
    """Have the MozLog formatter write every ``HttpRequest`` with :func:`request_text`."""
    register_value_formatter(HttpRequest, request_text)
