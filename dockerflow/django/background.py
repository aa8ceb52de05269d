"""One event loop on a daemon thread, for coroutines that synchronous code must run.

The bridge from sync to async code: the heartbeat engine runs its checks here
when a synchronous caller (a WSGI view, a management command) asks, and the
django-health-check adapter runs an ``async def`` check here when it is called
as a plain function. Unlike ``asyncio.run()`` it works in a thread that already
runs an event loop, and a coroutine still going when its caller gave up (a
check past the heartbeat's timeout) can be cancelled without blocking anyone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run", "submit"]

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _running_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            # A daemon thread: a check hung on a dead backend never keeps a
            # management command (or a worker being restarted) from exiting.
            threading.Thread(
                target=loop.run_forever, name="dockerflow-background-loop", daemon=True
            ).start()
            _loop = loop
        return _loop


def submit(coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Start ``coroutine`` on the background loop; its future is returned at once."""
    return asyncio.run_coroutine_threadsafe(coroutine, _running_loop())


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on the background loop and return its result (or raise)."""
    return submit(coroutine).result()
