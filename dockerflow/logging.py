"""MozLog JSON logging: a formatter that never breaks, a handler, request ids.

Every record becomes one line of RFC 8259 JSON with the MozLog envelope
(``Timestamp``, ``Type``, ``Logger``, ``Hostname``, ``EnvVersion``,
``Severity``, ``Pid``, ``Fields``). This module imports nothing from Django,
so any Python program can use it.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import math
import os
import re
import socket
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from random import getrandbits
from types import TracebackType
from typing import Any, Literal, TypeGuard, TypeVar

__all__ = [
    "MAX_REQUEST_ID_LENGTH",
    "REQUEST_ID_META_KEY",
    "JsonLogFormatter",
    "MozlogFormatter",
    "MozlogHandler",
    "RequestIdLogFilter",
    "generate_request_id",
    "get_or_generate_request_id",
    "is_valid_request_id",
    "register_value_formatter",
    "request_id_context",
    "safer_format_traceback",
]

_T = TypeVar("_T")

#: The current request's id. The Django middleware sets it for everything a
#: request runs (sync code, async code and threads started with a copy of the
#: context); :class:`RequestIdLogFilter` copies it onto log records.
request_id_context: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

#: The ``request.META`` key (a WSGI environ extension key, which no client header
#: can set) where the Django middleware keeps the request's id, so records that
#: carry the request (Django's own ``django.request`` lines, logged after the
#: middleware is done) get it from :class:`RequestIdLogFilter` too.
REQUEST_ID_META_KEY = "dockerflow.request_id"

#: Longest request id accepted from a client.
MAX_REQUEST_ID_LENGTH = 128

# Characters that cannot break a log line, a header or a shell; a client's id
# made of anything else is replaced, so it can never forge log content.
_REQUEST_ID = rf"[A-Za-z0-9._:\-]{{1,{MAX_REQUEST_ID_LENGTH}}}"


def is_valid_request_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` may be used as a request id as it is.

    It must be a string of 1 to 128 characters from ``A-Z a-z 0-9 . _ : -``.
    """
    return type(value) is str and re.fullmatch(_REQUEST_ID, value) is not None


_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID4_SET = (0x4 << 76) | (0x2 << 62)  # version 4, RFC 4122 variant


def generate_request_id() -> str:
    """Return a fresh request id: a random UUID (version 4) in hex, 32 characters.

    ``uuid.uuid4().hex`` in form. The bits come from :mod:`random`
    (reseeded in every forked worker): a request id must be unique, not
    secret, and this takes a fifth of the time of reading the system's random
    source for a ``uuid.UUID``.
    """
    return "%032x" % (getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)


def get_or_generate_request_id(headers: Mapping[str, str], header_name: str | None = None) -> str:
    """Return the request id from ``headers[header_name]``, or a fresh one.

    ``header_name`` defaults to ``X-Request-ID``. A value that is missing,
    longer than 128 characters or made of characters outside
    ``A-Z a-z 0-9 . _ : -`` is replaced by :func:`generate_request_id`.
    The signature is the one of Mozilla's ``dockerflow.logging``.
    """
    try:
        value = headers.get(header_name or "X-Request-ID")
    except Exception:  # a hostile or odd mapping must not break the request
        value = None
    return value if is_valid_request_id(value) else generate_request_id()


# -- turning anything into JSON-safe data -----------------------------------

_SYSLOG_SEVERITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}

# Every attribute a bare LogRecord has (computed, so attributes that future
# Python versions add stay out of Fields), plus what formatters add to records.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    "logger_name",  # Mozilla's handler sets it; it becomes ``Logger``
}

# Containers nested deeper than this are written as a placeholder.
_MAX_DEPTH = 16
# Chained exceptions written into one traceback at most.
_MAX_CHAIN = 16

# What register_value_formatter() was given, by class.
_value_formatters: dict[type, Callable[[Any], object]] = {}


def register_value_formatter(cls: type[_T], function: Callable[[_T], object]) -> None:
    """Write every value that is an instance of ``cls`` as ``function(value)``.

    It applies to the values of ``Fields`` (a logging call's ``extra``) and to
    what they contain, at any depth. What ``function`` returns is written as any
    other value would be (a string, a number, a dict...). When ``function``
    raises, the value is written as ``"<unformattable TypeName>"``, never as its
    ``repr()``: such a function usually exists to keep something out of the log.
    For a subclass registered as well, its own function wins; registering a
    class again replaces its function. The JSON types (str, int, float, bool,
    None) are always written as they are.

    The Django app registers one for ``HttpRequest`` (see :doc:`logging`).
    """
    _value_formatters[cls] = function


def _registered_formatter(value: object) -> Callable[[Any], object] | None:
    # The most specific registered class wins, as method lookup would.
    for cls in type(value).__mro__:
        function = _value_formatters.get(cls)
        if function is not None:
            return function
    return None


def _clean_str(value: str) -> str:
    # Lone surrogates (from surrogateescape'd bytes) would be written as
    # "\udcff" escapes, which strict JSON parsers reject; spell them out.
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _type_name(value: object) -> str:
    return _clean_str(type(value).__name__)


def _safe_repr(value: object) -> str:
    """``repr(value)``, or a placeholder naming its type when repr raises."""
    try:
        text = repr(value)
    except Exception:
        return f"<unrepresentable {_type_name(value)}>"
    return _clean_str(text)


def _as_text(value: object) -> str:
    """``value`` as a clean string: itself if it is one, its repr otherwise."""
    if type(value) is str:
        return _clean_str(value)
    if isinstance(value, str):
        return _clean_str(str.__str__(value))
    return _safe_repr(value)


def _args_repr(args: Any) -> str:
    # repr() of a tuple fails when one member's repr does; keep the others.
    if type(args) is tuple:
        inner = ", ".join(_safe_repr(arg) for arg in args)
        return f"({inner},)" if len(args) == 1 else f"({inner})"
    return _safe_repr(args)


def _key_text(key: Any) -> str:
    # A key json can write is written as json writes it (``true``, ``null``,
    # ``1``), so a record's keys read the same whichever way it was written.
    if isinstance(key, str):
        return _as_text(key)
    if key is None or isinstance(key, bool):
        return "null" if key is None else "true" if key else "false"
    if isinstance(key, int):
        return str(_safe_int(key))
    if isinstance(key, float) and math.isfinite(key):
        return float.__repr__(key)
    return _safe_repr(key)


def _safe_int(value: int) -> int | str:
    try:
        int.__repr__(value)
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows
        return hex(value)
    return int(value)  # an int subclass (an IntEnum) becomes a plain int


def _sanitize(value: Any, depth: int = 0, seen: set[int] | None = None) -> Any:
    """Return ``value`` as JSON-safe data: str, int, finite float, bool, list, dict.

    Never returns None (written as the string "None") and never raises for
    data it is given; cycles and deep nesting are cut off with a placeholder.
    """
    # The JSON types first, by exact type: nearly every value is one of them.
    kind = type(value)
    if kind is str:
        return _clean_str(value)
    if kind is int:
        return _safe_int(value)
    if kind is float:
        return value if math.isfinite(value) else repr(value)
    if kind is bool:
        return value
    if value is None:
        return "None"
    if _value_formatters:
        function = _registered_formatter(value)
        if function is not None:
            if depth >= _MAX_DEPTH:  # a function that returns its own argument
                return f"<{_type_name(value)} nested too deep or recursive>"
            try:
                formatted = function(value)
            except Exception:
                return f"<unformattable {_type_name(value)}>"
            return _sanitize(formatted, depth + 1, seen)
    if isinstance(value, str):
        return _as_text(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _safe_int(value)
    if isinstance(value, float):
        return _sanitize(float(value))
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        return _sanitize_container(value, depth, set() if seen is None else seen)
    return _safe_repr(value)


def _sanitize_container(value: Any, depth: int, seen: set[int]) -> Any:
    if depth >= _MAX_DEPTH or id(value) in seen:
        return f"<{_type_name(value)} nested too deep or recursive>"
    seen.add(id(value))
    try:
        if isinstance(value, Mapping):
            # None values are left out: MozLog Fields hold no nulls.
            return {
                _key_text(key): _sanitize(item, depth + 1, seen)
                for key, item in value.items()
                if item is not None
            }
        items: Any = value
        if isinstance(value, (set, frozenset)):
            try:
                items = sorted(value)
            except Exception:  # unorderable members: keep iteration order
                items = list(value)
        return [_sanitize(item, depth + 1, seen) for item in items]
    except Exception:  # a mapping whose items() or iteration raises
        return _safe_repr(value)
    finally:
        seen.discard(id(value))


# -- tracebacks --------------------------------------------------------------


def _format_frames(tb: TracebackType) -> list[str]:
    # Python's own frame lines, without the ``^^^`` markers under each line:
    # frames extracted from walk_tb() carry no column positions, so none are
    # placed (placing them parses every line's source, which costs more than
    # the rest of the record). A long recursion is still collapsed into
    # "[Previous line repeated N more times]".
    return traceback.StackSummary.extract(traceback.walk_tb(tb)).format()


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _exception_chain(exc: BaseException) -> list[tuple[BaseException, str]]:
    """``exc`` and the exceptions it was chained to, oldest first.

    Each comes with the sentence Python prints after it (empty for ``exc``).
    """
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    link = ""
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(chain) < _MAX_CHAIN:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            link, current = _CAUSE, current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            link, current = _CONTEXT, current.__context__
        else:
            current = None
    chain.reverse()
    return chain


def safer_format_traceback(
    exc_typ: type[BaseException] | None,
    exc_val: BaseException | None,
    exc_tb: TracebackType | None,
) -> str:
    """Format a traceback with the exception values passed through ``repr``.

    A client who chooses the text of an exception message cannot make it look
    like other log lines or other frames: it appears escaped, in quotes.
    Chained exceptions (``raise ... from``, exceptions during handling) come
    first, oldest first, as Python prints them.
    """
    parts: list[str] = []
    if exc_val is None:
        parts.append("Traceback (most recent call last):\n")
        if exc_tb is not None:
            parts.extend(_format_frames(exc_tb))
        parts.append(f"{_safe_repr(exc_typ)}\n")
        return "".join(parts)
    for exc, link in _exception_chain(exc_val):
        # The newest exception keeps the traceback we were given.
        tb = exc_tb if exc is exc_val else exc.__traceback__
        if tb is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(_format_frames(tb))
        parts.append(f"{_safe_repr(exc)}\n")
        parts.append(link)
    return "".join(parts)


def _exc_info_tuple(
    exc_info: Any,
) -> tuple[type[BaseException] | None, BaseException | None, TracebackType | None] | None:
    # Accept whatever ended up in record.exc_info: a 3-tuple, an exception,
    # True (the exception being handled), False or None.
    if isinstance(exc_info, BaseException):
        return type(exc_info), exc_info, exc_info.__traceback__
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc_type, exc_value, exc_tb = exc_info
        if exc_value is not None and not isinstance(exc_value, BaseException):
            return None
        if exc_tb is not None and not isinstance(exc_tb, TracebackType):
            exc_tb = None
        if exc_value is None and exc_type is None:
            return None
        return exc_type, exc_value, exc_tb
    return None


# -- the formatter -----------------------------------------------------------

# Compact separators; ensure_ascii, so a line is ASCII whatever it holds;
# allow_nan=False, so a NaN can never be written as the invalid token ``NaN``
# (the sanitizer has already turned it into a string: this is a safety net).
_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))
# Values of these exact types json writes as the sanitizer would, but for the
# few it refuses (a NaN, a huge int) or writes wrong (a lone surrogate).
_JSON_SCALARS = frozenset({str, int, float, bool})


def _severity(levelno: Any) -> int:
    severity = _SYSLOG_SEVERITY.get(levelno)
    if severity is not None:
        return severity
    if not isinstance(levelno, int):
        return 7
    # Custom levels map to the nearest syslog severity at or below them.
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno > logging.INFO:
        return 5  # syslog "notice"
    return 6 if levelno == logging.INFO else 7


def _message(record: logging.LogRecord) -> str:
    try:
        return _as_text(record.getMessage())  # a record class may return a non-str
    except Exception:  # mismatched %-arguments, a __str__ that raises...
        return f"{_safe_repr(record.msg)} % {_args_repr(record.args)}"


def _exception_fields(record: logging.LogRecord) -> dict[str, str]:
    fields = {}
    exc_info = record.exc_info
    if exc_info:
        exc = _exc_info_tuple(exc_info)
        if exc is not None:
            fields["error"] = _safe_repr(exc[1] if exc[1] is not None else exc[0])
            fields["traceback"] = _clean_str(safer_format_traceback(*exc))
    elif record.exc_text:
        fields["traceback"] = _as_text(record.exc_text)
    if record.stack_info:
        fields["stack"] = _as_text(record.stack_info)
    return fields


def _encode_text(value: object) -> str:
    return _ENCODER.encode(_as_text(value))


def _fields(record: logging.LogRecord) -> dict[Any, Any]:
    """The ``Fields`` of ``record``: its extras, ``msg``, then its exception."""
    # Values of the types json writes (str, int, float, bool) go in as they
    # are; anything else through the sanitizer.
    fields: dict[Any, Any] = {
        key: value if type(value) in _JSON_SCALARS else _sanitize(value)
        for key, value in record.__dict__.items()
        if key not in _RECORD_ATTRS and value is not None
    }
    msg = _message(record)
    if msg or not fields:  # MozLog wants at least one field
        fields["msg"] = msg
    if record.exc_info or record.exc_text or record.stack_info:
        for key, text in _exception_fields(record).items():
            fields.pop(key, None)  # the exception wins over an extra of its name
            fields[key] = text
    return fields


class MozlogFormatter(logging.Formatter):
    """Format each record as one line of MozLog JSON.

    ``logger_name`` becomes the ``Logger`` field (your service's name); a
    record's own ``logger_name`` attribute, which :class:`MozlogHandler` sets,
    wins over it. The record's message goes to ``Fields.msg``, every ``extra``
    value to ``Fields`` (None values are left out), an exception to
    ``Fields.error`` (its repr) and ``Fields.traceback``, and ``stack_info``
    to ``Fields.stack``.

    It never raises and never drops a record: values JSON cannot hold are
    written as their ``repr`` (sets as lists), non-finite floats as strings,
    containers that contain themselves are cut short, and a message whose
    ``%`` arguments do not match is written with its arguments.
    """

    #: The ``EnvVersion`` of the MozLog envelope.
    LOGGING_FORMAT_VERSION = "2.0"

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        style: Literal["%", "{", "$"] = "%",
        logger_name: str = "Dockerflow",
        *,
        format: str | None = None,  # the seed documentation's name for fmt
        validate: bool = True,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(fmt or format, datefmt, style, validate, defaults=defaults)
        self._version_json = _encode_text(self.LOGGING_FORMAT_VERSION)
        self.logger_name = logger_name
        self.hostname = socket.gethostname()

    # Both are encoded once, when set, rather than for every line.

    @property
    def logger_name(self) -> str:
        """The ``Logger`` field of every line."""
        return self._logger_name

    @logger_name.setter
    def logger_name(self, value: str) -> None:
        self._logger_name = value
        self._logger_json = _encode_text(value)

    @property
    def hostname(self) -> str:
        """The ``Hostname`` field of every line (``socket.gethostname()``)."""
        return self._hostname

    @hostname.setter
    def hostname(self, value: str) -> None:
        self._hostname = value
        self._hostname_json = _encode_text(value)

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as one line of MozLog JSON; never raises."""
        try:
            fields = _fields(record)
            try:
                fields_json = _ENCODER.encode(fields)
            except (ValueError, TypeError, RecursionError):
                fields_json = ""  # a NaN, a huge int, a key json cannot write...
            # ensure_ascii writes a lone surrogate as a \udXXX escape, which
            # strict JSON parsers reject: any \ud in the text (an emoji's
            # surrogate pair too) sends the fields through the sanitizer,
            # which spells lone surrogates out.
            if not fields_json or "\\ud" in fields_json:
                sanitized = {_key_text(key): _sanitize(value) for key, value in fields.items()}
                fields_json = _ENCODER.encode(sanitized)
            logger_json = self._logger_json
            logger_name = record.__dict__.get("logger_name")
            if logger_name is not None:  # set by MozlogHandler: it wins
                logger_json = _encode_text(logger_name)
            created = getattr(record, "created", None)
            if type(created) is not float or not math.isfinite(created):
                created = time.time()
            pid = getattr(record, "process", None)
            if type(pid) is not int:  # None when logging.logProcesses is off
                pid = os.getpid()
            # The envelope's keys are always the same eight: written from this
            # template, each value by the encoder (encoding them as a second
            # dict costs about a quarter more per line).
            return (
                f'{{"Timestamp":{int(created * 1e9)}'
                f',"Type":{_encode_text(getattr(record, "name", ""))}'
                f',"Logger":{logger_json}'
                f',"Hostname":{self._hostname_json}'
                f',"EnvVersion":{self._version_json}'
                f',"Severity":{_severity(getattr(record, "levelno", None))}'
                f',"Pid":{pid},"Fields":{fields_json}}}'
            )
        except Exception as exc:
            return self._last_resort(record, exc)

    def _last_resort(self, record: logging.LogRecord, error: Exception) -> str:
        # Only what cannot fail: a line saying that the record could not be
        # written, with what can still be told about it.
        fields = {"msg": "unformattable log record"}
        with contextlib.suppress(Exception):
            fields = {
                "msg": _safe_repr(record.__dict__.get("msg")),
                "error": "dockerflow could not format this record: " + _safe_repr(error),
            }
        names = {"Logger": "Dockerflow", "Hostname": "unknown"}
        with contextlib.suppress(Exception):
            names = {"Logger": _as_text(self.logger_name), "Hostname": _as_text(self.hostname)}
        return _ENCODER.encode(
            {
                "Timestamp": time.time_ns(),
                "Type": "dockerflow.logging",
                **names,
                "EnvVersion": "2.0",
                "Severity": 3,
                "Pid": os.getpid(),
                "Fields": fields,
            }
        )

    def convert_record(self, record: logging.LogRecord) -> dict[str, Any]:
        """Return the MozLog dictionary for ``record``: what :meth:`format` writes."""
        result: dict[str, Any] = json.loads(self.format(record))
        return result


#: The name the seed documentation uses. The very same class as
#: :class:`MozlogFormatter`, without any deprecation warning.
JsonLogFormatter = MozlogFormatter


class MozlogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler (stdout by default) that writes MozLog JSON.

    ``name`` is the ``Logger`` field of every line it writes, whatever
    formatter it is given: as Mozilla's handler does, it sets each record's
    ``logger_name``, which :class:`MozlogFormatter` writes as ``Logger``.
    """

    def __init__(self, stream: Any = None, name: str = "Dockerflow") -> None:
        super().__init__(stream if stream is not None else sys.stdout)
        self.logger_name = name
        self.setFormatter(MozlogFormatter(logger_name=name))

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record``, named after this handler."""
        record.logger_name = self.logger_name
        super().emit(record)


class RequestIdLogFilter(logging.Filter):
    """Put the current request's id on every record as ``rid``.

    Attach it to the handler (not a logger) so records propagated from any
    logger get it. The id is the one of the request being served
    (:data:`request_id_context`), or for a record that carries a ``request``
    (as Django's ``django.request`` lines do) the one the middleware gave that
    request. A record that already has a ``rid`` keeps it; outside a request no
    ``rid`` is added.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach ``rid`` and keep the record."""
        if record.__dict__.get("rid") is None:
            rid = request_id_context.get()
            if rid is None:
                meta = getattr(record.__dict__.get("request"), "META", None)
                if isinstance(meta, dict):
                    rid = meta.get(REQUEST_ID_META_KEY)
            if rid is not None:
                record.rid = rid
        return True
