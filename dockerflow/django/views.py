"""The Dockerflow endpoints. Thin: the logic lives in ``heartbeat`` and ``version``.

The same views serve both ways of mounting them: answered early by
``DockerflowMiddleware``, or through ``include("dockerflow.django.urls")``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from ..version import VersionFileError
from . import heartbeat as heartbeat_engine
from . import metrics
from .conf import conf, version_callback
from .drain import DRAINING_BODY, draining, mark_drained

__all__ = [
    "ALLOWED_METHODS",
    "ERROR_TOKEN_HEADER",
    "ErrorEndpointCalled",
    "aheartbeat",
    "error",
    "error_endpoint_allowed",
    "heartbeat",
    "heartbeat_response",
    "lbheartbeat",
    "openmetrics_response",
    "probe",
    "raise_error",
    "show_details",
    "version",
    "wants_openmetrics",
]

logger = logging.getLogger("dockerflow.django")

ALLOWED_METHODS = ("GET", "HEAD")

View = Callable[[HttpRequest], HttpResponse]
AsyncView = Callable[[HttpRequest], Awaitable[HttpResponse]]
AnyView = TypeVar("AnyView", View, AsyncView)


def _json(body: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status)


def _refusal(request: HttpRequest, drain: bool) -> HttpResponse | None:
    """The answer a probe gives without running its view, or None to run it."""
    if request.method not in ALLOWED_METHODS:
        response: HttpResponse = _json(
            {"error": f"method {request.method} not allowed"}, status=405
        )
        response["Allow"] = ", ".join(ALLOWED_METHODS)
        return response
    if drain and draining():
        # Intended, not a server error: django.request does not log it.
        mark_drained(request)
        return _json(DRAINING_BODY, status=503)
    return None


def _view_failed(view: Callable[..., Any]) -> HttpResponse:
    # A probe answers JSON whatever happens: never Django's HTML error
    # page, never a traceback. The details go to the log.
    logger.exception("The %s endpoint failed", view.__name__)
    return _json({"error": "internal error"}, status=500)


def _never_cached(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@overload
def probe(view: AnyView, *, drain: bool = ...) -> AnyView: ...
@overload
def probe(view: None = ..., *, drain: bool = ...) -> Callable[[AnyView], AnyView]: ...
def probe(view: Any = None, *, drain: bool = False) -> Any:
    """Common rules of every probe endpoint: GET/HEAD only and never cached.

    With ``drain=True`` (``@probe(drain=True)``) the endpoint answers 503
    while the drain file exists, before running the view. Works on sync and
    ``async def`` views alike.
    """
    if view is None:
        return functools.partial(probe, drain=drain)

    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(request: HttpRequest) -> HttpResponse:
            response = _refusal(request, drain)
            if response is None:
                try:
                    response = await view(request)
                except Exception:
                    response = _view_failed(view)
            return _never_cached(response)

        return login_not_required(csrf_exempt(async_wrapper))

    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        response = _refusal(request, drain)
        if response is None:
            try:
                response = view(request)
            except Exception:
                response = _view_failed(view)
        return _never_cached(response)

    # Mounted with include() the views run after the project's middleware: a
    # probe must not need a login (LoginRequiredMiddleware) nor a CSRF token
    # (a POST gets 405, not 403). Neither reads or changes any state.
    return login_not_required(csrf_exempt(wrapper))


@probe
def version(request: HttpRequest) -> HttpResponse:
    """Serve ``version.json`` as JSON: 404 when missing, 500 when malformed."""
    try:
        version_json = version_callback()(getattr(settings, "BASE_DIR", None))
    except VersionFileError as exc:
        logger.error("Cannot serve /__version__: %s", exc)
        return _json({"error": f"version.json {exc.problem}"}, status=500)
    except Exception:
        logger.exception("Cannot serve /__version__: the version callback raised")
        return _json({"error": "the version callback failed"}, status=500)
    if version_json is None:
        return _json({"error": "version.json not found"}, status=404)
    return _json(version_json)


@probe(drain=True)
def lbheartbeat(request: HttpRequest) -> HttpResponse:
    """Answer 200 with an empty body, touching no backing service (load-balancer liveness)."""
    return HttpResponse()


def show_details() -> bool:
    """Whether heartbeat responses include ``checks`` and ``details``."""
    return bool(settings.DEBUG) or conf.HEARTBEAT_SHOW_DETAILS


def heartbeat_response(result: heartbeat_engine.HeartbeatResult) -> HttpResponse:
    """The JSON response for a heartbeat result: 200, or the failure status code."""
    status = conf.HEARTBEAT_FAILED_STATUS_CODE if result.failed else 200
    return _json(result.payload(details=show_details()), status=status)


#: What a heartbeat answers, as Accept names them. OpenMetrics 0.0.1 clients
#: (Prometheus before 2.33) get 1.0.0, which their parser reads the same way.
_JSON = "application/json"
_OPENMETRICS = (
    "application/openmetrics-text; version=1.0.0",
    "application/openmetrics-text; version=0.0.1",
)


def wants_openmetrics(request: HttpRequest) -> bool:
    """Whether a heartbeat request asks for OpenMetrics rather than JSON.

    ``?format=openmetrics`` or ``?format=json`` decides; without it, the
    ``Accept`` header does: OpenMetrics when the client prefers it to JSON (as
    Prometheus does). Anything else, no ``Accept`` or ``*/*`` included, gets JSON.
    """
    if request.META.get("QUERY_STRING"):
        chosen = request.GET.get("format")
        if chosen is not None:
            return chosen == "openmetrics"
    accept = request.META.get("HTTP_ACCEPT", "")
    # Most probes send no OpenMetrics in Accept: skip parsing the header for them.
    return "openmetrics" in accept.lower() and _prefers_openmetrics(accept)


@functools.lru_cache(maxsize=64)
def _prefers_openmetrics(accept: str) -> bool:
    # Django's negotiation parses the header with the email package (about 0.1 ms);
    # a Prometheus server sends the same header on every scrape, so remember the
    # answer per header (bounded: a client making up headers only evicts others).
    request = HttpRequest()
    request.META["HTTP_ACCEPT"] = accept
    return request.get_preferred_type([_JSON, *_OPENMETRICS]) in _OPENMETRICS


def openmetrics_response(result: heartbeat_engine.HeartbeatResult) -> HttpResponse:
    """The OpenMetrics response for a heartbeat result: always 200.

    A scrape that fails is not a metric: a failed heartbeat is in the values.
    The per-check families are there when details are shown (``DEBUG``,
    ``DOCKERFLOW_HEARTBEAT_SHOW_DETAILS``) or ``DOCKERFLOW_METRICS_SHOW_CHECKS``
    is on.
    """
    per_check = conf.METRICS_SHOW_CHECKS or show_details()
    body = metrics.render_openmetrics(metrics.families(result, per_check=per_check))
    return HttpResponse(body, content_type=metrics.OPENMETRICS_CONTENT_TYPE)


def _answer(request: HttpRequest, result: heartbeat_engine.HeartbeatResult) -> HttpResponse:
    if wants_openmetrics(request):
        response = openmetrics_response(result)
    else:
        response = heartbeat_response(result)
    # The answer depends on Accept: no cache may give one client's answer to another.
    patch_vary_headers(response, ["Accept"])
    return response


def _engine_failed() -> HttpResponse:
    # The engine never raises by design; if it does, still answer JSON, never an HTML page.
    logger.exception("The heartbeat engine failed")
    return _json({"status": "error"}, status=conf.HEARTBEAT_FAILED_STATUS_CODE)


@probe(drain=True)
def heartbeat(request: HttpRequest) -> HttpResponse:
    """Run the configured checks; 200 when healthy, the failure status otherwise.

    A scrape (:func:`wants_openmetrics`) gets the same run as OpenMetrics, always 200.
    The engine sends ``heartbeat_passed``/``heartbeat_failed`` once per run.
    """
    try:
        result = heartbeat_engine.run(sender=heartbeat)
    except Exception:
        return _engine_failed()
    return _answer(request, result)


@probe(drain=True)
async def aheartbeat(request: HttpRequest) -> HttpResponse:
    """:func:`heartbeat` for ASGI: async checks run on the server's event loop.

    ``DockerflowMiddleware`` answers ``/__heartbeat__`` with it under ASGI.
    """
    try:
        result = await heartbeat_engine.arun(sender=heartbeat)
    except Exception:
        return _engine_failed()
    return _answer(request, result)


#: The request header that carries ``DOCKERFLOW_ERROR_ENDPOINT_TOKEN``.
ERROR_TOKEN_HEADER = "X-Dockerflow-Error-Token"  # noqa: S105 - a header name


class ErrorEndpointCalled(Exception):
    """Raised on purpose by ``/__error__``, so a project can test its error reporting."""


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "replace")).digest()


def error_endpoint_allowed(request: HttpRequest) -> bool:
    """Whether ``request`` may reach ``/__error__``.

    Off unless ``DOCKERFLOW_ERROR_ENDPOINT`` is True. Then, with
    ``DOCKERFLOW_ERROR_ENDPOINT_TOKEN`` set, the request must carry that token in
    the ``X-Dockerflow-Error-Token`` header; without a token only a ``DEBUG``
    project serves it.
    """
    if not conf.ERROR_ENDPOINT:
        return False
    token = conf.ERROR_ENDPOINT_TOKEN
    if token is None:
        return bool(settings.DEBUG)
    # Comparing fixed-length digests in constant time reveals neither the
    # token's content nor its length through response timing.
    offered = request.headers.get(ERROR_TOKEN_HEADER, "")
    return hmac.compare_digest(_digest(offered), _digest(token))


def raise_error(request: HttpRequest) -> HttpResponse:
    """Raise :class:`ErrorEndpointCalled`; the caller has applied the guard.

    The exception goes through Django's usual handling (``got_request_exception``,
    ``handler500``, the ``django.request`` log), which is what error reporting
    tools hook into.
    """
    logger.error("The /__error__ endpoint was called")
    raise ErrorEndpointCalled("This is a test exception from the /__error__ endpoint.")


def error(request: HttpRequest) -> HttpResponse:
    """``/__error__`` for URLconf mounting: raise, or 404 when the guard refuses."""
    if not error_endpoint_allowed(request):
        raise Http404
    return raise_error(request)
