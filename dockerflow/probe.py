"""A container health probe that needs nothing but the standard library.

``dockerflow-probe [URL] [--timeout SECONDS] [--host HOST]`` (or ``python -m
dockerflow.probe``) asks a running server for ``URL`` (or, for a path such as
``/__version__``, that path on ``http://127.0.0.1:$PORT``) and exits 0 when
it answers 2xx, 1 otherwise (an HTTP 3xx, 4xx or 5xx, connection refused, a
timeout, a DNS failure, a bad response). Only argparse's usage errors exit 2,
the code Docker reserves.

It speaks HTTP with :mod:`http.client` and reads its command line with
:mod:`argparse`, and imports neither Django nor the project, so it suits slim
images without curl.

``manage.py dockerflow_heartbeat --url`` uses :func:`probe_url` from here.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import http.client

__all__ = [
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

#: The exit code of a healthy probe: the server answered 2xx.
EXIT_HEALTHY = 0
#: The exit code of every other outcome (never 2, which Docker reserves).
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
#: The ``User-Agent`` header of every probe request.
USER_AGENT = "dockerflow-probe"


class ProbeResult:
    """What one probe found out.

    ``status`` is the HTTP status code, or ``None`` when no response came
    (refused, timed out, unresolvable, not HTTP). ``reason`` explains the
    verdict in words; ``body`` holds at most :data:`MAX_BODY` bytes.
    """

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


class ProbeTarget:
    """The parts of a probe URL: scheme, host, port, netloc and request target."""

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

    Stricter than :func:`urllib.parse.urlsplit`, which splits it: no
    credentials, a host made of letters, digits, ``.``, ``-`` and ``_`` (or a
    bracketed IPv6 address), a port from 1 to 65535.
    """
    if not url:
        raise ValueError("the URL is empty")
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in url):
        # Spaces and control characters would end up in the request line
        # (request smuggling); non-ASCII must be percent-encoded first.
        raise ValueError(
            f"URL {url!r} contains spaces, control or non-ASCII characters; percent-encode them"
        )
    scheme, separator, _ = url.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in ("http", "https"):
        shown = scheme if separator else "none"
        raise ValueError(f"URL {url!r} has scheme {shown!r}; only http and https are supported")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # an unbalanced "[" or "]"
        raise ValueError(f"URL {url!r} has an invalid IPv6 address") from None
    netloc = parts.netloc
    if "@" in netloc:
        raise ValueError(f"URL {url!r} carries credentials; they are not supported")
    if netloc.startswith("["):
        address, _, port_text = netloc[1:].partition("]")
        if not address or not set(address) <= _IPV6_CHARS or ":" not in address:
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
    if port_text == "":
        port = 443 if scheme == "https" else 80
    elif port_text.isdigit() and len(port_text) <= 5 and 0 < int(port_text) < 65536:
        port = int(port_text)
    else:
        raise ValueError(f"URL {url!r} has an invalid port {port_text!r}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
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


def default_url(environ: Mapping[str, str] | None = None, path: str = DEFAULT_PATH) -> str:
    """``http://127.0.0.1:$PORT`` and ``path`` (``$PORT`` defaults to 8000).

    ``path`` defaults to ``/__lbheartbeat__``; an exec-form HEALTHCHECK, which
    cannot expand ``$PORT`` itself, passes ``/__version__`` for a drain-safe
    probe of the same server.
    """
    env = os.environ if environ is None else environ
    port = env.get("PORT", "").strip() or "8000"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"$PORT is {port!r}, not a TCP port number; pass a URL instead")
    return f"http://127.0.0.1:{int(port)}{path}"


def _url_argument(text: str) -> str:
    """argparse ``type`` of the URL argument: the URL to probe, validated.

    A path (``/__version__``) becomes that path on ``http://127.0.0.1:$PORT``.
    """
    try:
        url = default_url(path=text) if text.startswith("/") else text
        validate_url(url)
    except ValueError as exc:  # a bad URL, or $PORT not a port number
        raise argparse.ArgumentTypeError(str(exc)) from None
    return url


# --- The HTTP exchange ---------------------------------------------------------


class _Answer:
    """The server's response, read within the limits of a probe."""

    def __init__(
        self, status: int, status_text: str, headers: dict[str, str], body: bytes, truncated: bool
    ) -> None:
        self.status = status
        self.status_text = status_text
        self.headers = headers
        self.body = body
        self.truncated = truncated


class _Exchange:
    """One GET in a thread of its own; ``phase`` says how far it got."""

    def __init__(self, target: ProbeTarget, host_header: str | None, timeout: float) -> None:
        self.target = target
        self.host_header = host_header
        self.timeout = timeout
        self.phase = "starting"
        self.outcome: _Answer | Exception | None = None

    def run(self) -> None:
        try:
            self.outcome = self._get()
        except Exception as exc:  # reported by the caller, never raised in the thread
            self.outcome = exc

    def _get(self) -> _Answer:
        # Imported here, not at the top: http.client (with email and ssl) is
        # the largest part of the probe's start-up, and
        # ``manage.py dockerflow_heartbeat`` imports this module for its
        # options even when it runs the checks in-process.
        import http.client

        target = self.target
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = http.client.HTTPSConnection(target.host, target.port, timeout=self.timeout)
        else:
            connection = http.client.HTTPConnection(target.host, target.port, timeout=self.timeout)
        try:
            self.phase = f"resolving {target.host} and connecting to port {target.port}"
            if target.scheme == "https":
                self.phase += ", then the TLS handshake"
            connection.connect()
            self.phase = "sending the request"
            headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
            if self.host_header is not None:
                headers["Host"] = self.host_header
            connection.request("GET", target.target, headers=headers)
            self.phase = "waiting for the response"
            response = connection.getresponse()
            self.phase = "reading the response body"
            body = response.read(MAX_BODY + 1)
            truncated = len(body) > MAX_BODY
            if not truncated:
                # Reading on raises IncompleteRead when the server closed the
                # connection before the end of the body it announced.
                response.read()
            folded: dict[str, str] = {}
            for name, value in response.getheaders():
                key = name.lower()
                # Repeated headers: keep them all, as HTTP folds them with commas.
                folded[key] = f"{folded[key]}, {value}" if key in folded else value
            return _Answer(response.status, response.reason, folded, body[:MAX_BODY], truncated)
        finally:
            connection.close()


def _describe_error(exc: Exception, exchange: _Exchange) -> str:
    import http.client  # already imported by the exchange that failed

    target = exchange.target
    where = f"{target.host} port {target.port}"
    if isinstance(exc, TimeoutError):
        return f"timed out after {exchange.timeout:g} s while {exchange.phase}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host {target.host!r}: {exc.strerror or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(exc, http.client.IncompleteRead):
        return f"bad response: the body is cut short or malformed ({exc!r})"
    if isinstance(exc, (http.client.HTTPException, ValueError)):
        # Not HTTP, a header line too long, too many headers, no answer at
        # all, a chunk size http.client cannot use. The repr() keeps a hostile
        # status line on one line, escaped.
        return f"bad response: {exc!r}"
    if isinstance(exc, ConnectionError):
        return f"connection to {where} failed while {exchange.phase}: {exc.strerror or exc}"
    if isinstance(exc, OSError):
        # ssl.SSLError and friends are OSErrors too.
        return f"{type(exc).__name__} while {exchange.phase}: {exc.strerror or exc}"
    return f"unexpected {type(exc).__name__} while {exchange.phase}: {exc}"


def _verdict(url: str, answer: _Answer, duration: float) -> ProbeResult:
    elapsed = f"in {duration * 1000:.1f} ms"
    line = f"HTTP {answer.status} {answer.status_text}".rstrip()
    if 200 <= answer.status < 300:
        healthy, reason = True, f"{line} from {url} {elapsed}"
    elif 300 <= answer.status < 400:
        location = answer.headers.get("location", "")
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
        status=answer.status,
        status_text=answer.status_text,
        body=answer.body,
        truncated=answer.truncated,
        duration=duration,
        headers=answer.headers,
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
    target = validate_url(url)
    if host is not None:
        validate_host(host)
    if not 0 < timeout <= MAX_TIMEOUT:
        raise ValueError(f"timeout {timeout!r} must be above 0 and at most {MAX_TIMEOUT:g}")
    exchange = _Exchange(target, host, timeout)
    # Name resolution has no timeout of its own, so the exchange runs in a
    # thread and the deadline is kept here: a hung resolver cannot hold the
    # probe (or the container's HEALTHCHECK) past its timeout. A daemon
    # thread left behind does not keep the process alive.
    worker = threading.Thread(target=exchange.run, name="dockerflow-probe", daemon=True)
    start = time.monotonic()
    worker.start()
    worker.join(timeout)
    duration = time.monotonic() - start
    outcome = exchange.outcome
    if outcome is None:
        return ProbeResult(
            url=url,
            healthy=False,
            reason=f"timed out after {timeout:g} s while {exchange.phase} ({url})",
            duration=duration,
        )
    if isinstance(outcome, _Answer):
        return _verdict(url, outcome, duration)
    return ProbeResult(
        url=url,
        healthy=False,
        reason=f"{_describe_error(outcome, exchange)} ({url})",
        duration=duration,
    )


# --- Command line --------------------------------------------------------------

_EXIT_CODES_HELP = """\
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
        try:
            check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    return convert


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Probe a Dockerflow endpoint over HTTP, for container HEALTHCHECKs. "
            "Imports neither Django nor the project."
        ),
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "url",
        nargs="?",
        type=_url_argument,
        help=f"the http(s) URL to GET, or a path on http://127.0.0.1:$PORT "
        f"(default: {DEFAULT_PATH}; $PORT defaults to 8000)",
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


def main(argv: Sequence[str] | None = None, prog: str = "dockerflow-probe") -> int:
    """Run the probe from the command line; return the exit code."""
    parser = _parser(prog)
    arguments = parser.parse_args(argv)
    url = arguments.url
    if url is None:
        try:
            url = default_url()
        except ValueError as exc:  # $PORT is not a port number
            parser.error(str(exc))
    result = probe_url(url, timeout=parse_timeout(arguments.timeout), host=arguments.host)
    stream = sys.stdout if result.healthy else sys.stderr
    stream.write(result.report() + "\n")
    stream.flush()
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(prog="python -m dockerflow.probe"))
