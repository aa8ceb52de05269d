"""``DockerflowMiddleware``: answers the probe paths and logs ``request.summary``."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponseBase

from ..logging import get_or_generate_request_id, request_id_context
from . import views
from .conf import conf

summary_logger = logging.getLogger("request.summary")

#: Probe paths (without trailing slash) and the views that answer them.
PROBES: dict[str, views.View] = {
    "/__version__": views.version,
    "/__heartbeat__": views.heartbeat,
    "/__lbheartbeat__": views.lbheartbeat,
}
#: Probes whose work may block (run in a thread under ASGI).
BLOCKING_PROBES = frozenset({"/__heartbeat__"})
#: Native async twins of probe views, used under ASGI (no thread hop).
ASYNC_PROBES: dict[str, views.AsyncView] = {"/__heartbeat__": views.aheartbeat}
#: ``/__error__`` is no probe: when allowed it is a normal, logged request whose
#: exception takes Django's usual path (``handler500``, ``got_request_exception``).
ERROR_PATHS = frozenset({"/__error__", "/__error__/"})
_error_view = convert_exception_to_response(views.raise_error)


def _wants_error(request: HttpRequest) -> bool:
    return request.path_info in ERROR_PATHS and views.error_endpoint_allowed(request)


def _error_response(request: HttpRequest) -> HttpResponseBase:
    response = _error_view(request)
    assert isinstance(response, HttpResponseBase)  # the wrapped view is sync
    return response


def match_probe(path: str) -> str | None:
    """Return the probe key for ``path`` (one optional trailing slash), or None."""
    if path.endswith("/"):
        path = path[:-1]
    return path if path in PROBES else None


class DockerflowMiddleware:
    """Answer the Dockerflow endpoints early and log one summary per request.

    Put it first in ``MIDDLEWARE``: probes are answered before any other
    middleware (host validation, SSL redirects, sessions, login) runs.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        probe = match_probe(request.path_info)
        if probe is not None:
            return PROBES[probe](request)
        start = self._start(request)
        response = _error_response(request) if _wants_error(request) else self.get_response(request)
        assert isinstance(response, HttpResponseBase)
        self._log_summary(request, response, start)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        probe = match_probe(request.path_info)
        if probe is not None:
            if probe in ASYNC_PROBES:
                return await ASYNC_PROBES[probe](request)
            view = PROBES[probe]
            if probe in BLOCKING_PROBES:
                return await sync_to_async(view)(request)
            return view(request)
        start = self._start(request)
        response: HttpResponseBase
        if _wants_error(request):
            # handler500 may touch the database: keep it out of the event loop.
            response = await sync_to_async(_error_response)(request)
        else:
            response = await self.get_response(request)  # type: ignore[misc]
        self._log_summary(request, response, start)
        return response

    def _start(self, request: HttpRequest) -> float:
        rid = get_or_generate_request_id(request.headers, conf.REQUEST_ID_HEADER_NAME)
        request_id_context.set(rid)
        return time.monotonic()

    def _log_summary(self, request: HttpRequest, response: HttpResponseBase, start: float) -> None:
        user = getattr(request, "user", None)
        uid = user.pk if user is not None and user.is_authenticated else ""
        extra: dict[str, Any] = {
            "errno": 0,
            "agent": request.META.get("HTTP_USER_AGENT", ""),
            "lang": request.META.get("HTTP_ACCEPT_LANGUAGE", ""),
            "method": request.method,
            "path": request.path,
            "uid": uid,
            "rid": request_id_context.get(),
            "t": int((time.monotonic() - start) * 1000),
            "code": response.status_code,
        }
        if conf.SUMMARY_LOG_QUERYSTRING:
            extra["querystring"] = request.META.get("QUERY_STRING", "")
        summary_logger.info("", extra=extra)
