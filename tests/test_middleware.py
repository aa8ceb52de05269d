"""``DockerflowMiddleware``: one ``request.summary`` per request, request ids end to end.

The views and URLs these tests use are in this module (``pytest.mark.urls``).
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction, sync_to_async
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import PermissionDenied
from django.db import connection, connections
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path

from dockerflow.django.middleware import DockerflowMiddleware
from dockerflow.logging import MozlogFormatter, RequestIdLogFilter, request_id_context

from .mozlog import check_mozlog, check_summary

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

app_logger = logging.getLogger("tests.middleware.views")

# -- the views ---------------------------------------------------------------------


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("index")


async def async_index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("async index")


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom\n{forged}")


async def async_boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("async boom")


def not_found(request: HttpRequest) -> HttpResponse:
    raise Http404("nothing here")


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def logs(request: HttpRequest) -> HttpResponse:
    app_logger.info("inside the view")

    def in_thread() -> None:
        app_logger.info("inside a thread")

    thread = threading.Thread(target=contextvars.copy_context().run, args=(in_thread,))
    thread.start()
    thread.join()
    return HttpResponse(request_id_context.get() or "")


async def async_logs(request: HttpRequest) -> HttpResponse:
    app_logger.info("inside the async view")
    await sync_to_async(app_logger.info)("inside sync_to_async")
    await asyncio.gather(asyncio.create_task(asyncio.sleep(0)))
    return HttpResponse(f"{request_id_context.get()} {threading.get_ident()}")


def touches_user(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(request.user.is_authenticated))


def touches_session(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(request.session.get("anything")))


def sets_header(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("mine")
    response["X-Request-ID"] = "set-by-the-view"
    return response


def streams(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter([b"a", b"b"]))


def status(request: HttpRequest, code: int) -> HttpResponse:
    return HttpResponse(status=code)


urlpatterns = [
    path("", index),
    path("async/", async_index),
    path("boom/", boom),
    path("async-boom/", async_boom),
    path("not-found/", not_found),
    path("forbidden/", forbidden),
    path("logs/", logs),
    path("async-logs/", async_logs),
    path("user/", touches_user),
    path("session/", touches_session),
    path("sets-header/", sets_header),
    path("streams/", streams),
    path("status/<int:code>/", status),
]

# -- capturing the log ------------------------------------------------------------


class Captured:
    """The MozLog lines written while a test runs, parsed and validated."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def records(self) -> list[dict[str, Any]]:
        return [check_mozlog(line) for line in self.stream.getvalue().splitlines()]

    def summaries(self) -> list[dict[str, Any]]:
        return [
            check_summary(line)
            for line in self.stream.getvalue().splitlines()
            if json.loads(line)["Type"] == "request.summary"
        ]

    def summary(self) -> dict[str, Any]:
        (only,) = self.summaries()
        return only

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()


@pytest.fixture
def logged() -> Iterator[Captured]:
    captured = Captured()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(MozlogFormatter(logger_name="tests"))
    handler.addFilter(RequestIdLogFilter())
    loggers = [logging.getLogger("request.summary"), app_logger]
    saved = [(lg.handlers, lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.handlers = [handler]
        lg.setLevel(logging.DEBUG)
        lg.propagate = False
    yield captured
    for lg, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        lg.handlers, lg.level, lg.propagate = handlers, level, propagate


RID = "0b7e8c5e-6a52-4a7e-9f0c-3f6f2c1e9d11"

# -- the summary ------------------------------------------------------------------------


def test_summary_fields(client: Client, logged: Captured) -> None:
    response = client.get(
        "/?q=a%20b",
        headers={"User-Agent": "curl/8.0", "Accept-Language": "fr", "X-Request-ID": RID},
    )
    assert response.status_code == 200
    record = logged.summary()
    assert record["Severity"] == 6
    assert record["Logger"] == "tests"
    fields = record["Fields"]
    assert fields == {
        "errno": 0,
        "agent": "curl/8.0",
        "lang": "fr",
        "method": "GET",
        "path": "/",
        "uid": "",
        "rid": RID,
        "t": fields["t"],
        "code": 200,
    }
    assert response["X-Request-ID"] == RID


async def test_summary_fields_async(async_client: AsyncClient, logged: Captured) -> None:
    response = await async_client.post("/async/", headers={"X-Request-ID": RID})
    assert response.status_code == 200
    fields = logged.summary()["Fields"]
    assert (fields["method"], fields["path"], fields["code"], fields["rid"]) == (
        "POST",
        "/async/",
        200,
        RID,
    )
    assert response["X-Request-ID"] == RID


def test_missing_headers_are_empty_strings(logged: Captured) -> None:
    request = RequestFactory().get("/")
    del request.META["HTTP_COOKIE"]
    DockerflowMiddleware(lambda request: HttpResponse())(request)
    fields = logged.summary()["Fields"]
    assert (fields["agent"], fields["lang"], fields["uid"]) == ("", "", "")


def test_t_is_the_duration_in_milliseconds(
    logged: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dockerflow.django.middleware as middleware

    clock = iter([1_000_000_000, 1_123_999_999])
    monkeypatch.setattr(middleware.time, "monotonic_ns", lambda: next(clock))
    DockerflowMiddleware(lambda request: HttpResponse())(RequestFactory().get("/"))
    assert logged.summary()["Fields"]["t"] == 123


@pytest.mark.parametrize("code", [200, 201, 204, 302, 400, 404, 418, 500, 503])
def test_code_is_the_status(client: Client, logged: Captured, code: int) -> None:
    client.get(f"/status/{code}/")
    fields = logged.summary()["Fields"]
    assert fields["code"] == code
    assert fields["errno"] == 0  # a view answering 500 raised nothing


def test_one_summary_per_request(client: Client, logged: Captured) -> None:
    for _ in range(3):
        client.get("/")
    rids = [s["Fields"]["rid"] for s in logged.summaries()]
    assert len(rids) == 3
    assert len(set(rids)) == 3


def test_another_middleware_answering_early(client: Client, logged: Captured) -> None:
    # CommonMiddleware redirects to the slashed URL before any view runs.
    response = client.get("/async")
    assert response.status_code == 301
    assert logged.summary()["Fields"]["code"] == 301


def test_disallowed_host_is_logged(client: Client, logged: Captured) -> None:
    response = client.get("/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    fields = logged.summary()["Fields"]
    assert (fields["code"], fields["errno"]) == (400, 0)


@override_settings(SECURE_SSL_REDIRECT=True)
def test_ssl_redirect_is_logged(client: Client, logged: Captured) -> None:
    assert client.get("/").status_code == 301
    assert logged.summary()["Fields"]["code"] == 301


def test_streaming_response(client: Client, logged: Captured) -> None:
    response = client.get("/streams/", headers={"X-Request-ID": RID})
    assert b"".join(response.streaming_content) == b"ab"  # type: ignore[attr-defined]
    assert response["X-Request-ID"] == RID
    assert logged.summary()["Fields"]["code"] == 200


def test_logger_off_still_echoes_the_id(client: Client) -> None:
    summary = logging.getLogger("request.summary")
    previous = summary.level
    summary.setLevel(logging.WARNING)
    try:
        response = client.get("/", headers={"X-Request-ID": RID})
    finally:
        summary.setLevel(previous)
    assert response["X-Request-ID"] == RID


# -- querystring ---------------------------------------------------------------------------


def test_querystring_off_by_default(client: Client, logged: Captured) -> None:
    client.get("/?token=secret")
    assert "querystring" not in logged.summary()["Fields"]


@override_settings(DOCKERFLOW_SUMMARY_LOG_QUERYSTRING=True)
def test_querystring_on(client: Client, logged: Captured) -> None:
    client.get("/?q=caf%C3%A9%20au%20lait&page=2")
    fields = logged.summary()["Fields"]
    assert fields["querystring"] == "q=café au lait&page=2"  # as Mozilla's: unquoted


@override_settings(DOCKERFLOW_SUMMARY_LOG_QUERYSTRING=True)
def test_querystring_on_and_empty(client: Client, logged: Captured) -> None:
    client.get("/")
    assert logged.summary()["Fields"]["querystring"] == ""


# -- exceptions ------------------------------------------------------------------------------


def test_raising_view(client: Client, logged: Captured) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        client.get("/boom/")  # the exception still reaches Django's handler
    record = logged.summary()
    assert record["Severity"] == 3
    fields = record["Fields"]
    assert (fields["errno"], fields["code"]) == (500, 500)
    assert fields["msg"] == "boom\n{forged}"  # the exception's text, as Mozilla's package logs it
    assert fields["error"] == "RuntimeError('boom\\n{forged}')"
    assert "in boom\n" in fields["traceback"]
    assert fields["traceback"].endswith("RuntimeError('boom\\n{forged}')\n")


def test_raising_view_answers_django_500(logged: Captured) -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/boom/", headers={"X-Request-ID": RID})
    assert response.status_code == 500
    assert response["X-Request-ID"] == RID
    fields = logged.summary()["Fields"]
    assert (fields["errno"], fields["code"], fields["rid"]) == (500, 500, RID)


async def test_raising_async_view(logged: Captured) -> None:
    client = AsyncClient(raise_request_exception=False)
    response = await client.get("/async-boom/")
    assert response.status_code == 500
    record = logged.summary()
    assert record["Severity"] == 3
    assert record["Fields"]["errno"] == 500
    assert record["Fields"]["error"] == "RuntimeError('async boom')"
    assert "in async_boom" in record["Fields"]["traceback"]


async def test_raising_sync_view_under_asgi(logged: Captured) -> None:
    client = AsyncClient(raise_request_exception=False)
    assert (await client.get("/boom/")).status_code == 500
    fields = logged.summary()["Fields"]
    assert fields["errno"] == 500
    assert "in boom" in fields["traceback"]


@pytest.mark.parametrize(("url", "code"), [("/not-found/", 404), ("/forbidden/", 403)])
def test_handled_exceptions_are_no_errors(
    client: Client, logged: Captured, url: str, code: int
) -> None:
    assert client.get(url).status_code == code
    record = logged.summary()
    assert record["Severity"] == 6
    assert (record["Fields"]["errno"], record["Fields"]["code"]) == (0, code)
    assert "traceback" not in record["Fields"]


@override_settings(DEBUG_PROPAGATE_EXCEPTIONS=True)
def test_exception_propagating_through_the_middleware(client: Client, logged: Captured) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        client.get("/boom/")
    fields = logged.summary()["Fields"]
    assert (fields["errno"], fields["code"]) == (500, 500)
    assert "RuntimeError" in fields["error"]
    assert request_id_context.get() is None


def test_system_exit_is_logged_and_raised(logged: Captured) -> None:
    # gunicorn stops a worker that overran its timeout with SystemExit.
    def stuck(request: HttpRequest) -> HttpResponse:
        raise SystemExit(1)

    with pytest.raises(SystemExit):
        DockerflowMiddleware(stuck)(RequestFactory().get("/"))
    record = logged.summary()
    assert (record["Severity"], record["Fields"]["errno"], record["Fields"]["code"]) == (
        3,
        500,
        500,
    )
    assert "in stuck" in record["Fields"]["traceback"]


async def test_client_gone_is_a_warning(logged: Captured) -> None:
    async def cancelled(request: HttpRequest) -> HttpResponse:
        raise asyncio.CancelledError

    middleware = DockerflowMiddleware(cancelled)
    with pytest.raises(asyncio.CancelledError):
        await middleware(RequestFactory().get("/"))
    record = logged.summary()
    assert record["Severity"] == 4
    assert (record["Fields"]["errno"], record["Fields"]["code"]) == (0, 499)
    assert "traceback" not in record["Fields"]


def test_error_endpoint_is_logged_as_an_error(logged: Captured) -> None:
    client = Client(raise_request_exception=False)
    with override_settings(DOCKERFLOW_ERROR_ENDPOINT=True, DEBUG=True):
        assert client.get("/__error__").status_code == 500
    record = logged.summary()
    assert (record["Severity"], record["Fields"]["errno"], record["Fields"]["code"]) == (
        3,
        500,
        500,
    )
    assert "ErrorEndpointCalled" in record["Fields"]["error"]


# -- probes ----------------------------------------------------------------------------------

PROBES = ["/__lbheartbeat__", "/__version__", "/__heartbeat__"]


@pytest.mark.parametrize("url", PROBES)
def test_probes_not_logged_by_default(client: Client, logged: Captured, url: str) -> None:
    response = client.get(url, headers={"X-Request-ID": RID})
    assert response["X-Request-ID"] == RID
    assert logged.summaries() == []


@pytest.mark.parametrize("url", PROBES)
@override_settings(DOCKERFLOW_SUMMARY_LOG_PROBES=True)
def test_probes_logged_when_asked(client: Client, logged: Captured, url: str) -> None:
    client.get("/", headers={"X-Request-ID": "previous"})
    response = client.get(url)
    _, probe = logged.summaries()
    fields = probe["Fields"]
    assert fields["path"] == url
    assert fields["code"] == response.status_code
    assert fields["rid"] == response["X-Request-ID"]
    assert fields["rid"] != "previous"  # Mozilla's logs the previous request's rid
    assert isinstance(fields["t"], int)


@pytest.mark.parametrize("url", PROBES)
@override_settings(DOCKERFLOW_SUMMARY_LOG_PROBES=True)
async def test_probes_logged_when_asked_async(
    async_client: AsyncClient, logged: Captured, url: str
) -> None:
    response = await async_client.get(url)
    fields = logged.summary()["Fields"]
    assert (fields["path"], fields["code"]) == (url, response.status_code)
    assert fields["rid"] == response["X-Request-ID"]


async def test_probe_echoes_the_id_async(async_client: AsyncClient, logged: Captured) -> None:
    response = await async_client.get("/__lbheartbeat__", headers={"X-Request-ID": RID})
    assert response["X-Request-ID"] == RID
    assert logged.summaries() == []


# -- request ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "incoming",
    ["", "x" * 129, "has space", "line\nbreak", "a\r\nSet-Cookie: x=1", 'quote"d', "é", "a/b"],
)
def test_unsafe_request_ids_are_replaced(client: Client, logged: Captured, incoming: str) -> None:
    response = client.get("/", headers={"X-Request-ID": incoming})
    rid = logged.summary()["Fields"]["rid"]
    assert rid != incoming
    assert uuid.UUID(rid).version == 4
    assert response["X-Request-ID"] == rid


def test_request_id_of_128_characters_is_kept(client: Client, logged: Captured) -> None:
    incoming = "a.b_c:d-" * 16
    response = client.get("/", headers={"X-Request-ID": incoming})
    assert logged.summary()["Fields"]["rid"] == incoming == response["X-Request-ID"]


@override_settings(DOCKERFLOW_REQUEST_ID_HEADER_NAME="X-Correlation-ID")
def test_request_id_header_name(client: Client, logged: Captured) -> None:
    response = client.get("/", headers={"X-Correlation-ID": "abc-1", "X-Request-ID": "other"})
    assert logged.summary()["Fields"]["rid"] == "abc-1"
    assert response["X-Correlation-ID"] == "abc-1"
    assert "X-Request-ID" not in response


def test_view_that_sets_the_header_keeps_it(client: Client, logged: Captured) -> None:
    response = client.get("/sets-header/", headers={"X-Request-ID": RID})
    assert response["X-Request-ID"] == "set-by-the-view"
    assert logged.summary()["Fields"]["rid"] == RID


def test_no_request_id_leaks_between_requests(client: Client, logged: Captured) -> None:
    client.get("/", headers={"X-Request-ID": "first"})
    assert request_id_context.get() is None  # reset once the request is done
    client.get("/")
    client.get("/__lbheartbeat__")
    with override_settings(DOCKERFLOW_SUMMARY_LOG_PROBES=True):
        client.get("/__lbheartbeat__")
    client.get("/")
    rids = [s["Fields"]["rid"] for s in logged.summaries()]
    assert rids[0] == "first"
    assert len(rids) == 4
    assert len(set(rids)) == 4


async def test_no_request_id_leaks_between_async_requests(
    async_client: AsyncClient, logged: Captured
) -> None:
    await async_client.get("/async/", headers={"X-Request-ID": "first"})
    await async_client.get("/async/")
    rids = [s["Fields"]["rid"] for s in logged.summaries()]
    assert rids[0] == "first"
    assert rids[1] != "first"


def test_every_record_of_the_request_carries_the_id(client: Client, logged: Captured) -> None:
    response = client.get("/logs/", headers={"X-Request-ID": RID})
    assert response.content.decode() == RID
    records = logged.records()
    assert [r["Fields"].get("msg") for r in records] == ["inside the view", "inside a thread", None]
    assert {r["Fields"]["rid"] for r in records} == {RID}


async def test_every_record_of_an_async_request_carries_the_id(
    async_client: AsyncClient, logged: Captured
) -> None:
    response = await async_client.get("/async-logs/", headers={"X-Request-ID": RID})
    rid, _ = response.content.decode().split()
    assert rid == RID
    records = logged.records()
    assert [r["Fields"].get("msg") for r in records] == [
        "inside the async view",
        "inside sync_to_async",
        None,
    ]
    assert {r["Fields"]["rid"] for r in records} == {RID}


async def test_native_async_path(logged: Captured) -> None:
    # Under ASGI the middleware is a coroutine: the summary is written on the
    # event loop's thread, where the async view ran, with no thread hop.
    async def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(str(threading.get_ident()))

    middleware = DockerflowMiddleware(view)
    assert iscoroutinefunction(middleware)
    seen: list[int] = []

    class Thread(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            seen.append(threading.get_ident())
            return True

    summary = logging.getLogger("request.summary")
    summary.addFilter(thread_filter := Thread())
    try:
        response = await middleware(RequestFactory().get("/"))
    finally:
        summary.removeFilter(thread_filter)
    assert seen == [int(response.content)] == [threading.get_ident()]


# -- uid --------------------------------------------------------------------------------------


@pytest.fixture
def user() -> User:
    return User.objects.create_user("ann", password="not-used")


def queries_of(client: Client, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return len(queries), queries


def test_uid_anonymous_without_session_costs_nothing(client: Client, logged: Captured) -> None:
    count, queries = queries_of(client, "/")
    assert count == 0, queries.captured_queries  # no session cookie: no session load
    assert logged.summary()["Fields"]["uid"] == ""


def test_uid_when_the_view_loaded_the_user(client: Client, logged: Captured, user: User) -> None:
    client.force_login(user)
    count, _ = queries_of(client, "/user/")
    assert count == 2  # the view's own: the session and the user, nothing more
    assert logged.summary()["Fields"]["uid"] == user.pk


def test_uid_when_the_view_loaded_only_the_session(
    client: Client, logged: Captured, user: User
) -> None:
    client.force_login(user)
    count, _ = queries_of(client, "/session/")
    assert count == 1  # the view's session load; the uid comes from it
    assert logged.summary()["Fields"]["uid"] == user.pk


def test_uid_when_the_view_touched_neither(client: Client, logged: Captured, user: User) -> None:
    client.force_login(user)
    count, queries = queries_of(client, "/")
    # One session load (Mozilla's package makes two: session, then user).
    assert count == 1, queries.captured_queries
    assert "django_session" in queries.captured_queries[0]["sql"]
    assert logged.summary()["Fields"]["uid"] == user.pk


def test_uid_with_an_unknown_session_cookie(client: Client, logged: Captured) -> None:
    client.cookies["sessionid"] = "no-such-session"
    client.get("/")
    assert logged.summary()["Fields"]["uid"] == ""


def test_uid_after_logout(client: Client, logged: Captured, user: User) -> None:
    client.force_login(user)
    client.logout()
    client.get("/user/")
    assert logged.summary()["Fields"]["uid"] == ""


@pytest.mark.django_db(transaction=True)  # the async ORM runs in another thread
async def test_uid_async(async_client: AsyncClient, logged: Captured) -> None:
    try:
        user = await User.objects.acreate_user("ann", password="not-used")
        await async_client.aforce_login(user)
        await async_client.get("/async/")
        assert logged.summary()["Fields"]["uid"] == user.pk
    finally:
        # The async ORM calls above ran in asgiref's thread, outside any request,
        # so no request_finished closes the connection they opened there, and
        # SQLite's close() keeps an in-memory database open anyway (Python 3.13
        # reports it unclosed at exit): close it in that thread.
        await sync_to_async(_close_this_threads_databases)()


def _close_this_threads_databases() -> None:
    for database in connections.all(initialized_only=True):
        if database.connection is not None:
            database.connection.close()
            database.connection = None


def test_uid_of_a_user_set_by_another_middleware(logged: Captured) -> None:
    class Remote:
        is_authenticated = True
        pk = uuid.UUID("12345678-1234-5678-1234-567812345678")

    request = RequestFactory().get("/")
    request.user = Remote()  # type: ignore[assignment]
    DockerflowMiddleware(lambda request: HttpResponse())(request)
    assert logged.summary()["Fields"]["uid"] == "12345678-1234-5678-1234-567812345678"


def test_uid_of_an_anonymous_user_object(logged: Captured) -> None:
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    DockerflowMiddleware(lambda request: HttpResponse())(request)
    assert logged.summary()["Fields"]["uid"] == ""


def test_uid_of_a_broken_user_object(logged: Captured) -> None:
    class Broken:
        @property
        def is_authenticated(self) -> bool:
            raise RuntimeError("no")

    request = RequestFactory().get("/")
    request.user = Broken()  # type: ignore[assignment]
    DockerflowMiddleware(lambda request: HttpResponse())(request)
    assert logged.summary()["Fields"]["uid"] == ""


class SessionStore(DatabaseSessionStore):
    """A session store whose backend is down (SESSION_ENGINE points at this module)."""

    def load(self) -> dict[str, Any]:
        raise ConnectionError("session store down")

    async def aload(self) -> dict[str, Any]:
        raise ConnectionError("session store down")


def test_uid_when_the_session_store_is_down(logged: Captured) -> None:
    client = Client()
    client.cookies["sessionid"] = "abc"
    with override_settings(SESSION_ENGINE=__name__):
        response = client.get("/")
    assert response.status_code == 200
    assert logged.summary()["Fields"]["uid"] == ""


async def test_uid_when_the_session_store_is_down_async(logged: Captured) -> None:
    client = AsyncClient()
    client.cookies["sessionid"] = "abc"
    with override_settings(SESSION_ENGINE=__name__):
        response = await client.get("/async/")
    assert response.status_code == 200
    assert logged.summary()["Fields"]["uid"] == ""


def test_the_logger_makes_the_record(logged: Captured, monkeypatch: pytest.MonkeyPatch) -> None:
    # Through Logger.makeRecord, so a custom Logger class or record factory sees it.
    made: list[logging.LogRecord] = []
    original = logging.Logger.makeRecord

    def make_record(self: logging.Logger, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(self, *args, **kwargs)
        made.append(record)
        return record

    monkeypatch.setattr(logging.Logger, "makeRecord", make_record)
    DockerflowMiddleware(lambda request: HttpResponse())(RequestFactory().get("/"))
    assert len(made) == 1
    assert logged.summary()["Fields"]["code"] == 200


@pytest.mark.parametrize("querystring", [False, True])
def test_the_fields_and_their_order(logged: Captured, querystring: bool) -> None:
    request = RequestFactory().get(
        "/p%C3%A9?a=1%202", HTTP_USER_AGENT="ua", HTTP_X_REQUEST_ID="r-1"
    )
    with override_settings(DOCKERFLOW_SUMMARY_LOG_QUERYSTRING=querystring):
        DockerflowMiddleware(lambda request: HttpResponse(status=201))(request)
    fields = logged.summary()["Fields"]
    expected = ["errno", "agent", "lang", "method", "path", "uid", "rid", "t", "code"]
    assert list(fields) == expected + (["querystring"] if querystring else [])
    assert (fields["errno"], fields["agent"], fields["lang"]) == (0, "ua", "")
    assert (fields["method"], fields["path"], fields["uid"]) == ("GET", "/pé", "")
    assert (fields["rid"], fields["code"]) == ("r-1", 201)
    if querystring:
        assert fields["querystring"] == "a=1 2"


def test_custom_record_factory(logged: Captured) -> None:
    # Projects add attributes to every record with a record factory.
    original = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(*args, **kwargs)
        record.service = "billing"  # type: ignore[attr-defined]
        return record

    logging.setLogRecordFactory(factory)
    try:
        DockerflowMiddleware(lambda request: HttpResponse())(RequestFactory().get("/"))
    finally:
        logging.setLogRecordFactory(original)
    assert logged.summary()["Fields"]["service"] == "billing"


def test_every_probe_path_starts_with_two_underscores() -> None:
    # The middleware only matches paths starting with "/__" against the probes.
    from dockerflow.django.middleware import PROBES

    assert all(path.startswith("/__") for path in PROBES)


def test_the_same_request_served_twice_inside_itself(logged: Captured) -> None:
    # A view that sends its own request through the middleware again (odd, but
    # it must not break the outer request or leak state).
    inner = DockerflowMiddleware(lambda request: HttpResponse("inner"))
    outer = DockerflowMiddleware(lambda request: inner(request))
    response = outer(RequestFactory().get("/", HTTP_X_REQUEST_ID="nested"))
    assert response.content == b"inner"
    assert [s["Fields"]["rid"] for s in logged.summaries()] == ["nested", "nested"]
    assert request_id_context.get() is None
    # Nothing of that request is left behind for the next one.
    DockerflowMiddleware(lambda request: HttpResponse())(RequestFactory().get("/"))
    assert logged.summaries()[-1]["Fields"]["rid"] != "nested"


# -- Django's own records of the request ---------------------------------------------------


@pytest.fixture
def django_logged(logged: Captured) -> Iterator[Captured]:
    """``logged``, with Django's ``django.request`` logger writing to it too."""
    request_logger = logging.getLogger("django.request")
    saved = (request_logger.handlers, request_logger.level, request_logger.propagate)
    request_logger.handlers = [logging.getLogger("request.summary").handlers[0]]
    request_logger.setLevel(logging.DEBUG)
    request_logger.propagate = False
    yield logged
    request_logger.handlers, request_logger.level, request_logger.propagate = saved


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/no-such-page/", "Not Found: /no-such-page/"),
        ("/forbidden/", "Forbidden (Permission denied): /forbidden/"),
        ("/boom/", "Internal Server Error: /boom/"),
    ],
)
def test_djangos_own_lines_carry_the_request_id(
    django_logged: Captured, url: str, message: str
) -> None:
    # Django logs these after the middleware has returned (log_response).
    Client(raise_request_exception=False).get(url, headers={"X-Request-ID": RID})
    [line] = [r for r in django_logged.records() if r["Type"] == "django.request"]
    assert line["Fields"]["msg"] == message
    assert line["Fields"]["rid"] == RID
    assert django_logged.summary()["Fields"]["rid"] == RID


@override_settings(DOCKERFLOW_CHECKS=["tests.test_heartbeat.error_check"])
def test_a_failing_heartbeat_line_carries_the_request_id(django_logged: Captured) -> None:
    Client().get("/__heartbeat__", headers={"X-Request-ID": RID})
    [line] = [r for r in django_logged.records() if r["Type"] == "django.request"]
    assert line["Fields"]["msg"] == "Internal Server Error: /__heartbeat__"
    assert line["Fields"]["rid"] == RID


async def test_djangos_own_lines_carry_the_request_id_async(django_logged: Captured) -> None:
    await AsyncClient().get("/no-such-page/", headers={"X-Request-ID": RID})
    [line] = [r for r in django_logged.records() if r["Type"] == "django.request"]
    assert line["Fields"]["rid"] == RID


def test_a_client_cannot_choose_the_id_django_lines_get(django_logged: Captured) -> None:
    # The META key is a WSGI environ extension: no request header can set it.
    Client().get("/no-such-page/", headers={"dockerflow.request_id": "forged", "X-Request-ID": RID})
    [line] = [r for r in django_logged.records() if r["Type"] == "django.request"]
    assert line["Fields"]["rid"] == RID
