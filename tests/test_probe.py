"""``dockerflow.probe``: the standard-library HTTP probe, against scripted servers.

The scripted servers (:class:`StubServer`) answer with exact bytes, so every
protocol corner a probe can meet (redirects, chunked bodies, endless bodies,
endless headers, garbage, silence, slow drips) is tested without mocks. Only
name resolution is patched: this machine may not send DNS queries.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dockerflow import probe
from dockerflow.probe import (
    MAX_BODY,
    ProbeResult,
    default_url,
    main,
    parse_timeout,
    probe_url,
    validate_host,
    validate_url,
)

from .conftest import free_port

ROOT = Path(__file__).resolve().parent.parent

Handler = Callable[[socket.socket, bytes], None]


class StubServer:
    """A loopback TCP server whose handler writes raw bytes back.

    Each connection's request head is recorded in ``requests``; the handler
    gets the connected socket and the head. Stopped (and joined) on exit.
    """

    def __init__(self, handler: Handler, family: int = socket.AF_INET) -> None:
        self.handler = handler
        self.requests: list[bytes] = []
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        self.listener.bind((host, 0))
        self.listener.listen(16)
        self.listener.settimeout(0.1)
        self.port: int = self.listener.getsockname()[1]
        netloc = f"[{host}]" if family == socket.AF_INET6 else host
        self.url = f"http://{netloc}:{self.port}"
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> StubServer:
        self.acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.acceptor.join(5)
        for thread in self.threads:
            thread.join(5)
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                self.requests.append(head)
                self.handler(conn, head)
            except OSError:
                pass  # the probe hung up first: that is what some tests want


def respond(raw: bytes) -> Handler:
    """A handler that sends ``raw`` and closes."""

    def handler(conn: socket.socket, head: bytes) -> None:
        conn.sendall(raw)

    return handler


def http(status: str, body: bytes = b"", headers: str = "") -> bytes:
    """A complete HTTP/1.1 response with Content-Length."""
    return (
        f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}Connection: close\r\n\r\n"
    ).encode() + body


@contextmanager
def serving(raw: bytes | Handler) -> Iterator[StubServer]:
    """Serve canned bytes (or run a handler) on a free loopback port."""
    handler = respond(raw) if isinstance(raw, bytes) else raw
    with StubServer(handler) as server:
        yield server


def wait_for(stop: threading.Event, seconds: float) -> None:
    stop.wait(seconds)


# --- Outcomes ------------------------------------------------------------------


def test_200_is_healthy_with_body() -> None:
    with serving(http("200 OK", b'{"status": "ok"}', "Content-Type: application/json\r\n")) as s:
        result = probe_url(s.url + "/__heartbeat__", timeout=5)
    assert result.healthy
    assert result.exit_code == 0
    assert result.status == 200
    assert result.body == b'{"status": "ok"}'
    assert not result.truncated
    assert result.summary().startswith("healthy: HTTP 200 OK from ")
    assert result.report().endswith('{"status": "ok"}')


def test_204_without_body_is_healthy() -> None:
    with serving(b"HTTP/1.1 204 No Content\r\n\r\n") as s:
        result = probe_url(s.url, timeout=5)
    assert result.healthy
    assert result.body == b""
    assert result.report() == result.summary()


@pytest.mark.parametrize(
    ("status", "code"),
    [("500 Internal Server Error", 500), ("503 Service Unavailable", 503), ("404 Not Found", 404)],
)
def test_error_statuses_are_unhealthy_and_report_the_body(status: str, code: int) -> None:
    with serving(http(status, b'{"status": "error"}')) as s:
        result = probe_url(s.url + "/__heartbeat__", timeout=5)
    assert not result.healthy
    assert result.exit_code == 1
    assert result.status == code
    assert f"HTTP {status}" in result.reason
    assert result.body == b'{"status": "error"}'


def test_redirect_is_unhealthy_and_not_followed() -> None:
    raw = http("301 Moved Permanently", headers="Location: https://example.com/__lbheartbeat__\r\n")
    with serving(raw) as s:
        result = probe_url(s.url + "/__lbheartbeat__", timeout=5)
    assert not result.healthy
    assert result.status == 301
    assert "not follow" in result.reason
    assert "https://example.com/__lbheartbeat__" in result.reason
    assert len(s.requests) == 1  # nothing was followed


def test_connection_refused_is_unhealthy() -> None:
    port = free_port()
    result = probe_url(f"http://127.0.0.1:{port}/", timeout=5)
    assert not result.healthy
    assert result.status is None
    assert "connection refused" in result.reason
    assert f"port {port}" in result.reason


def test_silent_server_times_out_within_the_timeout() -> None:
    stop = threading.Event()
    with serving(lambda conn, head: wait_for(stop, 5)) as s:
        start = time.monotonic()
        result = probe_url(s.url, timeout=0.5)
        elapsed = time.monotonic() - start
        stop.set()
    assert not result.healthy
    assert "timed out after 0.5 s" in result.reason
    assert "waiting for the response" in result.reason
    assert elapsed < 0.5 + 1.0


def test_slow_drip_body_cannot_outlast_the_timeout() -> None:
    stop = threading.Event()

    def drip(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        while not stop.is_set():
            conn.sendall(b"x")
            stop.wait(0.05)

    with serving(drip) as s:
        start = time.monotonic()
        result = probe_url(s.url, timeout=0.5)
        elapsed = time.monotonic() - start
        stop.set()
    assert not result.healthy
    assert "timed out" in result.reason
    assert "reading the response body" in result.reason
    assert elapsed < 0.5 + 1.0


def test_slow_drip_headers_cannot_outlast_the_timeout() -> None:
    stop = threading.Event()

    def drip(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.is_set():
            conn.sendall(b"X-A: b\r\n")
            stop.wait(0.05)

    with serving(drip) as s:
        start = time.monotonic()
        result = probe_url(s.url, timeout=0.5)
        elapsed = time.monotonic() - start
        stop.set()
    assert not result.healthy
    assert "timed out" in result.reason
    assert elapsed < 0.5 + 1.0


def test_huge_body_is_read_only_up_to_the_limit() -> None:
    stop = threading.Event()
    sent = [0]

    def flood(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        block = b"y" * 65536
        while not stop.is_set() and sent[0] < 1_000_000_000:
            conn.sendall(block)
            sent[0] += len(block)

    with serving(flood) as s:
        result = probe_url(s.url, timeout=5)
        stop.set()
    assert result.healthy  # a 200 is a 200, however big
    assert result.truncated
    assert len(result.body) == MAX_BODY
    assert sent[0] < 100 * MAX_BODY  # the probe hung up; it did not drain a gigabyte
    assert f"[body truncated after {MAX_BODY} bytes]" in result.report()


def test_endless_close_delimited_body_is_truncated() -> None:
    stop = threading.Event()

    def flood(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.0 503 Service Unavailable\r\n\r\n")
        while not stop.is_set():
            conn.sendall(b"z" * 65536)

    with serving(flood) as s:
        result = probe_url(s.url, timeout=5)
        stop.set()
    assert not result.healthy
    assert result.status == 503
    assert result.truncated
    assert len(result.body) == MAX_BODY


def test_endless_header_is_a_bad_response() -> None:
    stop = threading.Event()

    def flood(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Big: ")
        while not stop.is_set():
            conn.sendall(b"h" * 65536)

    with serving(flood) as s:
        result = probe_url(s.url, timeout=5)
        stop.set()
    assert not result.healthy
    assert result.status is None
    assert result.reason.startswith("bad response: LineTooLong(")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "BadStatusLine('SSH-2.0-OpenSSH_9.6\\r\\n')"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "BadStatusLine("),
        (b"\x1b[2J\r\n\r\n", "BadStatusLine('\\x1b[2J"),  # escaped, on one line
        (b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 150 + b"\r\n", "more than 100 headers"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "cut short"),
        (b"", "RemoteDisconnected("),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", "ValueError("),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nab", "cut short"),
    ],
)
def test_malformed_responses_are_unhealthy(raw: bytes, fragment: str) -> None:
    with serving(raw) as s:
        result = probe_url(s.url, timeout=5)
    assert not result.healthy
    assert result.exit_code == 1
    assert result.status is None
    assert result.reason.startswith("bad response: ")
    assert fragment in result.reason
    assert "\n" not in result.reason
    assert "\x1b" not in result.reason


@pytest.mark.parametrize(
    ("raw", "status", "healthy"),
    [
        # http.client reads these as responses: the status decides.
        (b"HTTP/1.1 999 Odd\r\n\r\n", 999, False),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", 101, False),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", 200, True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", 200, True),
        (b"HTTP/1.1 200 OK\r\nContent-Le", 200, True),
        (b"HTTP/1.1 204 No Content\r\nContent-Length: 100\r\n\r\n", 204, True),
    ],
)
def test_what_http_client_accepts_is_judged_by_its_status(
    raw: bytes, status: int, healthy: bool
) -> None:
    with serving(raw) as s:
        result = probe_url(s.url, timeout=5)
    assert result.status == status
    assert result.healthy is healthy
    assert f"HTTP {status}" in result.reason


def test_chunked_body_is_decoded() -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    with serving(raw) as s:
        result = probe_url(s.url, timeout=5)
    assert result.healthy
    assert result.body == b"hello world"
    assert not result.truncated


def test_huge_chunk_is_truncated() -> None:
    size = MAX_BODY * 4
    raw = b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % size + b"c" * size
    with serving(raw) as s:
        result = probe_url(s.url, timeout=5)
    assert not result.healthy
    assert result.truncated
    assert len(result.body) == MAX_BODY


def test_100_continue_is_skipped() -> None:
    raw = b"HTTP/1.1 100 Continue\r\n\r\n" + http("200 OK", b"fine")
    with serving(raw) as s:
        result = probe_url(s.url, timeout=5)
    assert result.healthy
    assert result.body == b"fine"


def test_other_interim_responses_are_the_answer() -> None:
    # http.client skips only 100 Continue; a server that sends 103 Early Hints
    # to a probe is reported, not trusted.
    raw = b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" + http("200 OK", b"fine")
    with serving(raw) as s:
        result = probe_url(s.url, timeout=5)
    assert not result.healthy
    assert result.status == 103
    assert "HTTP 103 Early Hints" in result.reason


def test_http_1_0_close_delimited_response() -> None:
    with serving(b"HTTP/1.0 200 OK\r\n\r\nold style") as s:
        result = probe_url(s.url, timeout=5)
    assert result.healthy
    assert result.body == b"old style"


def test_status_line_without_reason_phrase() -> None:
    with serving(b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") as s:
        result = probe_url(s.url, timeout=5)
    assert result.healthy
    assert result.status_text == ""
    assert "HTTP 200 from" in result.reason


def test_repeated_headers_are_folded() -> None:
    raw = http("302 Found", headers="Location: /a\r\nLocation: /b\r\n")
    with serving(raw) as s:
        result = probe_url(s.url, timeout=5)
    assert result.headers["location"] == "/a, /b"


def test_request_line_host_header_and_target() -> None:
    with serving(http("200 OK")) as s:
        probe_url(s.url + "/__heartbeat__?verbose=1#fragment", timeout=5)
        probe_url(s.url, timeout=5, host="example.org")
        probe_url(s.url + "?q", timeout=5)
    first, second, third = s.requests
    assert first.startswith(b"GET /__heartbeat__?verbose=1 HTTP/1.1\r\n")
    assert f"\r\nHost: 127.0.0.1:{s.port}\r\n".encode() in first
    assert b"fragment" not in first
    assert b"\r\nConnection: close\r\n" in first
    assert b"\r\nUser-Agent: dockerflow-probe\r\n" in first
    assert second.startswith(b"GET / HTTP/1.1\r\n")
    assert b"\r\nHost: example.org\r\n" in second
    assert third.startswith(b"GET /?q HTTP/1.1\r\n")


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = StubServer(respond(http("200 OK", b"six")), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with server:
        result = probe_url(server.url + "/", timeout=5)
    assert result.healthy
    assert result.body == b"six"
    assert f"\r\nHost: [::1]:{server.port}\r\n".encode() in server.requests[0]


def test_tls_to_a_plain_http_server_is_unhealthy() -> None:
    with serving(http("200 OK")) as s:
        result = probe_url(s.url.replace("http://", "https://"), timeout=5)
    assert not result.healthy
    assert result.status is None
    assert "TLS handshake" in result.reason or "SSL" in result.reason


def test_hostile_body_cannot_drive_the_terminal() -> None:
    with serving(http("500 Error", b"\x1b[2J\x1b]0;pwned\x07bad\xff\nnext\tline")) as s:
        result = probe_url(s.url, timeout=5)
    text = result.body_text()
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\\x1b[2J" in text
    assert "\\xff" in text
    assert "\nnext\tline" in text


# --- Name resolution (patched: no DNS traffic leaves this machine) -------------


def test_dns_failure_is_unhealthy(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    result = probe_url("http://web.invalid:8000/__lbheartbeat__", timeout=5)
    assert not result.healthy
    assert "cannot resolve host 'web.invalid'" in result.reason
    assert "Name or service not known" in result.reason


def test_hung_resolver_cannot_outlast_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hang(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    start = time.monotonic()
    result = probe_url("http://web.invalid/", timeout=0.3)
    elapsed = time.monotonic() - start
    release.set()
    assert not result.healthy
    assert "timed out after 0.3 s while resolving web.invalid and connecting" in result.reason
    assert elapsed < 0.3 + 1.0


def test_second_address_is_tried_when_the_first_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    with serving(http("200 OK")) as s:
        refused = free_port()
        addresses = [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", refused)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", s.port)),
        ]
        monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: addresses)
        result = probe_url("http://web.internal/", timeout=5)
    assert result.healthy


# --- Input validation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "empty"),
        ("ftp://host/", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("javascript:alert(1)", "scheme 'none'"),
        ("localhost:8000/__lbheartbeat__", "scheme 'none'"),
        ("//host/path", "scheme"),
        ("http://", "no host"),
        ("http:///path", "no host"),
        ("http://host name/", "spaces"),
        ("http://host/a b", "spaces"),
        ("http://host/\r\nX-Injected: 1", "control"),
        ("http://host/\x00", "control"),
        ("http://héllo.example/", "non-ASCII"),
        ("http://user:secret@host/", "credentials"),
        ("http://host:99999/", "invalid port"),
        ("http://host:0/", "invalid port"),
        ("http://host:abc/", "invalid port"),
        ("http://host:80:80/", "invalid port"),
        ("http://[::1/", "invalid IPv6"),
        ("http://[zz]/", "invalid IPv6"),
        ("http://[::1]x/", "invalid port"),
        ("http://a..b/", "invalid host"),
        ("http://-a/", "invalid host"),
        ("http://a/b/../%/", None),
    ],
)
def test_validate_url_rejects(url: str, fragment: str | None) -> None:
    if fragment is None:
        validate_url(url)  # odd paths are the server's business
        return
    with pytest.raises(ValueError, match=r"URL|empty") as info:
        validate_url(url)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost", ("http", "localhost", 80, "localhost", "/")),
        ("HTTP://Web:8000/p?q=1#frag", ("http", "Web", 8000, "Web:8000", "/p?q=1")),
        ("https://[::1]:8443/x", ("https", "::1", 8443, "[::1]:8443", "/x")),
        ("https://web_1/", ("https", "web_1", 443, "web_1", "/")),
        ("http://h?x=1", ("http", "h", 80, "h", "/?x=1")),
        ("http://h#only", ("http", "h", 80, "h", "/")),
        ("http://h:/", ("http", "h", 80, "h:", "/")),
    ],
)
def test_validate_url_parts(url: str, expected: tuple[str, str, int, str, str]) -> None:
    parts = validate_url(url)
    assert (parts.scheme, parts.host, parts.port, parts.netloc, parts.target) == expected


@pytest.mark.parametrize(
    "text", ["0", "-1", "nan", "inf", "-inf", "1e9", "3600.5", "abc", "", "1s"]
)
def test_parse_timeout_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="timeout"):
        parse_timeout(text)


@pytest.mark.parametrize(("text", "value"), [("0.5", 0.5), ("3", 3.0), ("3600", 3600.0)])
def test_parse_timeout_accepts(text: str, value: float) -> None:
    assert parse_timeout(text) == value


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf")])
def test_probe_url_rejects_bad_timeouts(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        probe_url("http://127.0.0.1:1/", timeout=timeout)


@pytest.mark.parametrize("host", ["", "a b", "web\r\nX-Injected: 1", "héllo", "a/b", "x" * 256])
def test_validate_host_rejects(host: str) -> None:
    with pytest.raises(ValueError, match="Host header"):
        validate_host(host)
    with pytest.raises(ValueError, match="Host header"):
        probe_url("http://127.0.0.1:1/", host=host)


@pytest.mark.parametrize("host", ["example.org", "web:8000", "[::1]:8000", "web_1"])
def test_validate_host_accepts(host: str) -> None:
    assert validate_host(host) == host


def test_default_url_from_port() -> None:
    assert default_url({}) == "http://127.0.0.1:8000/__lbheartbeat__"
    assert default_url({"PORT": ""}) == "http://127.0.0.1:8000/__lbheartbeat__"
    assert default_url({"PORT": "9000"}) == "http://127.0.0.1:9000/__lbheartbeat__"
    assert default_url({"PORT": " 9000 "}) == "http://127.0.0.1:9000/__lbheartbeat__"


@pytest.mark.parametrize("port", ["abc", "0", "70000", "-1", "80.5", "1e3"])
def test_default_url_rejects_bad_port(port: str) -> None:
    with pytest.raises(ValueError, match=r"\$PORT"):
        default_url({"PORT": port})


def test_public_names() -> None:
    assert sorted(probe.__all__) == sorted(
        [
            "DEFAULT_PATH",
            "DEFAULT_TIMEOUT",
            "EXIT_HEALTHY",
            "EXIT_UNHEALTHY",
            "MAX_BODY",
            "MAX_TIMEOUT",
            "USER_AGENT",
            "ProbeResult",
            "ProbeTarget",
            "argparse_type",
            "default_url",
            "main",
            "parse_timeout",
            "probe_url",
            "validate_host",
            "validate_url",
        ]
    )
    for name in probe.__all__:
        assert hasattr(probe, name), name


def test_result_repr_and_exit_code() -> None:
    result = ProbeResult("http://x/", False, "connection refused by x port 80")
    assert result.exit_code == 1
    assert "unhealthy: connection refused" in repr(result)


# --- The command line ----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["{url}"], 0),
        (["{url}", "--timeout", "2"], 0),
        (["{url}", "--timeout=2"], 0),
        (["--timeout", "2", "{url}"], 0),
        (["{url}", "--tim", "2"], 0),  # an unambiguous abbreviation
        (["{url}", "--timeout", "9", "--timeout", "2"], 0),  # the last one counts
        (["--", "{url}"], 0),
        (["{url}", "--host", "web"], 0),
        (["{url}", "--host=web"], 0),
        (["{url}", "--timeout", "0"], 2),
        (["{url}", "--timeout", "-1"], 2),
        (["{url}", "--timeout"], 2),
        (["{url}", "--host", "a b"], 2),
        (["{url}", "{url}"], 2),
        (["{url}", "--bogus"], 2),
        (["ftp://x/"], 2),
    ],
)
def test_main_command_lines(argv: list[str], code: int, capsys: pytest.CaptureFixture[str]) -> None:
    with serving(http("200 OK")) as s:
        args = [arg.format(url=s.url) for arg in argv]
        try:
            exit_code = main(args)
        except SystemExit as exc:  # argparse's usage errors
            exit_code = int(exc.code or 0)
    assert exit_code == code, capsys.readouterr()
    if code == 2:
        assert "usage: dockerflow-probe" in capsys.readouterr().err


def run_probe(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> Any:
    """Run ``python -m dockerflow.probe`` in a fresh process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "dockerflow.probe", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def test_cli_healthy_exits_0_and_prints_to_stdout() -> None:
    with serving(http("200 OK", b'{"status": "ok"}')) as s:
        done = run_probe(s.url + "/__heartbeat__", "--timeout", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("healthy: HTTP 200 OK from ")
    assert done.stdout.rstrip().endswith('{"status": "ok"}')


def test_cli_5xx_exits_1_and_prints_to_stderr() -> None:
    with serving(http("500 Internal Server Error", b'{"status": "error"}')) as s:
        done = run_probe(s.url + "/__heartbeat__")
    assert done.returncode == 1
    assert done.stderr.startswith("unhealthy: HTTP 500 Internal Server Error")
    assert '{"status": "error"}' in done.stderr


def test_cli_refused_exits_1() -> None:
    done = run_probe(f"http://127.0.0.1:{free_port()}/", "--timeout=3")
    assert done.returncode == 1
    assert "connection refused" in done.stderr


def test_cli_redirect_exits_1() -> None:
    with serving(http("308 Permanent Redirect", headers="Location: https://x/\r\n")) as s:
        done = run_probe(s.url)
    assert done.returncode == 1
    assert "redirect" in done.stderr


def test_cli_timeout_exits_1_within_the_timeout() -> None:
    stop = threading.Event()
    with serving(lambda conn, head: wait_for(stop, 10)) as s:
        start = time.monotonic()
        done = run_probe(s.url, "--timeout", "0.5")
        elapsed = time.monotonic() - start
        stop.set()
    assert done.returncode == 1
    assert "timed out after 0.5 s" in done.stderr
    assert elapsed < 0.5 + 5  # interpreter start-up included, generous margin


def test_cli_default_url_uses_port() -> None:
    with serving(http("200 OK")) as s:
        done = run_probe(env={"PORT": str(s.port)})
    assert done.returncode == 0, done.stderr
    assert s.requests[0].startswith(b"GET /__lbheartbeat__ HTTP/1.1\r\n")


def test_cli_host_option() -> None:
    with serving(http("200 OK")) as s:
        done = run_probe(s.url, "--host", "app.example.org")
    assert done.returncode == 0
    assert b"\r\nHost: app.example.org\r\n" in s.requests[0]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["ftp://host/"], {}, "only http and https"),
        (["http://h/", "--timeout", "soon"], {}, "is not a number of seconds"),
        (["http://h/", "--timeout", "0"], {}, "must be above 0"),
        (["http://h/", "--timeout", "nan"], {}, "must be above 0"),
        (["http://h/", "--host", "a\tb"], {}, "Host header"),
        (["http://h/", "http://i/"], {}, "unrecognized arguments"),
        (["--bogus"], {}, "unrecognized arguments"),
        ([], {"PORT": "eighty"}, "$PORT is 'eighty'"),
    ],
)
def test_cli_usage_errors_exit_2(args: list[str], env: dict[str, str], message: str) -> None:
    done = run_probe(*args, env=env)
    assert done.returncode == 2
    assert "usage: python -m dockerflow.probe" in done.stderr
    assert message in done.stderr


def test_cli_help_documents_exit_codes() -> None:
    done = run_probe("--help")
    assert done.returncode == 0
    assert "exit codes:" in done.stdout
    assert "never a health outcome" in done.stdout


def test_cli_imports_neither_django_nor_heavy_modules() -> None:
    """The probe runs in slim images: no Django, no project."""
    with serving(http("200 OK")) as s:
        code = (
            "import sys, runpy\n"
            "before = set(sys.modules)\n"
            f"sys.argv = ['probe', {s.url!r}]\n"
            "try:\n"
            "    runpy.run_module('dockerflow.probe', run_name='__main__')\n"
            "except SystemExit as exc:\n"
            "    assert exc.code == 0, exc.code\n"
            "print(' '.join(sorted(set(sys.modules) - before)))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=30,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    imported = done.stdout.strip().splitlines()[-1].split()
    assert "dockerflow" in imported  # run as __main__, so the package only
    assert "http.client" in imported  # the standard library speaks HTTP
    assert not [m for m in imported if m.split(".")[0] in ("django", "testproject")]


def test_cli_imports_no_django_even_with_settings_in_the_environment() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "dockerflow.probe",
            "--timeout",
            "1",
            f"http://127.0.0.1:{free_port()}/",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "testproject.settings"},
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    modules = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line]
    assert "dockerflow" in modules  # -m runs the module itself as __main__
    assert not [m for m in modules if m.split(".")[0] in ("django", "testproject")]


def test_a_path_is_probed_on_port_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An exec-form HEALTHCHECK cannot expand $PORT: "/__version__" means that
    # path on http://127.0.0.1:$PORT, the drain-safe probe of the same server.
    with serving(http("200 OK")) as s:
        port = s.url.split(":")[2].split("/")[0]
        monkeypatch.setenv("PORT", port)
        assert main(["/__version__"]) == 0
    out = capsys.readouterr().out
    assert f"http://127.0.0.1:{port}/__version__" in out


@pytest.mark.parametrize(("argv", "words"), [(["/__version__"], "$PORT"), (["/a b"], "URL")])
def test_a_path_with_a_bad_port_or_path_is_a_usage_error(
    argv: list[str], words: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "not-a-port" if words == "$PORT" else "8000")
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert words in capsys.readouterr().err
