"""Formatter time per record: a request.summary record, and a record with exc_info.

Runs against whichever ``dockerflow`` is importable (ours or Mozilla's; both
have ``dockerflow.logging.MozlogFormatter``, the name without a deprecation
warning in both) and prints one JSON line per benchmark:

- ``formatter.request_summary``: one ``request.summary`` record as the
  middleware logs it. Target (issue 12): at most 0.7x Mozilla's.
- ``formatter.exc_info``: one ERROR record with an exception raised six frames
  deep. Target: at most 0.7x Mozilla's.

Run: ``python bench/bench_logging.py``, or ``make bench``.
"""

from __future__ import annotations

import json
import logging
from types import TracebackType

import benchlib

SUMMARY_EXTRA = {
    "errno": 0,
    "agent": "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
    "lang": "en-US,en;q=0.5",
    "method": "GET",
    "path": "/api/v1/items/42/",
    "uid": 1234,
    "rid": "0b7e8c5e-6a52-4a7e-9f0c-3f6f2c1e9d11",
    "t": 12,
    "code": 200,
}


def summary_record() -> logging.LogRecord:
    """A request.summary record as the middleware logs it."""
    logger = logging.getLogger("request.summary")
    return logger.makeRecord(
        logger.name, logging.INFO, __file__, 1, "", (), None, extra=SUMMARY_EXTRA
    )


def _raise_nested(depth: int) -> None:
    if depth == 0:
        raise ValueError("cannot parse 'abc'")
    _raise_nested(depth - 1)


def exc_record() -> logging.LogRecord:
    """An ERROR record with exc_info: an exception raised six frames deep."""
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None]
    try:
        _raise_nested(5)
    except ValueError as exc:
        exc_info = (type(exc), exc, exc.__traceback__)
    logger = logging.getLogger("myapp.views")
    return logger.makeRecord(
        logger.name,
        logging.ERROR,
        __file__,
        1,
        "Failed to load %s",
        ("item 42",),
        exc_info,
        extra={"rid": SUMMARY_EXTRA["rid"]},
    )


def main() -> None:
    from dockerflow.logging import MozlogFormatter

    formatter = MozlogFormatter(logger_name="bench")
    summary = summary_record()
    exc = exc_record()
    # A benchmark that measures nothing is worse than none.
    assert json.loads(formatter.format(summary))["Fields"]["path"] == "/api/v1/items/42/"
    assert "_raise_nested" in json.loads(formatter.format(exc))["Fields"]["traceback"]

    summary_s, exc_s = benchlib.best_interleaved(
        [lambda: formatter.format(summary), lambda: formatter.format(exc)], number=5000
    )
    benchlib.emit("formatter.request_summary", summary_s, 0.7)
    benchlib.emit("formatter.exc_info", exc_s, 0.7)


if __name__ == "__main__":
    main()
