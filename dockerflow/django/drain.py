"""Drain mode: while ``DOCKERFLOW_DRAIN_FILE`` exists the probes answer 503.

The state is the file itself: one ``stat`` per probe and nothing kept in the
process, so every worker of a container sees the file appear or go on its
very next probe.

A drain answer is intended, not a server error, so it must not be logged by
``django.request`` as "Service Unavailable" on every probe. Django offers no
public way to mark a response as already logged (``log_response`` reads a
private attribute of the response), so the app installs
:class:`DrainLogFilter` on the ``django.request`` logger: it drops the record
of exactly the requests answered as draining.
"""

from __future__ import annotations

import logging
import os
import weakref

from django.http import HttpRequest

from .conf import conf

__all__ = ["DRAINING_BODY", "DrainLogFilter", "draining", "install_log_filter", "mark_drained"]

#: The body of a probe's answer while draining.
DRAINING_BODY = {
    "status": "draining",
    "detail": "this instance is draining: it is being taken out of service",
}

#: The requests answered as draining, forgotten with the request.
_drained: weakref.WeakSet[HttpRequest] = weakref.WeakSet()


def draining() -> bool:
    """Whether ``DOCKERFLOW_DRAIN_FILE`` is set and the file exists."""
    path = conf.DRAIN_FILE
    if path is None:
        return False
    try:
        os.stat(path)
    except OSError:
        # Missing, or not reachable (a parent is not a directory, no search
        # permission): serve normally rather than take the instance out.
        return False
    return True


def mark_drained(request: HttpRequest) -> None:
    """Note that ``request`` is answered 503 because the instance drains."""
    _drained.add(request)


class DrainLogFilter(logging.Filter):
    """Drop ``django.request``'s record of a response answered because the instance drains."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but those of drained requests."""
        request = getattr(record, "request", None)
        try:
            return request not in _drained
        except TypeError:  # an unhashable object passed as ``request``
            return True


def install_log_filter() -> None:
    """Put :class:`DrainLogFilter` on the ``django.request`` logger (once)."""
    request_logger = logging.getLogger("django.request")
    if not any(isinstance(f, DrainLogFilter) for f in request_logger.filters):
        request_logger.addFilter(DrainLogFilter())
