"""Hostile request ids, end to end: raw bytes to real gunicorn and uvicorn servers.

A client chooses the ``X-Request-ID`` header. Whatever bytes it sends (CR/LF
and header folding, control characters, quotes that would close a JSON string,
unicode, megabyte-long values, repeated headers), the server either refuses
the request or logs and echoes an id made only of ``A-Z a-z 0-9 . _ : -``,
at most 128 characters: the client's own when it is such an id, a fresh one
otherwise. Every log line stays one valid JSON object, and nothing the client
sent becomes a response header of its own.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .servers import Server, ServerKind, running_server

pytestmark = pytest.mark.e2e

KINDS: list[ServerKind] = ["gunicorn", "uvicorn"]
SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
#: The plain-text lines the servers themselves write (not ours to format).
SERVER_LINE = re.compile(
    rb"^(\[\d{4}-\d\d-\d\d [^]]+\] \[\d+\] \[[A-Z]+\] |INFO: |WARNING: |ERROR: )"
)


@dataclass(frozen=True)
class Case:
    """One hostile request: the raw header line(s) carrying the id."""

    name: str
    headers: bytes
    #: The id as a well-behaved server would pass it on, when it is a safe id.
    kept: str | None = None


CASES = [
    Case("plain", b"X-Request-ID: abc-123_4.5:6\r\n", kept="abc-123_4.5:6"),
    Case("max-length", b"X-Request-ID: " + b"a" * 128 + b"\r\n", kept="a" * 128),
    Case("one-too-long", b"X-Request-ID: " + b"a" * 129 + b"\r\n"),
    Case("huge", b"X-Request-ID: " + b"b" * 7000 + b"\r\n"),
    Case("too-huge-for-the-server", b"X-Request-ID: " + b"c" * 20000 + b"\r\n"),
    Case("obs-fold", b"X-Request-ID: abc\r\n X-Injected: folded\r\n"),
    Case("bare-cr", b"X-Request-ID: abc\rX-Injected: cr\r\n"),
    Case("encoded-crlf", b"X-Request-ID: abc%0d%0aX-Injected:%20pct\r\n"),
    Case("nul", b"X-Request-ID: abc\x00def\r\n"),
    Case("controls", b"X-Request-ID: abc\x1b[31mred\x7f\r\n"),
    Case("json-breakout", b'X-Request-ID: x", "Severity": 0, "Type": "forged\r\n'),
    Case("utf8", "X-Request-ID: caf\u00e9-\u2603-\U0001f600\r\n".encode()),
    Case("latin1", b"X-Request-ID: caf\xe9\r\n"),
    Case("invalid-utf8", b"X-Request-ID: \xff\xfe\xc3\x28\r\n"),
    Case("spaces", b"X-Request-ID: a b\r\n"),
    Case("empty", b"X-Request-ID: \r\n"),
    Case("path", b"X-Request-ID: ../../etc/passwd\r\n"),
    Case("html", b"X-Request-ID: <script>alert(1)</script>\r\n"),
    Case("repeated", b"X-Request-ID: one\r\nX-Request-ID: two\r\n"),
    Case("lowercase-name", b"x-request-id: lower-ok\r\n", kept="lower-ok"),
]


@dataclass(frozen=True)
class Reply:
    status: int | None
    headers: list[tuple[str, str]]
    raw: bytes


def send_raw(port: int, path: str, agent: str, extra_headers: bytes) -> Reply:
    """Send one request byte for byte and read the whole answer."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {agent}\r\n".encode()
        + extra_headers
        + b"Connection: close\r\n\r\n"
    )
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass  # a server may slam the door on a request it refuses
    raw = b"".join(chunks)
    if not raw:
        return Reply(None, [], raw)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status_line, *header_lines = head.split("\r\n")
    headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return Reply(int(status_line.split()[1]), headers, raw)


@pytest.fixture(scope="module", params=KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with running_server(request.param, env={"DOCKERFLOW_SUMMARY_LOG_PROBES": "true"}) as running:
        yield running


def summary_records(server: Server) -> list[dict[str, object]]:
    records = []
    for line in server.output().encode("utf-8", "surrogateescape").splitlines():
        if not line.strip() or SERVER_LINE.match(line):
            continue
        record = json.loads(line)  # every other line must be one JSON object
        assert isinstance(record, dict)
        if record.get("Type") == "request.summary":
            records.append(record)
    return records


@pytest.mark.parametrize("path", ["/", "/__lbheartbeat__"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_request_id(server: Server, case: Case, path: str) -> None:
    agent = f"request-id-test-{case.name}-{path.strip('/') or 'index'}"
    reply = send_raw(server.port, path, agent, case.headers)

    # Nothing the client sent became a header of the answer.
    names = [name for name, _ in reply.headers]
    assert "x-injected" not in names
    assert b"forged" not in reply.raw
    assert b"\x1b" not in reply.raw

    echoed = [value for name, value in reply.headers if name == "x-request-id"]
    assert len(echoed) <= 1
    logged = [r for r in summary_records(server) if (r.get("Fields") or {}).get("agent") == agent]
    if reply.status is None or reply.status == 400 or reply.status == 431:
        # The server refused the request before the application saw it.
        assert not logged, logged
        return
    assert reply.status == 200, reply.raw[:300]
    for rid in echoed:
        assert SAFE_ID.fullmatch(rid), rid
    if path == "/":
        # Normal requests are always logged; probes only with the setting,
        # which this server has (DOCKERFLOW_SUMMARY_LOG_PROBES=true).
        assert len(logged) == 1, f"{len(logged)} summary lines for {agent}"
    for record in logged:
        fields = record["Fields"]
        assert isinstance(fields, dict)
        rid = fields.get("rid")
        assert isinstance(rid, str)
        assert SAFE_ID.fullmatch(rid), rid
        if case.kept is not None:
            assert rid == case.kept
        else:
            assert rid not in case.headers.decode("latin-1")
        if echoed:
            assert echoed[0] == rid


def test_every_log_line_is_json_after_the_hostile_requests(server: Server) -> None:
    for case in CASES:
        send_raw(server.port, "/", f"request-id-final-{case.name}", case.headers)
    records = summary_records(server)  # raises on any line that is not JSON
    assert records
