"""``DockerflowMiddleware``: answers the probe paths and logs ``request.summary``."""

from __future__ import annotations

import asyncio
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
from django.http.response import ResponseHeaders
from django.utils.functional import LazyObject, empty

from ..logging import _safe_repr, generate_request_id, is_valid_request_id, request_id_context
from . import views
from .conf import conf

summary_logger = logging.getLogger("request.summary")
# Whether the logger's class makes records the standard way (a Logger's class
# is fixed when it is created, and that is now).
_STANDARD_LOGGER = type(summary_logger).makeRecord is logging.Logger.makeRecord

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


class _Request:
    """What the middleware knows about the request it is serving.

    Found by the request's id in ``_serving`` (nothing is added to the
    request) by ``process_exception`` and the ``got_request_exception``
    receiver, which may run in another thread.
    """

    __slots__ = (
        "exception",
        "failed",
        "header",
        "header_key",
        "request",
        "rid",
        "start",
    )

    def __init__(self, request: HttpRequest) -> None:
        self.start = time.monotonic_ns()
        self.request = request
        #: The request id header (DOCKERFLOW_REQUEST_ID_HEADER_NAME), and the
        #: id: the incoming one when it is safe, else a new one.
        self.header = header = conf.REQUEST_ID_HEADER_NAME
        keys = _header_keys.get(header)
        if keys is None:
            keys = _keys_of(header)
        meta_key, self.header_key = keys
        rid = request.META.get(meta_key)
        if rid is None or not is_valid_request_id(rid):
            rid = generate_request_id()
        self.rid = rid
        #: The exception the view raised (``process_exception``), if any.
        self.exception: BaseException | None = None
        #: Whether Django handled an exception as a server error (a 500).
        self.failed = False


#: id(request) -> its state, while the middleware serves the request. (A dict
#: costs less than a second context variable, and any thread can read it.)
_serving: dict[int, _Request] = {}


def _state_of(request: object) -> _Request | None:
    state = _serving.get(id(request))
    return state if state is not None and state.request is request else None


# HTTP header name -> its request.META key and its key in a response's
# headers, for the request id header.
_header_keys: dict[str, tuple[str, str]] = {}


def _keys_of(header: str) -> tuple[str, str]:
    keys = ("HTTP_" + header.upper().replace("-", "_"), header.lower())
    if len(_header_keys) < 16:  # the setting has one value (a few in tests)
        _header_keys[header] = keys
    return keys


def _on_request_exception(
    sender: object, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django sends got_request_exception for the exceptions it turns into a
    # 500, not for Http404 or PermissionDenied: that decides errno.
    state = _state_of(request)
    if state is None:
        return
    state.failed = True
    handled = sys.exc_info()[1]  # None when Django handles it in another thread
    if handled is not None:
        state.exception = handled


got_request_exception.connect(_on_request_exception, dispatch_uid="dockerflow.request.summary")


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


class _SessionLoad:
    """The uid is in a session that has not been loaded yet."""

    __slots__ = ("session",)

    def __init__(self, session: Any) -> None:
        self.session = session

    def load(self) -> Any:
        """Load the session (one query with the database backend); its uid."""
        try:
            return _session_uid(self.session.get(SESSION_KEY))
        except Exception:  # the session store is down: still log the request
            return ""

    async def aload(self) -> Any:
        """:meth:`load`, natively async."""
        try:
            return _session_uid(await self.session.aget(SESSION_KEY))
        except Exception:  # the session store is down: still log the request
            return ""


def _known_uid(request: HttpRequest) -> Any:
    """The user's primary key, or "" when anonymous, found without a query.

    Returns a :class:`_SessionLoad` when only loading the session would tell.
    """
    attrs = request.__dict__
    user = attrs.get("user")
    if user is None:  # no AuthenticationMiddleware ran (a probe, or none installed)
        return ""
    if isinstance(user, LazyObject):
        # AuthenticationMiddleware's lazy user: never evaluate it here, which
        # would cost a session query and a user query.
        wrapped = user._wrapped
        if wrapped is empty:
            wrapped = attrs.get("_cached_user", attrs.get("_acached_user", empty))
        if wrapped is empty:
            return _uid_from_session(attrs.get("session"))
        user = wrapped
    return _pk(user)


def _uid_from_session(session: Any) -> Any:
    if session is None:
        return ""
    try:
        if session.session_key is None:  # no session cookie: nobody is logged in
            return ""
        loaded = session.__dict__.get("_session_cache")
    except Exception:
        return ""
    if loaded is not None:  # the view already loaded it: no query
        return _session_uid(loaded.get(SESSION_KEY))
    return _SessionLoad(session)


class DockerflowMiddleware:
    """Answer the Dockerflow endpoints early and log one summary per request.

    Put it first in ``MIDDLEWARE``: probes are answered before any other
    middleware (host validation, SSL redirects, sessions, login) runs, and
    every other request is timed and logged as one ``request.summary`` record,
    whatever the middleware after it does.
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
        path = request.path_info
        # Every probe path starts with "/__": most requests skip the match.
        probe = match_probe(path) if path.startswith("/__") else None
        state = _serving[id(request)] = _Request(request)
        rid_token = request_id_context.set(state.rid)
        response: HttpResponseBase
        try:
            try:
                if probe is not None:
                    response = PROBES[probe](request)
                elif path in ERROR_PATHS and _wants_error(request):
                    response = _error_response(request)
                else:
                    response = self.get_response(request)  # type: ignore[assignment]
            except BaseException as exc:  # DEBUG_PROPAGATE_EXCEPTIONS, SystemExit...
                if probe is None or conf.SUMMARY_LOG_PROBES:
                    _log_summary(state, None, exc, _known_uid(request), time.monotonic_ns())
                raise
            end = time.monotonic_ns()
            _echo_request_id(response, state)
            if probe is None or conf.SUMMARY_LOG_PROBES:
                uid = _known_uid(request)
                if type(uid) is _SessionLoad:
                    uid = uid.load()
                _log_summary(state, response, None, uid, end)
            return response
        finally:
            _serving.pop(id(request), None)
            request_id_context.reset(rid_token)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        probe = match_probe(path) if path.startswith("/__") else None
        state = _serving[id(request)] = _Request(request)
        rid_token = request_id_context.set(state.rid)
        try:
            try:
                response = await self._arespond(request, probe)
            except BaseException as exc:  # CancelledError when the client left...
                if probe is None or conf.SUMMARY_LOG_PROBES:
                    _log_summary(state, None, exc, _known_uid(request), time.monotonic_ns())
                raise
            end = time.monotonic_ns()
            _echo_request_id(response, state)
            if probe is None or conf.SUMMARY_LOG_PROBES:
                uid = _known_uid(request)
                if type(uid) is _SessionLoad:
                    uid = await uid.aload()
                _log_summary(state, response, None, uid, end)
            return response
        finally:
            _serving.pop(id(request), None)
            request_id_context.reset(rid_token)

    async def _arespond(self, request: HttpRequest, probe: str | None) -> HttpResponseBase:
        if probe is not None:
            if probe in ASYNC_PROBES:
                return await ASYNC_PROBES[probe](request)
            return PROBES[probe](request)
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


def _echo_request_id(response: HttpResponseBase, state: _Request) -> None:
    headers = response.headers
    store = headers.__dict__.get("_store")
    if type(headers) is ResponseHeaders and type(store) is dict:
        # ResponseHeaders' own storage: the checks __setitem__ makes (ASCII, no
        # line breaks) hold already for a validated header name and id, and
        # they cost more than the rest of this middleware's own work. A view
        # that set the header keeps its value.
        store.setdefault(state.header_key, (state.header, state.rid))
    elif state.header not in response:
        response[state.header] = state.rid


def _log_summary(
    state: _Request,
    response: HttpResponseBase | None,
    raised: BaseException | None,
    uid: Any,
    end: int,
) -> None:
    """Log the ``request.summary`` record of ``state``'s request, answered at ``end``."""
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
    exc_info = None
    msg = ""
    if level == logging.ERROR:
        exception = raised if raised is not None else state.exception
        if exception is not None:
            exc_info = (type(exception), exception, exception.__traceback__)
            msg = _safe_repr(exception)
    request = state.request
    meta = request.META
    errno = 500 if level == logging.ERROR else 0
    agent = meta.get("HTTP_USER_AGENT", "")
    lang = meta.get("HTTP_ACCEPT_LANGUAGE", "")
    if type(uid) is _SessionLoad:
        uid = ""
    t = (end - state.start) // 1_000_000
    querystring = conf.SUMMARY_LOG_QUERYSTRING
    if _STANDARD_LOGGER:
        # What Logger.makeRecord does, without checking that each extra would
        # not overwrite a LogRecord attribute: these never do. Plain attribute
        # stores, in the order of the Fields: cheaper than building a dict and
        # updating the record's __dict__ with it.
        record = logging.getLogRecordFactory()(
            "request.summary", level, __file__, 0, msg, (), exc_info, "__call__"
        )
        record.errno = errno
        record.agent = agent
        record.lang = lang
        record.method = request.method
        record.path = request.path
        record.uid = uid
        record.rid = state.rid
        record.t = t
        record.code = code
        if querystring:
            record.querystring = unquote(meta.get("QUERY_STRING", ""))
    else:  # a custom Logger class: its own makeRecord
        fields = {
            "errno": errno,
            "agent": agent,
            "lang": lang,
            "method": request.method,
            "path": request.path,
            "uid": uid,
            "rid": state.rid,
            "t": t,
            "code": code,
        }
        if querystring:
            fields["querystring"] = unquote(meta.get("QUERY_STRING", ""))
        record = summary_logger.makeRecord(
            "request.summary", level, __file__, 0, msg, (), exc_info, "__call__", fields
        )
    summary_logger.handle(record)
