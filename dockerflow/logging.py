"""MozLog JSON logging. Imports nothing from Django."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = [
    "JsonLogFormatter",
    "MozlogFormatter",
    "MozlogHandler",
    "RequestIdLogFilter",
    "get_or_generate_request_id",
    "request_id_context",
]

#: The current request's id, set by the middleware for everything the request runs.
request_id_context: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "dockerflow_request_id", default=None
)

_SYSLOG_SEVERITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {
    "message",
    "asctime",
    "taskName",
}


def get_or_generate_request_id(headers: Mapping[str, str], header_name: str | None = None) -> str:
    """Return the request id from ``headers[header_name]``, or a fresh uuid4 hex."""
    value = headers.get(header_name or "X-Request-ID") if headers else None
    return value if value else uuid.uuid4().hex


class MozlogFormatter(logging.Formatter):
    """Format each record as one line of MozLog JSON."""

    LOGGING_FORMAT_VERSION = "2.0"

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        style: Any = "%",
        logger_name: str = "Dockerflow",
        **kwargs: Any,
    ) -> None:
        super().__init__(fmt, datefmt, style)
        self.logger_name = logger_name
        self.hostname = socket.gethostname()

    def convert_record(self, record: logging.LogRecord) -> dict[str, Any]:
        """Build the MozLog dictionary for ``record``."""
        fields: dict[str, Any] = {}
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS and value is not None:
                fields[key] = value
        try:
            msg = record.getMessage()
        except Exception:  # a mismatched %-format must not lose the record
            msg = f"{record.msg!r} % {record.args!r}"
        if msg:
            fields.setdefault("msg", msg)
        if isinstance(record.exc_info, tuple) and record.exc_info[0] is not None:
            fields["error"] = repr(record.exc_info[1])
            fields["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return {
            "Timestamp": time.time_ns(),
            "Type": record.name,
            "Logger": self.logger_name,
            "Hostname": self.hostname,
            "EnvVersion": self.LOGGING_FORMAT_VERSION,
            "Severity": _SYSLOG_SEVERITY.get(record.levelno, 7),
            "Pid": os.getpid(),
            "Fields": fields,
        }

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as one JSON line."""
        return json.dumps(self.convert_record(record), default=repr, allow_nan=False)


#: The name the seed documentation uses; the same class.
JsonLogFormatter = MozlogFormatter


class MozlogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler (stdout by default) preset with :class:`MozlogFormatter`."""

    def __init__(self, stream: Any = None, name: str = "Dockerflow") -> None:
        super().__init__(stream if stream is not None else sys.stdout)
        self.setFormatter(MozlogFormatter(logger_name=name))


class RequestIdLogFilter(logging.Filter):
    """Add the current request id as ``rid`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach ``rid`` and keep the record."""
        if getattr(record, "rid", None) is None:
            record.rid = request_id_context.get()
        return True
