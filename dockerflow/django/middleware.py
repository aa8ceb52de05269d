"""``DockerflowMiddleware``: answers the probe paths and logs ``request.summary``."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.handlers.exception import convert_exception_to_response
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponseBase
from django.http.request import HttpHeaders
from django.utils.functional import LazyObject

from ..logging import (
    REQUEST_ID_META_KEY,
    generate_request_id,
    is_valid_request_id,
    request_id_context,
)
from . import views
from .conf import conf

__all__ = ["ASYNC_PROBES", "PROBES", "DockerflowMiddleware", "match_probe"]

summary_logger = logging.getLogger("request.summary")

#: Probe paths (without trailing slash) and the views that answer them.
PROBES: dict[str, views.View] = {
    "/__version__": views.version,
    "/__heartbeat__": views.heartbeat,
    "/__lbheartbeat__": views.lbheartbeat,
}
#: Native async twins of probe views, used under ASGI (no thread hop). The
#: other probes are cheap (the drain file's stat, the default version
#: callback's stat of version.json), so they run directly on the event loop.
ASYNC_PROBES: dict[str, views.AsyncView] = {"/__heartbeat__": views.aheartbeat}
#: ``/__error__`` is no probe: when allowed it is a normal, logged request whose
#: exception takes Django's usual path (``handler500``, ``got_request_exception``).
ERROR_PATHS = frozenset({"/__error__", "/__error__/"})
_error_view = convert_exception_to_response(views.raise_error)


def match_probe(path: str) -> str | None:
    """Return the probe key for ``path`` (one optional trailing slash), or None."""
    # Every probe path starts with "/__": most requests skip the lookup.
    if not path.startswith("/__"):
        return None
    if path.endswith("/"):
        path = path[:-1]
    return path if path in PROBES else None


@functools.lru_cache(maxsize=16)
def _meta_key(header: str) -> str:
    """The ``request.META`` key of an HTTP header (``X-Request-ID`` -> ``HTTP_X_REQUEST_ID``)."""
    return HttpHeaders.to_wsgi_name(header)


class _Request:
    """What the middleware knows about the request it is serving."""

    __slots__ = ("exception", "failed", "logged", "probe", "request", "rid", "start")

    def __init__(self, request: HttpRequest) -> None:
        self.start = time.monotonic_ns()
        self.request = request
        self.probe = match_probe(request.path_info)
        #: Whether this request gets a ``request.summary`` record.
        self.logged = self.probe is None or conf.SUMMARY_LOG_PROBES
        #: The incoming id when it is safe (see is_valid_request_id), else a new one.
        rid = request.META.get(_meta_key(conf.REQUEST_ID_HEADER_NAME))
        self.rid = rid if is_valid_request_id(rid) else generate_request_id()
        #: The exception the view raised (``process_exception``), if any.
        self.exception: BaseException | None = None
        #: Whether Django handled an exception as a server error (a 500).
        self.failed = False


#: The request the middleware is serving in this context: sync code, async code,
#: and the threads Django runs sync code in under ASGI all see it.
_serving: contextvars.ContextVar[_Request | None] = contextvars.ContextVar(
    "dockerflow_request", default=None
)


def _state_of(request: object) -> _Request | None:
    state = _serving.get()
    return state if state is not None and state.request is request else None


def _on_request_exception(
    sender: object, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django sends got_request_exception for the exceptions it turns into a
    # 500, not for Http404 or PermissionDenied: that decides errno.
    state = _state_of(request)
    if state is None:
        return
    state.failed = True
    handled = sys.exc_info()[1]  # the exception Django is handling right now
    if handled is not None:
        state.exception = handled


got_request_exception.connect(_on_request_exception, dispatch_uid="dockerflow.request.summary")


# --- uid: the user's primary key, found without a query when one can be avoided ------


def _pk(user: Any) -> Any:
    try:
        if not user.is_authenticated:
            return ""
        pk = user.pk
    except Exception:  # a broken custom user model must not break the summary
        return ""
    return pk if type(pk) in (int, str) else str(pk)


def _session_uid(value: Any) -> Any:
    # The session holds the primary key as a string; log it as the user's pk
    # would be logged (an int for the default user model).
    if value is None:
        return ""
    try:
        return get_user_model()._meta.pk.to_python(value)
    except Exception:
        return value if type(value) in (int, str) else str(value)


class _Unread:
    """The uid is in a session that has not been loaded yet: reading it is a query."""

    __slots__ = ("session",)

    def __init__(self, session: Any) -> None:
        self.session = session

    def read(self) -> Any:
        """Load the session and return the uid in it."""
        try:
            return _session_uid(self.session.get(SESSION_KEY))
        except Exception:  # the session store is down: still log the request
            return ""

    async def aread(self) -> Any:
        """:meth:`read`, natively async."""
        try:
            return _session_uid(await self.session.aget(SESSION_KEY))
        except Exception:  # the session store is down: still log the request
            return ""


def _uid(request: HttpRequest) -> Any:
    """The user's primary key ("" when anonymous), or :class:`_Unread` when only a query tells.

    AuthenticationMiddleware's ``request.user`` is lazy, and evaluating it
    costs a session query and a user query. The session holds the user's id:
    reading it costs nothing once it is loaded (Django marks it ``accessed``),
    and there is nobody logged in when the request has no session cookie.
    """
    user = getattr(request, "user", None)
    if user is None:  # no AuthenticationMiddleware ran (a probe, or none installed)
        return ""
    if not isinstance(user, LazyObject):  # set by another middleware: no query
        return _pk(user)
    session = getattr(request, "session", None)
    try:
        if session is None or (not session.accessed and session.session_key is None):
            return ""
    except Exception:  # a custom session object without these
        return ""
    unread = _Unread(session)
    return unread.read() if session.accessed else unread


# --- The middleware -----------------------------------------------------------------------


class DockerflowMiddleware:
    """Answer the Dockerflow endpoints early and log one summary per request.

    Put it first in ``MIDDLEWARE``: probes are answered before any other
    middleware (host validation, SSL redirects, sessions, login) runs, and
    every other request is timed and logged as one ``request.summary`` record,
    whatever the middleware after it does. The request id is in
    :data:`dockerflow.logging.request_id_context` while the request is served,
    and in ``request.META["dockerflow.request_id"]`` for records that carry the
    request (Django's own ``django.request`` lines), so
    :class:`dockerflow.logging.RequestIdLogFilter` puts it on both.
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
        state, tokens = _begin(request)
        try:
            try:
                response = self._respond(request, state)
            except BaseException as exc:  # DEBUG_PROPAGATE_EXCEPTIONS, SystemExit...
                _log_summary(state, None, exc, _uid_known(request, state))
                raise
            uid = _uid(request) if state.logged else ""
            return _answered(state, response, uid.read() if type(uid) is _Unread else uid)
        finally:
            _end(tokens)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        state, tokens = _begin(request)
        try:
            try:
                response = await self._arespond(request, state)
            except BaseException as exc:  # CancelledError when the client left...
                _log_summary(state, None, exc, _uid_known(request, state))
                raise
            uid = _uid(request) if state.logged else ""
            return _answered(state, response, await uid.aread() if type(uid) is _Unread else uid)
        finally:
            _end(tokens)

    def _respond(self, request: HttpRequest, state: _Request) -> HttpResponseBase:
        if state.probe is not None:
            return PROBES[state.probe](request)
        if _wants_error(request):
            return _error_response(request)
        response: HttpResponseBase = self.get_response(request)  # type: ignore[assignment]
        return response

    async def _arespond(self, request: HttpRequest, state: _Request) -> HttpResponseBase:
        if state.probe is not None:
            if state.probe in ASYNC_PROBES:
                return await ASYNC_PROBES[state.probe](request)
            return PROBES[state.probe](request)
        if _wants_error(request):
            # handler500 may touch the database: keep it out of the event loop.
            return await sync_to_async(_error_response)(request)
        response: HttpResponseBase = await self.get_response(request)  # type: ignore[misc]
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Note the view's exception for the summary; Django handles it as usual."""
        state = _state_of(request)
        if state is not None:
            state.exception = exception


def _wants_error(request: HttpRequest) -> bool:
    return request.path_info in ERROR_PATHS and views.error_endpoint_allowed(request)


def _error_response(request: HttpRequest) -> HttpResponseBase:
    response = _error_view(request)
    assert isinstance(response, HttpResponseBase)  # the wrapped view is sync
    return response


def _uid_known(request: HttpRequest, state: _Request) -> Any:
    """The uid when it is known without a query (a request that failed gets no query)."""
    uid = _uid(request) if state.logged else ""
    return "" if type(uid) is _Unread else uid


_Tokens = tuple[contextvars.Token[_Request | None], contextvars.Token[str | None]]


def _begin(request: HttpRequest) -> tuple[_Request, _Tokens]:
    state = _Request(request)
    request.META[REQUEST_ID_META_KEY] = state.rid
    return state, (_serving.set(state), request_id_context.set(state.rid))


def _end(tokens: _Tokens) -> None:
    _serving.reset(tokens[0])
    request_id_context.reset(tokens[1])


def _answered(state: _Request, response: HttpResponseBase, uid: Any) -> HttpResponseBase:
    # A view that set the header itself keeps its value.
    response.setdefault(conf.REQUEST_ID_HEADER_NAME, state.rid)
    _log_summary(state, response, None, uid)
    return response


def _log_summary(
    state: _Request, response: HttpResponseBase | None, raised: BaseException | None, uid: Any
) -> None:
    """Log the ``request.summary`` record of ``state``'s request (when it gets one)."""
    end = time.monotonic_ns()
    if not state.logged:
        return
    if raised is None:
        level = logging.ERROR if state.failed else logging.INFO
        code = response.status_code if response is not None else 500
    elif isinstance(raised, asyncio.CancelledError):
        # The client went away before the answer: worth a line, no error.
        level, code = logging.WARNING, 499
    else:  # DEBUG_PROPAGATE_EXCEPTIONS, or SystemExit on a worker timeout
        level, code = logging.ERROR, 500
    if not summary_logger.isEnabledFor(level):
        return
    exception = None
    if level >= logging.ERROR:
        exception = raised if raised is not None else state.exception
    request = state.request
    fields = {
        "errno": 500 if level == logging.ERROR else 0,
        "agent": request.META.get("HTTP_USER_AGENT", ""),
        "lang": request.META.get("HTTP_ACCEPT_LANGUAGE", ""),
        "method": request.method,
        "path": request.path,
        "uid": uid,
        "rid": state.rid,
        "t": (end - state.start) // 1_000_000,
        "code": code,
    }
    if conf.SUMMARY_LOG_QUERYSTRING:
        fields["querystring"] = unquote(request.META.get("QUERY_STRING", ""))
    # Logger.makeRecord and Logger.handle, the public steps of Logger.log without
    # its search of the call stack for the caller's file and line, which would
    # only ever find this function.
    exc_info = None if exception is None else (type(exception), exception, exception.__traceback__)
    record = summary_logger.makeRecord(
        summary_logger.name,
        level,
        __file__,
        0,
        _message(exception),
        (),
        exc_info,
        "__call__",
        fields,
    )
    summary_logger.handle(record)


def _message(exception: BaseException | None) -> str:
    # The exception's text, as in Mozilla's package (alerts match on it).
    if exception is None:
        return ""
    try:
        return str(exception)
    except Exception:  # an exception whose __str__ raises
        return type(exception).__name__
