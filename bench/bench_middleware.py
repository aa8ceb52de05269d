"""Middleware overhead per request, and the cost of ``/__lbheartbeat__``.

Runs a full WSGI request cycle through Django's ``WSGIHandler`` (request
signals, URL resolution, a trivial view, ``response.close()``) in-process:

- ``middleware.overhead``: seconds a request takes with ``DockerflowMiddleware``
  minus seconds without it. The ``request.summary`` logger formats every
  record with the package's own MozLog formatter and drops the text, so the
  formatting cost counts. Target (issue 12): at most 0.5x Mozilla's overhead.
- ``lbheartbeat.request``: one ``GET /__lbheartbeat__`` with the middleware
  first in a typical stack. Target: no slower than Mozilla's.
- ``middleware.request`` (ours only): the whole request with the middleware
  against a bare Django request, for scale.

Run: ``python bench/bench_middleware.py`` (prints JSON lines), or ``make bench``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import benchlib
import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

MIDDLEWARE = "dockerflow.django.middleware.DockerflowMiddleware"
TYPICAL_STACK = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
NUMBER = 2000


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("", trivial)]


def configure() -> benchlib.FormatOnlyHandler:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-not-secret",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["dockerflow.django"],
        MIDDLEWARE=[],
        DATABASES={},
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()
    from dockerflow.logging import RequestIdLogFilter

    handler = benchlib.mozlog_handler()
    handler.addFilter(RequestIdLogFilter())
    summary = logging.getLogger("request.summary")
    summary.handlers = [handler]
    summary.setLevel(logging.INFO)
    summary.propagate = False
    return handler


def wsgi_handler(middleware: list[str]) -> object:
    from django.core.handlers.wsgi import WSGIHandler

    settings.MIDDLEWARE = middleware
    return WSGIHandler()  # loads MIDDLEWARE now


def requester(handler: object, url: str) -> Callable[[], int]:
    def one_request() -> int:
        response = handler(benchlib.wsgi_environ(url), benchlib.start_response)  # type: ignore[operator]
        response.close()
        return int(response.status_code)

    return one_request


def main() -> None:
    formatted = configure()
    bare = requester(wsgi_handler([]), "/")
    with_middleware = requester(wsgi_handler([MIDDLEWARE]), "/")
    lbheartbeat = requester(wsgi_handler([MIDDLEWARE, *TYPICAL_STACK]), "/__lbheartbeat__")

    # A benchmark that measures nothing is worse than none: check each path
    # does the work it claims before timing it.
    assert bare() == 200
    formatted.last = ""
    assert with_middleware() == 200
    record = json.loads(formatted.last)
    assert record["Type"] == "request.summary", record
    assert lbheartbeat() == 200

    bare_s, with_s = benchlib.best_interleaved([bare, with_middleware], number=NUMBER)
    benchlib.emit("middleware.overhead", with_s - bare_s, 0.5)
    benchlib.emit_baseline("middleware.request", with_s, bare_s, "bare Django request", None)
    benchlib.emit("lbheartbeat.request", benchlib.best_per_op(lbheartbeat, number=NUMBER), 1.0)


if __name__ == "__main__":
    main()
