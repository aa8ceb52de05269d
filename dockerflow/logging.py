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
import linecache
import logging
import math
import operator
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from random import getrandbits
from types import TracebackType
from typing import Any, Literal, TypeGuard

__all__ = [
    "JsonLogFormatter",
    "MozlogFormatter",
    "MozlogHandler",
    "RequestIdLogFilter",
    "generate_request_id",
    "get_or_generate_request_id",
    "is_valid_request_id",
    "request_id_context",
    "safer_format_traceback",
]

#: The current request's id. The Django middleware sets it for everything a
#: request runs (sync code, async code and threads started with a copy of the
#: context); :class:`RequestIdLogFilter` copies it onto log records.
request_id_context: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

#: Longest request id accepted from a client.
MAX_REQUEST_ID_LENGTH = 128

# Characters that cannot break a log line, a header or a shell; a client's id
# made of anything else is replaced, so it can never forge log content.
_REQUEST_ID_RE = re.compile(rf"[A-Za-z0-9._:\-]{{1,{MAX_REQUEST_ID_LENGTH}}}")


def is_valid_request_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` may be used as a request id as it is.

    It must be a string of 1 to 128 characters from ``A-Z a-z 0-9 . _ : -``.
    """
    return type(value) is str and _REQUEST_ID_RE.fullmatch(value) is not None


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


# Containers nested deeper than this are written as their repr.
_MAX_DEPTH = 16
# Chained exceptions written into one traceback at most.
_MAX_CHAIN = 16


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


def _safe_repr(value: object) -> str:
    """``repr(value)``, or a placeholder naming its type when repr raises."""
    try:
        text = repr(value)
    except Exception:
        return f"<unrepresentable {_clean_str(type(value).__name__)}>"
    return _clean_str(text)


def _as_text(value: object) -> str:
    """``value`` as a clean string: itself if it is one, its repr otherwise."""
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
    if isinstance(key, str):
        return _as_text(key)
    if isinstance(key, bool):  # as json writes them
        return "true" if key else "false"
    return _safe_repr(key)


def _safe_int(value: int) -> int | str:
    try:
        int.__repr__(value)
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows
        return hex(value)
    return int(value)  # an int subclass with its own __repr__ becomes a plain int


def _sanitize(value: Any, depth: int, seen: set[int]) -> Any:
    """Return ``value`` as JSON-safe data: str, int, finite float, bool, list, dict.

    Never returns None (written as the string "None") and never raises for
    data it is given; cycles and deep nesting are cut off with their repr.
    """
    if isinstance(value, str):
        return _as_text(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _safe_int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else repr(float(value))
    if value is None:
        return "None"
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        if depth >= _MAX_DEPTH or id(value) in seen:
            return f"<{type(value).__name__} nested too deep or recursive>"
        seen.add(id(value))
        try:
            if isinstance(value, Mapping):
                return _sanitize_mapping(value, depth + 1, seen)
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
    return _safe_repr(value)


def _sanitize_mapping(value: Mapping[Any, Any], depth: int, seen: set[int]) -> dict[str, Any]:
    # None values are left out: MozLog Fields hold no nulls.
    return {
        _key_text(key): _sanitize(item, depth, seen)
        for key, item in value.items()
        if item is not None
    }


# -- tracebacks --------------------------------------------------------------


def _format_frames(tb: TracebackType | None) -> Iterator[str]:
    # Our own frame printer: cheaper than traceback.format_tb (no column
    # carets, which parse every line's source) and it collapses recursion.
    last: tuple[str, int | None, str] | None = None
    repeated = 0
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        lineno = tb.tb_lineno
        current = (code.co_filename, lineno, code.co_name)
        if current == last:
            repeated += 1
        else:
            if repeated > 2:
                yield f"  [Previous line repeated {repeated - 2} more times]\n"
            repeated = 0
            last = current
        if repeated <= 2:
            yield f'  File "{current[0]}", line {lineno}, in {current[2]}\n'
            if lineno is not None:
                line = linecache.getline(current[0], lineno, frame.f_globals).strip()
                if line:
                    yield f"    {line}\n"
        tb = tb.tb_next
    if repeated > 2:
        yield f"  [Previous line repeated {repeated - 2} more times]\n"


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

_encode_str = json.encoder.encode_basestring_ascii
# The same without escaping non-ASCII characters: a line built with it is
# ASCII (str.isascii(), O(1)) exactly when no value needed \u escapes.
_encode_str_raw = json.encoder.encode_basestring
# Compact separators; allow_nan=False so a NaN can never be written as the
# invalid token ``NaN`` (the sanitizer has already turned it into a string).
_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))

_STANDARD_KEYS = list(vars(logging.LogRecord("", 0, "", 0, "", (), None)))
_STANDARD_COUNT = len(_STANDARD_KEYS)
# The attributes that are no extras but may follow the standard ones.
_LATE_ATTRS = tuple(sorted(_RECORD_ATTRS.difference(_STANDARD_KEYS)))
#: Record shapes a formatter remembers (the shapes a program logs are few;
#: this bounds the memory when the names of extras vary).
_MAX_SHAPES = 512


class _NeedsCare(Exception):
    """The fast path met something only the careful path writes correctly."""


def _refuse() -> Any:
    raise _NeedsCare


def _encode_value(value: Any) -> str:
    """The JSON text of one Fields value; raises _NeedsCare for None."""
    kind = type(value)
    if kind is str:
        return _encode_str(_clean_str(value))
    if kind is int:
        return int.__repr__(value)  # a huge int raises ValueError: careful path
    if kind is bool:
        return "true" if value else "false"
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    if value is None:  # MozLog Fields hold no nulls: the name must go too
        raise _NeedsCare
    return _ENCODER.encode(_sanitize(value, 0, set()))


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


# How a writer encodes a value of the type the shape's first record had there;
# any other type goes through _encode_value.
_WRITER_EXPRESSIONS: dict[type, str] = {
    str: "(es({v}) if type({v}) is str else enc({v}))",
    int: "({v} if type({v}) is int else enc({v}))",  # %s writes an int as JSON does
    bool: "(('true' if {v} else 'false') if type({v}) is bool else enc({v}))",
    float: "(float_repr({v}) if type({v}) is float and isfinite({v}) else enc({v}))",
}

Writer = Callable[[dict[str, Any], float, Any, str], "str | None"]


def _make_writer(pieces: list[str], keys: list[str], kinds: list[type], with_msg: bool) -> Writer:
    """Compile the function that writes every line of one record shape.

    It reads the extras in one call, encodes each with the cheapest call for
    the type seen first at that place (any other type still works), and joins
    them with the constant ``pieces`` of the line in one f-string. It returns
    None when a value needs escaping to ASCII, and raises for what only the
    careful path writes. No data goes into the source: the keys and the
    pieces are passed in its namespace.
    """
    names = [f"v{index}" for index in range(len(keys))]
    source = ["def write(attrs, created, pid, msg):"]
    if len(keys) == 1:
        source.append("    v0 = attrs[keys[0]]")
    elif keys:
        source.append(f"    {', '.join(names)} = get(attrs)")
    parts = ["int(created * 1e9)", "(pid if type(pid) is int else refuse())"]
    for name, kind in zip(names, kinds, strict=True):
        parts.append(_WRITER_EXPRESSIONS.get(kind, "enc({v})").format(v=name))
    if with_msg:
        parts.append("es(msg)")
    if len(pieces) != len(parts) + 1:
        raise ValueError("a line has one piece more than it has values")
    body = "".join(f"{{p{index}}}{{{part}}}" for index, part in enumerate(parts))
    source.append(f'    line = f"{body}{{p{len(parts)}}}"')
    source.append("    return line if line.isascii() else None")
    namespace: dict[str, Any] = {
        "keys": tuple(keys),
        "get": operator.itemgetter(*keys) if len(keys) > 1 else None,
        "es": _encode_str_raw,
        "enc": _encode_value,
        "refuse": _refuse,
        "float_repr": float.__repr__,
        "isfinite": math.isfinite,
    }
    namespace.update((f"p{index}", piece) for index, piece in enumerate(pieces))
    exec("\n".join(source), namespace)  # noqa: S102 - source built from constants only
    writer: Writer = namespace["write"]
    return writer


class MozlogFormatter(logging.Formatter):
    """Format each record as one line of MozLog JSON.

    ``logger_name`` becomes the ``Logger`` field (your service's name). The
    record's message goes to ``Fields.msg``, every ``extra`` value to
    ``Fields`` (None values are left out), an exception to ``Fields.error``
    (its repr) and ``Fields.traceback``, and ``stack_info`` to ``Fields.stack``.

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
        self._logger_name = logger_name
        self._hostname = socket.gethostname()
        self._update_envelope()

    @property
    def logger_name(self) -> str:
        """The ``Logger`` field of every line."""
        return self._logger_name

    @logger_name.setter
    def logger_name(self, value: str) -> None:
        self._logger_name = value
        self._update_envelope()

    @property
    def hostname(self) -> str:
        """The ``Hostname`` field of every line (``socket.gethostname()``)."""
        return self._hostname

    @hostname.setter
    def hostname(self, value: str) -> None:
        self._hostname = value
        self._update_envelope()

    def _update_envelope(self) -> None:
        # The parts of the envelope that never change, encoded once.
        self._logger_json = ',"Logger":' + _encode_str(_as_text(self._logger_name))
        self._rest_json = (
            ',"Hostname":'
            + _encode_str(_as_text(self._hostname))
            + ',"EnvVersion":'
            + _encode_str(self.LOGGING_FORMAT_VERSION)
        )
        # A writer per record shape: (name, level, has a message, attributes).
        self._writers: dict[tuple[Any, ...], Writer] = {}

    def _pieces(self, name: Any, levelno: Any, names: list[str]) -> list[str]:
        # The constant text of a line, around its values: the timestamp, the
        # pid, then one value per Fields name.
        pieces = [
            '{"Timestamp":',
            ',"Type":'
            + _encode_str(_as_text(name))
            + self._logger_json
            + self._rest_json
            + f',"Severity":{_severity(levelno)},"Pid":',
        ]
        separator = ',"Fields":{'
        for key in names:
            pieces.append(separator + _encode_str(_as_text(key)) + ":")
            separator = ","
        pieces.append("}}" if names else separator + "}}")
        return pieces

    @staticmethod
    def _message(record: logging.LogRecord) -> str:
        try:
            return record.getMessage()
        except Exception:  # mismatched %-arguments, a __str__ that raises...
            return f"{_safe_repr(record.msg)} % {_args_repr(record.args)}"

    @staticmethod
    def _exception_fields(record: logging.LogRecord) -> list[tuple[str, str]]:
        fields = []
        exc_info = record.exc_info
        if exc_info:
            exc = _exc_info_tuple(exc_info)
            if exc is not None:
                fields.append(("error", _safe_repr(exc[1] if exc[1] is not None else exc[0])))
                fields.append(("traceback", _clean_str(safer_format_traceback(*exc))))
        elif record.exc_text:
            fields.append(("traceback", _as_text(record.exc_text)))
        if record.stack_info:
            fields.append(("stack", _as_text(record.stack_info)))
        return fields

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as one line of MozLog JSON; never raises."""
        try:
            attrs = record.__dict__
            msg = record.msg
            if record.args or type(msg) is not str:
                msg = self._message(record)
            shape = (record.name, record.levelno, not msg, *attrs)
            if not (record.exc_info or record.exc_text or record.stack_info):
                # The fast path: the writer compiled for this shape of record.
                writer = self._writers.get(shape)
                if writer is not None:
                    line = writer(attrs, record.created, record.process, msg)
                    if line is not None:
                        return line
            line = self._general_line(record, attrs, msg, shape)
            if line is not None:
                return line
        except Exception:  # noqa: S110
            # Anything unusual takes the careful path, outside this handler so
            # that exc_info=True on a record still means the caller's exception.
            pass
        try:
            return self._careful_line(record)
        except Exception as exc:
            return self._last_resort(record, exc)

    def _general_line(
        self, record: logging.LogRecord, attrs: dict[str, Any], msg: str, shape: tuple[Any, ...]
    ) -> str | None:
        # Every value encoded by its type; the shape gets its writer when the
        # record is an ordinary one, so the next record of that shape is fast.
        keys = list(attrs)
        # A record made by LogRecord() starts with the standard attributes in
        # a known order, so only what follows can be an extra (or one of the
        # few attributes formatters add). Anything else (a custom record
        # factory, a deleted attribute) is filtered key by key.
        if keys[:_STANDARD_COUNT] == _STANDARD_KEYS:
            del keys[:_STANDARD_COUNT]
            keys = [key for key in keys if key not in _LATE_ATTRS]
        else:
            keys = [key for key in keys if key not in _RECORD_ATTRS]
        if "logger_name" in attrs:  # Mozilla's handler names the Logger so
            raise _NeedsCare
        pid = record.process
        if type(pid) is not int:
            raise _NeedsCare
        values = [_encode_value(attrs[key]) for key in keys if attrs[key] is not None]
        names = [key for key in keys if attrs[key] is not None]
        with_msg = bool(msg) or not names  # MozLog wants at least one field
        if with_msg:
            names.append("msg")
            values.append(_encode_str(_clean_str(msg)))
        exception_fields = self._exception_fields(record)
        for key, text in exception_fields:
            if key in names:  # the exception wins over an extra of that name
                del values[names.index(key)]
                names.remove(key)
            names.append(key)
            values.append(_encode_str(text))
        pieces = self._pieces(record.name, record.levelno, names)
        # int() of a NaN or infinite ``created`` raises: careful path.
        texts = [str(int(record.created * 1e9)), str(pid), *values]
        line = "".join([p + t for p, t in zip(pieces[:-1], texts, strict=True)]) + pieces[-1]
        if (
            not exception_fields
            and len(names) == len(keys) + with_msg  # no None values
            and all(type(key) is str for key in keys)
            and shape not in self._writers
            and len(self._writers) < _MAX_SHAPES
        ):
            kinds = [type(attrs[key]) for key in keys]
            self._writers[shape] = _make_writer(pieces, keys, kinds, with_msg)
        return line

    def _careful_line(self, record: logging.LogRecord) -> str:
        # Every attribute checked, every value through the sanitizer.
        fields: dict[str, Any] = {}
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_ATTRS and value is not None:
                fields[_key_text(key)] = _sanitize(value, 0, set())
        msg = self._message(record)
        if msg or not fields:
            fields["msg"] = _as_text(msg)
        for key, text in self._exception_fields(record):
            fields.pop(key, None)
            fields[key] = text
        logger = self._logger_json
        logger_name = record.__dict__.get("logger_name")
        if logger_name is not None:  # set by Mozilla's MozlogHandler: honoured
            logger = ',"Logger":' + _encode_str(_as_text(logger_name))
        created = getattr(record, "created", None)
        if type(created) is not float or not math.isfinite(created):
            created = time.time()
        pid = getattr(record, "process", None)
        if type(pid) is not int:
            pid = os.getpid()
        return (
            f'{{"Timestamp":{int(created * 1e9)}'
            f',"Type":{_encode_str(_as_text(getattr(record, "name", "")))}{logger}'
            f'{self._rest_json},"Severity":{_severity(getattr(record, "levelno", None))}'
            f',"Pid":{pid},"Fields":{_ENCODER.encode(fields)}}}'
        )

    def _last_resort(self, record: logging.LogRecord, exc: Exception) -> str:
        fields_json = '{"msg":"unformattable log record"}'
        with contextlib.suppress(Exception):
            fields_json = _ENCODER.encode(
                {
                    "msg": _safe_repr(record.__dict__.get("msg")),
                    "error": "dockerflow could not format this record: " + _safe_repr(exc),
                }
            )
        static = ',"Logger":"Dockerflow","Hostname":"unknown","EnvVersion":"2.0"'
        with contextlib.suppress(Exception):
            static = self._logger_json + self._rest_json
        return (
            f'{{"Timestamp":{time.time_ns()},"Type":"dockerflow.logging"{static}'
            f',"Severity":3,"Pid":{os.getpid()},"Fields":{fields_json}}}'
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

    ``name`` is the ``Logger`` field of every line.
    """

    def __init__(self, stream: Any = None, name: str = "Dockerflow") -> None:
        super().__init__(stream if stream is not None else sys.stdout)
        self.logger_name = name
        self.setFormatter(MozlogFormatter(logger_name=name))


class RequestIdLogFilter(logging.Filter):
    """Put the current request's id on every record as ``rid``.

    Attach it to the handler (not a logger) so records propagated from any
    logger get it. A record that already has a ``rid`` keeps it; outside a
    request no ``rid`` is added.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach ``rid`` and keep the record."""
        if record.__dict__.get("rid") is None:
            rid = request_id_context.get()
            if rid is not None:
                record.rid = rid
        return True
