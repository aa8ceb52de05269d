"""A container health probe that needs nothing but the standard library.

``python -m dockerflow.probe [URL] [--timeout SECONDS] [--host HOST]`` asks a
running server for ``URL`` and exits 0 when it answers 2xx, 1 otherwise (an
HTTP 3xx, 4xx or 5xx, connection refused, a timeout, a DNS failure, a bad
response). Only argparse's usage errors exit 2, the code Docker reserves.

It imports neither Django nor the project, and not even :mod:`http.client`
(whose ``email`` imports double the start-up time): it speaks the small part of
HTTP/1.1 a probe needs over a plain socket. So it suits slim images without
curl, and a HEALTHCHECK that runs every few seconds stays cheap.

``manage.py dockerflow_heartbeat --url`` uses :func:`probe_url` from here.
"""

from __future__ import annotations

import _thread
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence

# typing.TYPE_CHECKING without importing typing (mypy knows the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

__all__ = [
    "DEFAULT_PATH",
    "DEFAULT_TIMEOUT",
    "EXIT_HEALTHY",
    "EXIT_UNHEALTHY",
    "MAX_BODY",
    "MAX_TIMEOUT",
    "ProbeResult",
    "ProbeTarget",
    "default_url",
    "main",
    "parse_timeout",
    "probe_url",
    "validate_host",
    "validate_url",
]

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1

#: Seconds the whole probe may take, name resolution included. Above the
#: heartbeat's own default timeout (5 s), so a failing ``/__heartbeat__`` is
#: reported with its 5xx body rather than as a probe timeout.
DEFAULT_TIMEOUT = 10.0
#: The largest accepted ``--timeout``; a longer health probe is a mistake.
MAX_TIMEOUT = 3600.0
#: The path probed when no URL is given: the load-balancer heartbeat, which
#: touches no backing service (liveness).
DEFAULT_PATH = "/__lbheartbeat__"
#: At most this many body bytes are read; the rest of the response is dropped.
MAX_BODY = 64 * 1024
#: At most this many bytes of status line and headers are accepted.
MAX_HEADER_BYTES = 64 * 1024
#: At most this many interim (1xx) responses are skipped before the real one.
MAX_INTERIM_RESPONSES = 8

USER_AGENT = "dockerflow-probe"

_CRLF = b"\r\n"


class _BadResponse(Exception):
    """The server answered something that is not a usable HTTP response."""


class ProbeResult:
    """What one probe found out.

    ``status`` is the HTTP status code, or ``None`` when no response came
    (refused, timed out, unresolvable, not HTTP). ``reason`` explains the
    verdict in words; ``body`` holds at most :data:`MAX_BODY` bytes.
    """

    # A plain class, not a dataclass: importing dataclasses (and inspect)
    # would add a third to the probe's start-up time.
    __slots__ = (
        "body",
        "duration",
        "headers",
        "healthy",
        "reason",
        "status",
        "status_text",
        "truncated",
        "url",
    )

    def __init__(
        self,
        url: str,
        healthy: bool,
        reason: str,
        status: int | None = None,
        status_text: str = "",
        body: bytes = b"",
        truncated: bool = False,
        duration: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.healthy = healthy
        self.reason = reason
        self.status = status
        self.status_text = status_text
        self.body = body
        self.truncated = truncated
        self.duration = duration
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"<ProbeResult {self.summary()}>"

    @property
    def exit_code(self) -> int:
        """0 when healthy, 1 otherwise (never 2, which Docker reserves)."""
        return EXIT_HEALTHY if self.healthy else EXIT_UNHEALTHY

    def summary(self) -> str:
        """One line: healthy or unhealthy, and why."""
        verdict = "healthy" if self.healthy else "unhealthy"
        return f"{verdict}: {self.reason}"

    def body_text(self) -> str:
        """The body as printable text: undecodable bytes and control characters escaped."""
        text = self.body.decode("utf-8", errors="backslashreplace")
        # A hostile body must not drive the terminal (or Docker's health log)
        # with escape sequences; keep newlines and tabs, escape the rest.
        text = "".join(
            c if c.isprintable() or c in "\n\t" else c.encode("unicode_escape").decode("ascii")
            for c in text
        )
        if self.truncated:
            text += f"\n[body truncated after {len(self.body)} bytes]"
        return text

    def report(self) -> str:
        """The summary line, then the body (if any)."""
        if not self.body:
            return self.summary()
        return f"{self.summary()}\n{self.body_text()}"


# --- Input validation (each raises ValueError with a message for the user) ---


def _has_unsafe_chars(text: str) -> bool:
    return any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in text)


class ProbeTarget:
    """The parts of a probe URL: scheme, host, port, ``Host`` header and request target."""

    __slots__ = ("host", "netloc", "port", "scheme", "target")

    def __init__(self, scheme: str, host: str, port: int, netloc: str, target: str) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.netloc = netloc
        self.target = target


_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")


def validate_url(url: str) -> ProbeTarget:
    """Check that ``url`` is an absolute http(s) URL a probe can use; return its parts.

    Parsed by hand rather than with :func:`urllib.parse.urlsplit`, whose
    imports (``re``, ``ipaddress``) would cost more start-up time than the
    whole HTTP exchange; the rules are strict instead of forgiving.
    """
    if not url:
        raise ValueError("the URL is empty")
    if _has_unsafe_chars(url):
        # Spaces and control characters would end up in the request line
        # (request smuggling); non-ASCII must be percent-encoded first.
        raise ValueError(
            f"URL {url!r} contains spaces, control or non-ASCII characters; percent-encode them"
        )
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        shown = scheme if sep else "none"
        raise ValueError(f"URL {url!r} has scheme {shown!r}; only http and https are supported")
    end = len(rest)
    for stop in "/?#":
        index = rest.find(stop)
        if 0 <= index < end:
            end = index
    netloc, remainder = rest[:end], rest[end:]
    target = remainder.partition("#")[0]
    if not target.startswith("/"):
        target = "/" + target  # "http://host" and "http://host?q"
    if "@" in netloc:
        raise ValueError(f"URL {url!r} carries credentials; they are not supported")
    if netloc.startswith("["):
        address, bracket, port_text = netloc[1:].partition("]")
        if not bracket or not address or not set(address) <= _IPV6_CHARS or ":" not in address:
            raise ValueError(f"URL {url!r} has an invalid IPv6 address")
        host = address
        if port_text and not port_text.startswith(":"):
            raise ValueError(f"URL {url!r} has an invalid port")
        port_text = port_text[1:]
    else:
        host, _, port_text = netloc.partition(":")
        if not set(host) <= _HOST_CHARS or ".." in host or host.startswith((".", "-")):
            raise ValueError(f"URL {url!r} has an invalid host {host!r}")
    if not host:
        raise ValueError(f"URL {url!r} has no host")
    default_port = 443 if scheme == "https" else 80
    if port_text == "":
        port = default_port
    elif port_text.isdigit() and len(port_text) <= 5 and 0 < int(port_text) < 65536:
        port = int(port_text)
    else:
        raise ValueError(f"URL {url!r} has an invalid port {port_text!r}")
    return ProbeTarget(scheme, host, port, netloc, target)


def validate_host(host: str) -> str:
    """Check a ``Host`` header value (a name or address, optionally ``:port``)."""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]")
    if not host or len(host) > 255 or not set(host) <= allowed:
        raise ValueError(
            f"host {host!r} is not a valid Host header (letters, digits, '.', '-', '_', "
            "':' and '[]' only)"
        )
    return host


def parse_timeout(text: str) -> float:
    """Parse a timeout in seconds: a finite number above 0 and at most :data:`MAX_TIMEOUT`."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"timeout {text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_TIMEOUT:  # also rejects NaN
        raise ValueError(f"timeout {text!r} must be above 0 and at most {MAX_TIMEOUT:g} seconds")
    return value


def default_url(environ: Mapping[str, str] | None = None) -> str:
    """``http://127.0.0.1:$PORT/__lbheartbeat__`` (``$PORT`` defaults to 8000)."""
    env = os.environ if environ is None else environ
    port = env.get("PORT", "").strip() or "8000"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"$PORT is {port!r}, not a TCP port number; pass a URL instead")
    return f"http://127.0.0.1:{int(port)}{DEFAULT_PATH}"


# --- The HTTP exchange ---------------------------------------------------------


class _Progress:
    """What the worker thread is doing, so a timeout can say where it stuck."""

    def __init__(self) -> None:
        self.phase = "starting"


class _Reader:
    """Buffered reads from a socket, every read bounded by the probe's deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""
        self.closed = False

    def _fill(self) -> bool:
        """Read more bytes into the buffer; False at end of stream."""
        if self.closed:
            return False
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(16384)
        if not chunk:
            self.closed = True
            return False
        self.buffer += chunk
        return True

    def read_until(self, marker: bytes, limit: int, what: str) -> bytes:
        """Everything up to and including ``marker``, at most ``limit`` bytes."""
        while True:
            index = self.buffer.find(marker)
            if index >= 0:
                end = index + len(marker)
                data, self.buffer = self.buffer[:end], self.buffer[end:]
                return data
            if len(self.buffer) > limit:
                raise _BadResponse(f"{what} longer than {limit} bytes")
            if not self._fill():
                raise _BadResponse(f"connection closed in the middle of the {what}")

    def read(self, size: int) -> tuple[bytes, bool]:
        """Up to ``size`` bytes; the flag says whether the stream ended early."""
        while len(self.buffer) < size:
            if not self._fill():
                break
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data, len(data) < size

    def read_to_end(self, limit: int) -> tuple[bytes, bool]:
        """Read until the server closes, at most ``limit`` bytes; flag: truncated."""
        while len(self.buffer) <= limit and self._fill():
            pass
        truncated = len(self.buffer) > limit
        return self.buffer[:limit], truncated


class _Response:
    def __init__(self, status: int, status_text: str, headers: dict[str, str]) -> None:
        self.status = status
        self.status_text = status_text
        self.headers = headers
        self.body = b""
        self.truncated = False


def _parse_head(head: bytes) -> _Response:
    lines = head[: -len(_CRLF * 2)].split(_CRLF)
    status_line = lines[0].decode("latin-1")
    version, _, rest = status_line.partition(" ")
    code, _, text = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise _BadResponse(f"status line {status_line[:100]!r} is not HTTP/1.x")
    status = int(code)
    if not 100 <= status <= 599:
        raise _BadResponse(f"status code {status} is out of range")
    headers: dict[str, str] = {}
    for raw in lines[1:]:
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise _BadResponse(f"malformed header line {raw[:100]!r}")
        key = name.lower()
        value = value.strip()
        # Repeated headers: keep them all, as HTTP folds them with commas.
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return _Response(status, text.strip(), headers)


def _read_chunked(reader: _Reader, limit: int) -> tuple[bytes, bool]:
    body = b""
    while True:
        size_line = reader.read_until(_CRLF, 1024, "chunk size line")
        size_text = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _BadResponse(f"bad chunk size {size_text[:20]!r}") from None
        if size < 0:
            raise _BadResponse("negative chunk size")
        if size == 0:
            return body, False
        wanted = min(size, limit - len(body))
        data, ended = reader.read(wanted)
        body += data
        if ended:
            raise _BadResponse("connection closed in the middle of a chunk")
        if wanted < size:
            return body, True  # over the limit: stop reading, the rest is dropped
        reader.read_until(_CRLF, 2, "chunk end")


def _read_body(reader: _Reader, response: _Response) -> None:
    if response.status in (204, 304):
        return
    if "chunked" in response.headers.get("transfer-encoding", "").lower():
        response.body, response.truncated = _read_chunked(reader, MAX_BODY)
        return
    length_text = response.headers.get("content-length")
    if length_text is not None:
        if not length_text.isdigit():
            raise _BadResponse(f"bad Content-Length {length_text[:40]!r}")
        length = int(length_text)
        data, ended = reader.read(min(length, MAX_BODY))
        if ended:
            raise _BadResponse(f"connection closed after {len(data)} of {length} body bytes")
        response.body, response.truncated = data, length > MAX_BODY
        return
    response.body, response.truncated = reader.read_to_end(MAX_BODY)


def _connect(parts: ProbeTarget, deadline: float, progress: _Progress) -> socket.socket:
    host, port = parts.host, parts.port
    progress.phase = f"resolving {host}"
    # Bytes, not str: a str host would import the idna codec (the URL is ASCII).
    addresses = socket.getaddrinfo(host.encode("ascii"), port, type=socket.SOCK_STREAM)
    last_error: OSError | None = None
    for family, kind, proto, _name, address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        progress.phase = f"connecting to {host} port {port}"
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(remaining)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            if isinstance(exc, TimeoutError):
                raise
            last_error = exc
            continue
        if parts.scheme == "https":
            import ssl  # only https probes pay for it

            progress.phase = f"TLS handshake with {host}"
            context = ssl.create_default_context()
            try:
                return context.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        return sock
    assert last_error is not None  # getaddrinfo never returns an empty list
    raise last_error


def _exchange(
    parts: ProbeTarget, host_header: str | None, deadline: float, progress: _Progress
) -> _Response:
    sock = _connect(parts, deadline, progress)
    try:
        request = (
            f"GET {parts.target} HTTP/1.1\r\n"
            f"Host: {host_header or parts.netloc}\r\n"
            f"User-Agent: {USER_AGENT}\r\n"
            "Accept: */*\r\n"
            "Connection: close\r\n\r\n"
        ).encode("ascii")
        progress.phase = "sending the request"
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(request)
        reader = _Reader(sock, deadline)
        progress.phase = "waiting for the response"
        for _ in range(MAX_INTERIM_RESPONSES + 1):
            head = reader.read_until(_CRLF * 2, MAX_HEADER_BYTES, "response head")
            response = _parse_head(head)
            if response.status == 101:
                raise _BadResponse("the server switched protocols (101)")
            if response.status >= 200:
                break
        else:
            raise _BadResponse(f"more than {MAX_INTERIM_RESPONSES} interim responses")
        progress.phase = "reading the response body"
        _read_body(reader, response)
        return response
    finally:
        sock.close()


def _describe_error(
    exc: BaseException, parts: ProbeTarget, timeout: float, progress: _Progress
) -> str:
    where = f"{parts.host} port {parts.port}"
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s while {progress.phase}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host {parts.host!r}: {exc.strerror or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(exc, _BadResponse):
        return f"bad response: {exc}"
    if isinstance(exc, ConnectionError):
        return f"connection to {where} failed while {progress.phase}: {exc.strerror or exc}"
    if isinstance(exc, OSError):
        # ssl.SSLError and friends are OSErrors too.
        return f"{type(exc).__name__} while {progress.phase}: {exc.strerror or exc}"
    return f"unexpected {type(exc).__name__} while {progress.phase}: {exc}"


def _verdict(url: str, response: _Response, duration: float) -> ProbeResult:
    elapsed = f"in {duration * 1000:.1f} ms"
    line = f"HTTP {response.status} {response.status_text}".rstrip()
    if 200 <= response.status < 300:
        healthy, reason = True, f"{line} from {url} {elapsed}"
    elif 300 <= response.status < 400:
        location = response.headers.get("location", "")
        target = f" to {location!r}" if location else ""
        healthy = False
        reason = (
            f"{line} from {url} {elapsed}: a redirect{target}, which a probe does not "
            "follow; probe the final URL (or exempt the probe paths from the redirect)"
        )
    else:
        healthy, reason = False, f"{line} from {url} {elapsed}"
    return ProbeResult(
        url=url,
        healthy=healthy,
        reason=reason,
        status=response.status,
        status_text=response.status_text,
        body=response.body,
        truncated=response.truncated,
        duration=duration,
        headers=response.headers,
    )


def probe_url(
    url: str, *, timeout: float = DEFAULT_TIMEOUT, host: str | None = None
) -> ProbeResult:
    """GET ``url`` once and say whether the answer is healthy (2xx).

    ``timeout`` bounds the whole probe, name resolution included; ``host``
    overrides the ``Host`` header. Redirects are never followed: a 3xx is
    unhealthy. Invalid arguments raise ValueError; every network outcome is a
    :class:`ProbeResult`, never an exception.
    """
    parts = validate_url(url)
    if host is not None:
        validate_host(host)
    if not 0 < timeout <= MAX_TIMEOUT:
        raise ValueError(f"timeout {timeout!r} must be above 0 and at most {MAX_TIMEOUT:g}")
    start = time.monotonic()
    deadline = start + timeout
    progress = _Progress()
    outcome: list[_Response | BaseException] = []
    done = _thread.allocate_lock()
    done.acquire()

    def work() -> None:
        try:
            outcome.append(_exchange(parts, host, deadline, progress))
        except BaseException as exc:  # reported to the caller, never raised in the thread
            outcome.append(exc)
        finally:
            done.release()

    # Name resolution has no timeout of its own, so the exchange runs in a
    # thread and the deadline is enforced here: a hung resolver cannot hold the
    # probe (or the container's HEALTHCHECK) past its timeout. A bare _thread
    # thread is never joined at exit, and _thread costs nothing to import.
    _thread.start_new_thread(work, ())
    done.acquire(timeout=timeout)
    duration = time.monotonic() - start
    if not outcome:
        return ProbeResult(
            url=url,
            healthy=False,
            reason=f"timed out after {timeout:g} s while {progress.phase} ({url})",
            duration=duration,
        )
    result = outcome[0]
    if isinstance(result, _Response):
        return _verdict(url, result, duration)
    return ProbeResult(
        url=url,
        healthy=False,
        reason=f"{_describe_error(result, parts, timeout, progress)} ({url})",
        duration=duration,
    )


# --- Command line --------------------------------------------------------------

EXIT_CODES_HELP = """\
exit codes:
  0  healthy: the server answered 2xx
  1  unhealthy: HTTP 3xx (redirects are not followed), 4xx or 5xx, connection
     refused, timeout, DNS failure or a response that is not HTTP
  2  usage error only (bad option, URL, timeout or $PORT); never a health outcome
"""


def argparse_type(check: Callable[[str], object]) -> Callable[[str], str]:
    """An argparse ``type`` that validates with ``check`` and keeps the string.

    Shared with ``manage.py dockerflow_heartbeat``, so both reject the same input
    with the same message.
    """

    def convert(text: str) -> str:
        import argparse

        try:
            check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    return convert


def _build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m dockerflow.probe",
        description=(
            "Probe a Dockerflow endpoint over HTTP, for container HEALTHCHECKs. "
            "Imports neither Django nor the project."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "url",
        nargs="?",
        type=argparse_type(validate_url),
        help=f"the http(s) URL to GET (default: http://127.0.0.1:$PORT{DEFAULT_PATH}, "
        "$PORT defaulting to 8000)",
    )
    parser.add_argument(
        "--timeout",
        type=argparse_type(parse_timeout),
        default=str(DEFAULT_TIMEOUT),
        metavar="SECONDS",
        help=f"bound on the whole probe, name resolution included (default: {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--host",
        type=argparse_type(validate_host),
        help="send this Host header instead of the URL's host (e.g. one in ALLOWED_HOSTS)",
    )
    return parser


def _quick_parse(argv: Sequence[str]) -> tuple[str | None, str, str | None] | None:
    """Parse the common, valid command lines without importing argparse.

    argparse (and the ``re`` it imports) costs more start-up time than the
    whole probe. Anything this does not recognise as plainly valid (``--help``,
    abbreviations, ``--``, a bad value) returns None, and the full argparse
    parser handles the command line instead, with its usage errors (exit 2).
    """
    url: str | None = None
    timeout = str(DEFAULT_TIMEOUT)
    host: str | None = None
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, equals, value = arg.partition("=")
        if name in ("--timeout", "--host"):
            if not equals:
                if not args or args[0].startswith("-"):
                    return None
                value = args.pop(0)
            # Validate every occurrence, as argparse does, not only the last.
            check = parse_timeout if name == "--timeout" else validate_host
            try:
                check(value)
            except ValueError:
                return None
            if name == "--timeout":
                timeout = value
            else:
                host = value
        elif arg.startswith("-") or url is not None:
            return None
        else:
            try:
                validate_url(arg)
            except ValueError:
                return None
            url = arg
    return url, timeout, host


def main(argv: Sequence[str] | None = None) -> int:
    """Run the probe from the command line; return the exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parsed = _quick_parse(arguments)
    if parsed is None:
        parser = _build_parser()
        namespace = parser.parse_args(arguments)
        parsed = (namespace.url, namespace.timeout, namespace.host)
    url, timeout, host = parsed
    if url is None:
        try:
            url = default_url()
        except ValueError as exc:
            _build_parser().error(str(exc))
    result = probe_url(url, timeout=parse_timeout(timeout), host=host)
    stream = sys.stdout if result.healthy else sys.stderr
    stream.write(result.report() + "\n")
    stream.flush()
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
