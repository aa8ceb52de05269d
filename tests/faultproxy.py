"""A small threaded TCP proxy that injects faults, for tests against real services.

Put it between Django and PostgreSQL, Redis or RabbitMQ and switch modes while
a test runs::

    with FaultProxy(("127.0.0.1", 5432)) as proxy:
        url = proxy.rewrite("postgres://postgres@127.0.0.1:5432/test")
        proxy.refuse()      # nothing listens: connections are refused
        proxy.blackhole()   # connections are accepted, nothing is ever answered
        proxy.slow(2.0)     # every chunk, both ways, waits 2 s
        proxy.heal()        # back to pass-through

Only loopback: it listens on 127.0.0.1 (a free port unless one is given) and
forwards to the upstream given, which the tests take from the local services.
``stop()`` (or leaving the ``with``) closes every socket and joins every thread
it started; ``threads_alive()`` says whether any is left.

``database_alias()`` adds a Django database alias for the length of a ``with``,
so a test can point a connection at a proxy.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PASS = "pass"
REFUSE = "refuse"
BLACKHOLE = "blackhole"
SLOW = "slow"

#: How often idle threads look at the mode and the stop flag.
TICK = 0.02
CHUNK = 65536


class FaultProxy:
    """A TCP proxy on ``127.0.0.1`` whose behaviour tests can change at any time."""

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        port: int = 0,
        delay: float = 1.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self.upstream = upstream
        self.delay = delay
        self.connect_timeout = connect_timeout
        self.mode = PASS
        self.accepted = 0
        self._port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        #: Sockets of live connections (client and upstream sides).
        self._sockets: set[socket.socket] = set()
        #: Client sockets accepted while blackholed: held open, never answered.
        self._held: set[socket.socket] = set()

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Listen, and start the accepting thread."""
        self._listen()
        self._spawn(self._accept_loop, "faultproxy-accept")
        return self

    def stop(self) -> None:
        """Close every socket and join every thread this proxy started."""
        self._stopping.set()
        with self._lock:
            self._close_listener()
            for sock in [*self._sockets, *self._held]:
                _close(sock)
            self._sockets.clear()
            self._held.clear()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)

    def threads_alive(self) -> list[threading.Thread]:
        """The proxy's threads that are still running."""
        with self._lock:
            return [t for t in self._threads if t.is_alive()]

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where it listens -------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the proxy listens on (kept while refusing, reused on heal)."""
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self._port)

    def rewrite(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's, credentials kept."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self._port}" if userinfo else f"127.0.0.1:{self._port}"
        return urlunsplit(parts._replace(netloc=netloc))

    # -- modes ----------------------------------------------------------------------------

    def heal(self) -> None:
        """Pass traffic through again; connections held by a blackhole are closed."""
        with self._lock:
            self.mode = PASS
            for sock in self._held:
                _close(sock)
            self._held.clear()
        if self._listener is None:
            self._listen()

    def refuse(self) -> None:
        """Stop listening (new connections are refused) and cut every live connection."""
        with self._lock:
            self.mode = REFUSE
            self._close_listener()
            for sock in [*self._sockets, *self._held]:
                _close(sock)
            self._sockets.clear()
            self._held.clear()

    def blackhole(self) -> None:
        """Accept connections but never answer; live connections stop moving data."""
        if self._listener is None:
            self._listen()
        with self._lock:
            self.mode = BLACKHOLE

    def slow(self, delay: float | None = None) -> None:
        """Forward every chunk after ``delay`` seconds (both ways)."""
        if delay is not None:
            self.delay = delay
        if self._listener is None:
            self._listen()
        with self._lock:
            self.mode = SLOW

    # -- internals ---------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self._port))
        listener.listen(64)
        listener.setblocking(False)
        self._port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener

    def _close_listener(self) -> None:
        if self._listener is not None:
            _close(self._listener)
            self._listener = None

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            # Forget finished threads so a long soak does not grow the list.
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            listener = self._listener
            if listener is None:
                time.sleep(TICK)
                continue
            try:
                with selectors.DefaultSelector() as selector:
                    selector.register(listener, selectors.EVENT_READ)
                    if not selector.select(TICK):
                        continue
                client, _ = listener.accept()
            except (OSError, ValueError):
                continue  # the listener was closed under us (refuse/stop)
            self.accepted += 1
            with self._lock:
                if self._stopping.is_set() or self.mode == REFUSE:
                    _close(client)
                    continue
                if self.mode == BLACKHOLE:
                    self._held.add(client)
                    continue
            self._spawn(self._pipe, "faultproxy-pipe", client)

    def _pipe(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=self.connect_timeout)
        except OSError:
            _close(client)
            return
        with self._lock:
            if self._stopping.is_set() or self.mode == REFUSE:
                _close(client)
                _close(upstream)
                return
            self._sockets.update((client, upstream))
        peers = {client: upstream, upstream: client}
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(client, selectors.EVENT_READ)
                selector.register(upstream, selectors.EVENT_READ)
                while not self._stopping.is_set():
                    if self.mode == BLACKHOLE:
                        time.sleep(TICK)  # data waits in the kernel's buffers
                        continue
                    for key, _ in selector.select(TICK):
                        source: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = source.recv(CHUNK)
                        if not data:
                            return
                        if self.mode == SLOW:
                            self._stopping.wait(self.delay)
                        peers[source].sendall(data)
        except (OSError, ValueError):
            return  # a side closed, or refuse()/stop() closed the sockets
        finally:
            with self._lock:
                self._sockets.discard(client)
                self._sockets.discard(upstream)
            _close(client)
            _close(upstream)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def host_port(url: str, default_port: int) -> tuple[str, int]:
    """The ``(host, port)`` a service URL points at."""
    parts = urlsplit(url)
    return (parts.hostname or "127.0.0.1", parts.port or default_port)


def postgres_settings(url: str, **extra: Any) -> dict[str, Any]:
    """A Django ``DATABASES`` entry for a ``postgres://`` URL."""
    parts = urlsplit(url)
    settings: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/") or "postgres",
        "USER": parts.username or "",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
    }
    settings.update(extra)
    return settings


@contextlib.contextmanager
def database_alias(alias: str, settings_dict: dict[str, Any]) -> Iterator[str]:
    """Add the database ``alias`` to ``django.db.connections`` for the ``with`` block.

    ``override_settings(DATABASES=...)`` is not supported by Django (it warns,
    and the connection handler keeps its settings), hence this.
    """
    from django.db import connections

    configured = connections.configure_settings(
        {"default": dict(connections.settings["default"]), alias: dict(settings_dict)}
    )
    connections.settings[alias] = configured[alias]
    try:
        yield alias
    finally:
        if hasattr(connections._connections, alias):
            with contextlib.suppress(Exception):
                getattr(connections._connections, alias).close()
            delattr(connections._connections, alias)
        del connections.settings[alias]
