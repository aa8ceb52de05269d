"""``dockerflow.logging``: the MozLog formatter, the handler, the request id filter."""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
import logging.config
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from dockerflow import logging as dflogging
from dockerflow.logging import (
    JsonLogFormatter,
    MozlogFormatter,
    MozlogHandler,
    RequestIdLogFilter,
    get_or_generate_request_id,
    is_valid_request_id,
    register_value_formatter,
    request_id_context,
    safer_format_traceback,
)

from .mozlog import check_mozlog, parse_line


def make_record(
    msg: object = "hello",
    args: Any = (),
    *,
    name: str = "tests.app",
    level: int = logging.INFO,
    exc_info: Any = None,
    extra: dict[str, Any] | None = None,
    **attrs: Any,
) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 10, msg, args, exc_info)
    record.__dict__.update(extra or {})
    record.__dict__.update(attrs)
    return record


def fmt(record: logging.LogRecord, formatter: logging.Formatter | None = None) -> dict[str, Any]:
    return check_mozlog((formatter or MozlogFormatter(logger_name="svc")).format(record))


@pytest.fixture(autouse=True)
def _no_request_id() -> Iterator[None]:
    # Each test starts outside any request, whatever ran before it.
    token = request_id_context.set(None)
    yield
    request_id_context.reset(token)


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing MozLog lines into a StringIO, through the filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(MozlogFormatter(logger_name="svc"))
    handler.addFilter(RequestIdLogFilter())
    logger = logging.getLogger("tests.logging.captured")
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.handlers = []


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [check_mozlog(line) for line in stream.getvalue().splitlines()]


# -- names and construction ---------------------------------------------------


def test_json_log_formatter_is_mozlog_formatter() -> None:
    assert JsonLogFormatter is MozlogFormatter


def test_no_deprecation_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        JsonLogFormatter(logger_name="x")
        MozlogFormatter()


def test_seed_dict_config(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed documentation's Django LOGGING example, verbatim but for the stream."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "json": {
                    "()": "dockerflow.logging.JsonLogFormatter",
                    "logger_name": "MySiteName",
                }
            },
            "handlers": {
                "console": {
                    "level": "DEBUG",
                    "class": "logging.StreamHandler",
                    "formatter": "json",
                    "stream": "ext://sys.stdout",
                },
            },
            "loggers": {"tests.seed": {"handlers": ["console"], "level": "DEBUG"}},
        }
    )
    logger = logging.getLogger("tests.seed")
    try:
        logger.info("I am logging in mozlog format now! woo hoo!")
    finally:
        logger.handlers = []
    record = check_mozlog(capsys.readouterr().out.strip())
    assert record["Logger"] == "MySiteName"
    assert record["Type"] == "tests.seed"
    assert record["Fields"] == {"msg": "I am logging in mozlog format now! woo hoo!"}


def test_dict_config_handler_and_filter(capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"rid": {"()": "dockerflow.logging.RequestIdLogFilter"}},
            "handlers": {
                "mozlog": {
                    "class": "dockerflow.logging.MozlogHandler",
                    "name": "MyService",
                    "filters": ["rid"],
                }
            },
            "loggers": {"tests.dictconfig": {"handlers": ["mozlog"], "level": "INFO"}},
        }
    )
    logger = logging.getLogger("tests.dictconfig")
    token = request_id_context.set("abc-123")
    try:
        logger.warning("careful")
    finally:
        request_id_context.reset(token)
        logger.handlers = []
    record = check_mozlog(capsys.readouterr().out.strip())
    assert record["Logger"] == "MyService"
    assert record["Severity"] == 4
    assert record["Fields"] == {"rid": "abc-123", "msg": "careful"}


def test_seed_format_keyword() -> None:
    # The seed documents JsonLogFormatter(format=None, datefmt=None, logger_name=...).
    formatter = JsonLogFormatter(format=None, datefmt=None, logger_name="TestPilot")
    assert fmt(make_record(), formatter)["Logger"] == "TestPilot"


def test_default_logger_name() -> None:
    assert fmt(make_record(), MozlogFormatter())["Logger"] == "Dockerflow"


def test_logger_name_and_hostname_can_change() -> None:
    formatter = MozlogFormatter(logger_name="before")
    assert fmt(make_record(), formatter)["Logger"] == "before"
    formatter.logger_name = "after"
    formatter.hostname = "host-%s-1"
    record = fmt(make_record(), formatter)
    assert (record["Logger"], record["Hostname"]) == ("after", "host-%s-1")


# -- the envelope --------------------------------------------------------------


def test_envelope() -> None:
    record = make_record("hello %s", ("world",), name="myapp.views", level=logging.WARNING)
    out = fmt(record)
    assert out == {
        "Timestamp": out["Timestamp"],
        "Type": "myapp.views",
        "Logger": "svc",
        "Hostname": socket.gethostname(),
        "EnvVersion": "2.0",
        "Severity": 4,
        "Pid": os.getpid(),
        "Fields": {"msg": "hello world"},
    }
    assert out["Timestamp"] == int(record.created * 1e9)


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        (logging.CRITICAL, 2),
        (logging.ERROR, 3),
        (logging.WARNING, 4),
        (logging.INFO, 6),
        (logging.DEBUG, 7),
        (logging.NOTSET, 7),
        (5, 7),
        (25, 5),  # between INFO and WARNING: syslog notice
        (35, 4),
        (45, 3),
        (60, 2),
    ],
)
def test_severity(level: int, severity: int) -> None:
    assert fmt(make_record(level=level))["Severity"] == severity


def test_compact_single_line() -> None:
    line = MozlogFormatter().format(make_record("a\nb\r\nc\u2028d", extra={"x": "y\nz"}))
    assert line.count("\n") == 0
    assert ", " not in line.replace('", "', "")  # compact separators
    assert parse_line(line)["Fields"] == {"x": "y\nz", "msg": "a\nb\r\nc\u2028d"}


# -- Fields ----------------------------------------------------------------------


def test_extras_then_msg() -> None:
    extra = {"errno": 0, "path": "/", "t": 1.5, "ok": True, "n": -3}
    out = fmt(make_record("done", extra=extra))
    assert out["Fields"] == {**extra, "msg": "done"}
    assert list(out["Fields"]) == [*extra, "msg"]


def test_none_values_left_out() -> None:
    out = fmt(make_record("m", extra={"a": None, "b": 1, "nested": {"x": None, "y": 2}}))
    assert out["Fields"] == {"b": 1, "nested": {"y": 2}, "msg": "m"}


def test_none_inside_a_list_is_no_null() -> None:
    assert fmt(make_record("m", extra={"l": [1, None]}))["Fields"]["l"] == [1, "None"]


def test_empty_message_omitted_when_there_are_fields() -> None:
    assert fmt(make_record("", extra={"a": 1}))["Fields"] == {"a": 1}


def test_empty_record_still_has_a_field() -> None:
    assert fmt(make_record(""))["Fields"] == {"msg": ""}


def test_message_that_looks_like_json_is_kept() -> None:
    # Mozilla's formatter drops such messages (python-dockerflow #40).
    assert fmt(make_record('{"a": 1}'))["Fields"]["msg"] == '{"a": 1}'


def test_dict_message() -> None:
    assert fmt(make_record({"user": 1}))["Fields"]["msg"] == "{'user': 1}"


def test_dict_message_args() -> None:
    out = fmt(make_record("%(user)s did %(what)s", ({"user": "ann", "what": "x"},)))
    assert out["Fields"]["msg"] == "ann did x"


def test_mismatched_args() -> None:
    out = fmt(make_record("%s and %s", ("one",)))
    assert out["Fields"]["msg"] == "'%s and %s' % ('one',)"
    out = fmt(make_record("%d", ("nope",)))
    assert out["Fields"]["msg"] == "'%d' % ('nope',)"


def test_message_whose_str_raises() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

        def __repr__(self) -> str:
            raise RuntimeError("no either")

    out = fmt(make_record(Broken()))
    assert out["Fields"]["msg"] == "<unrepresentable Broken> % ()"


def test_message_object() -> None:
    class Message:
        def __str__(self) -> str:
            return "from __str__"

    assert fmt(make_record(Message()))["Fields"]["msg"] == "from __str__"


def test_attributes_added_by_other_formatters_are_no_fields() -> None:
    record = make_record("m %s", ("x",), extra={"a": 1})
    logging.Formatter("%(asctime)s %(message)s").format(record)
    assert "message" in record.__dict__
    assert "asctime" in record.__dict__
    assert fmt(record)["Fields"] == {"a": 1, "msg": "m x"}


def test_task_name_is_no_field() -> None:
    assert fmt(make_record("m", taskName="Task-1"))["Fields"] == {"msg": "m"}


def test_mozilla_handler_logger_name_is_honoured() -> None:
    # Mozilla's MozlogHandler sets record.logger_name; it names the Logger.
    out = fmt(make_record("m", logger_name="FromHandler"))
    assert out["Logger"] == "FromHandler"
    assert out["Fields"] == {"msg": "m"}


def test_percent_signs_in_names() -> None:
    extra = {"100%": 1, "%s": "x", "%(a)s": "%d", "%%": "%"}
    out = fmt(make_record("50% done", extra=extra, name="odd%sname"))
    assert out["Fields"] == {**extra, "msg": "50% done"}
    assert out["Type"] == "odd%sname"


def test_many_record_shapes() -> None:
    # Records of many different shapes through one formatter: each is written
    # as it is, whatever the formatter wrote before.
    formatter = MozlogFormatter()
    for i in range(600):
        for _ in range(2):
            out = fmt(make_record("m", extra={f"key{i}": i}), formatter)
            assert out["Fields"] == {f"key{i}": i, "msg": "m"}


def test_one_shape_with_other_value_types() -> None:
    formatter = MozlogFormatter()
    for uid in (42, "", True, None, 2.5, "x\udcff", [1], 10**5000, 7):
        out = fmt(make_record("m", extra={"uid": uid, "path": "/"}), formatter)
        expected = {"uid": uid, "path": "/", "msg": "m"}
        if uid is None:
            del expected["uid"]
        elif isinstance(uid, str) and not uid.isascii():
            expected["uid"] = "x\\udcff"
        elif isinstance(uid, int) and uid > 2**64:
            expected["uid"] = hex(uid)
        assert out["Fields"] == expected


# -- values JSON cannot hold ------------------------------------------------------


class ReprRaises:
    def __repr__(self) -> str:
        raise ValueError("no repr")


class Point:
    def __repr__(self) -> str:
        return "Point(1, 2)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (b"\x00\xff", "b'\\x00\\xff'"),
        (bytearray(b"ab"), "bytearray(b'ab')"),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        ({1, "a"}, None),  # unorderable: some order
        (Point(), "Point(1, 2)"),
        (ReprRaises(), "<unrepresentable ReprRaises>"),
        pytest.param(10**5000, hex(10**5000), id="huge-int"),
        pytest.param(-(10**5000), hex(-(10**5000)), id="huge-negative-int"),
        (2**64, 2**64),
        ((1, "a"), [1, "a"]),
        ([], []),
        ({}, {}),
        ({1: "a", 2.5: "b", (1, 2): "c", None: "d", False: "e"}, None),
        ("x\udcffy", "x\\udcffy"),
        ("emoji \U0001f600", "emoji \U0001f600"),
        ("\x00\x1b[31m", "\x00\x1b[31m"),
    ],
)
def test_unserialisable_values(value: Any, expected: Any) -> None:
    out = fmt(make_record("m", extra={"v": value}))
    if expected is not None:
        assert out["Fields"]["v"] == expected
    else:
        assert out["Fields"]["v"]


def test_non_string_keys() -> None:
    # As json writes the keys it can write; the repr() of any other.
    value = {1: "a", (1, 2): "b", None: "c", False: 0, 2.5: 1, float("nan"): 2, 10**5000: 3}
    out = fmt(make_record("m", extra={"v": value}))
    assert out["Fields"]["v"] == {
        "1": "a",
        "(1, 2)": "b",
        "null": "c",
        "false": 0,
        "2.5": 1,
        "nan": 2,
        hex(10**5000): 3,
    }


def test_float_subclass_and_int_enum() -> None:
    import enum

    class Color(enum.IntEnum):
        RED = 1

    class Money(float):
        pass

    out = fmt(make_record("m", extra={"c": Color.RED, "m": Money(2.5), "n": Money("nan")}))
    assert out["Fields"] == {"c": 1, "m": 2.5, "n": "nan", "msg": "m"}


def test_self_referencing_containers() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    mapping: dict[str, Any] = {"a": 1}
    mapping["self"] = mapping
    out = fmt(make_record("m", extra={"l": loop, "d": mapping}))
    assert out["Fields"]["l"][0] == 1
    assert "recursive" in out["Fields"]["l"][1]
    assert "recursive" in out["Fields"]["d"]["self"]


def test_shared_container_is_not_a_cycle() -> None:
    shared = [1, 2]
    out = fmt(make_record("m", extra={"v": [shared, shared]}))
    assert out["Fields"]["v"] == [[1, 2], [1, 2]]


def test_deep_nesting_is_cut() -> None:
    deep: Any = "bottom"
    for _ in range(10_000):
        deep = [deep]
    out = fmt(make_record("m", extra={"v": deep}))
    depth = 0
    value = out["Fields"]["v"]
    while isinstance(value, list):
        value = value[0]
        depth += 1
    assert depth == 16  # the documented limit
    assert "too deep" in value


def test_mapping_whose_items_raise() -> None:
    from collections.abc import Mapping

    class Hostile(Mapping[str, int]):
        def __getitem__(self, key: str) -> int:
            raise KeyError(key)

        def __iter__(self) -> Iterator[str]:
            raise RuntimeError("no iteration")

        def __len__(self) -> int:
            return 1

        def __repr__(self) -> str:
            return "Hostile()"

    assert fmt(make_record("m", extra={"v": Hostile()}))["Fields"]["v"] == "Hostile()"


def test_huge_int_under_a_low_int_digit_limit() -> None:
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        out = fmt(make_record("m", extra={"v": 10**700}))
    finally:
        sys.set_int_max_str_digits(limit)
    assert out["Fields"]["v"] == hex(10**700)


def test_extra_keys_that_are_not_strings() -> None:
    record = make_record("m")
    record.__dict__[42] = "answer"  # only possible through __dict__
    assert fmt(record)["Fields"] == {"42": "answer", "msg": "m"}


def test_record_missing_attributes() -> None:
    record = make_record("m", extra={"a": 1})
    del record.created, record.process, record.levelno
    out = fmt(record)
    assert out["Fields"] == {"a": 1, "msg": "m"}
    assert out["Pid"] == os.getpid()
    assert out["Severity"] == 7


@pytest.mark.parametrize(
    "attrs",
    [
        {"created": float("nan")},
        {"created": float("inf")},
        {"created": "yesterday"},
        {"process": None},  # logging.logProcesses = False
        {"process": "1"},
        {"name": None},
        {"name": "caf\udce9"},
        {"levelno": "INFO"},
        {"args": None},
        {"exc_text": "Traceback: already formatted"},
        {"stack_info": "Stack (most recent call last): ..."},
    ],
)
def test_odd_record_attributes(attrs: dict[str, Any]) -> None:
    record = make_record("m")
    record.__dict__.update(attrs)
    out = fmt(record)
    assert out["Fields"]["msg"] == "m"


def test_record_from_make_log_record() -> None:
    record = logging.makeLogRecord({"msg": "made", "custom": [1, 2]})
    assert fmt(record)["Fields"] == {"custom": [1, 2], "msg": "made"}


class CollidingKey(str):
    """A key that claims to equal a LogRecord attribute and raises when compared."""

    def __hash__(self) -> int:
        return hash("asctime")  # the formatter looks it up among the record attributes

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing")

    __ne__ = __eq__  # type: ignore[assignment]


def test_never_raises_even_when_formatting_fails() -> None:
    # A record the formatter cannot read still gives one line, saying so.
    record = make_record("m")
    record.__dict__[CollidingKey("k")] = 1
    out = check_mozlog(MozlogFormatter().format(record))
    assert out["Type"] == "dockerflow.logging"
    assert out["Severity"] == 3
    assert out["Fields"]["msg"] == "'m'"
    assert "no comparing" in out["Fields"]["error"]
    assert out["Logger"] == "Dockerflow"
    named = check_mozlog(MozlogFormatter(logger_name="svc").format(record))
    assert named["Logger"] == "svc"


class NamelessType(type):
    """A metaclass whose classes have no readable __name__."""

    @property
    def __name__(cls) -> str:  # type: ignore[override]
        raise RuntimeError("no name")


class Unwritable(metaclass=NamelessType):
    """Neither its str(), its repr() nor its type's name can be read."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_never_raises_when_even_the_last_resort_fails() -> None:
    out = check_mozlog(MozlogFormatter().format(make_record(Unwritable())))
    assert out["Fields"] == {"msg": "unformattable log record"}
    assert out["Logger"] == "Dockerflow"
    assert out["Type"] == "dockerflow.logging"


def test_convert_record() -> None:
    out = MozlogFormatter(logger_name="svc").convert_record(make_record("m", extra={"a": 1}))
    assert out["Fields"] == {"a": 1, "msg": "m"}
    assert out["Logger"] == "svc"


# -- exceptions ------------------------------------------------------------------------


def raise_value_error(message: str = "bad value") -> None:
    raise ValueError(message)


def exc_info_of(func: Any, *args: Any) -> Any:
    try:
        func(*args)
    except BaseException:
        return sys.exc_info()
    raise AssertionError("did not raise")


def test_exc_info() -> None:
    out = fmt(make_record("failed", level=logging.ERROR, exc_info=exc_info_of(raise_value_error)))
    fields = out["Fields"]
    assert fields["msg"] == "failed"
    assert fields["error"] == "ValueError('bad value')"
    traceback = fields["traceback"]
    assert traceback.startswith("Traceback (most recent call last):\n")
    assert "in raise_value_error\n    raise ValueError(message)\n" in traceback
    assert traceback.endswith("ValueError('bad value')\n")


def test_exception_text_cannot_forge_log_lines() -> None:
    forged = 'x\n{"Timestamp": 1, "Type": "forged"}\n  File "evil.py", line 1'
    out = fmt(make_record("failed", exc_info=exc_info_of(raise_value_error, forged)))
    traceback = out["Fields"]["traceback"]
    assert 'File "evil.py"' not in traceback.replace(repr(forged), "")
    assert traceback.endswith(f"ValueError({forged!r})\n")
    assert out["Fields"]["error"] == f"ValueError({forged!r})"


def test_chained_exceptions() -> None:
    def chained() -> None:
        try:
            raise KeyError("first")
        except KeyError as exc:
            raise ValueError("second") from exc

    traceback = fmt(make_record("m", exc_info=exc_info_of(chained)))["Fields"]["traceback"]
    first = traceback.index("KeyError('first')")
    link = traceback.index("The above exception was the direct cause")
    second = traceback.index("ValueError('second')")
    assert first < link < second


def test_exception_during_handling() -> None:
    def during() -> None:
        try:
            raise KeyError("first")
        except KeyError:
            raise ValueError("second")  # noqa: B904

    traceback = fmt(make_record("m", exc_info=exc_info_of(during)))["Fields"]["traceback"]
    assert "During handling of the above exception" in traceback


def test_exception_chain_that_loops() -> None:
    first = ValueError("a")
    second = KeyError("b")
    first.__context__ = second
    second.__context__ = first
    out = fmt(make_record("m", exc_info=(ValueError, first, None)))
    assert out["Fields"]["traceback"].count("ValueError('a')") == 1


def test_recursion_traceback_is_collapsed() -> None:
    def recurse(n: int) -> None:
        if n == 0:
            raise RuntimeError("deep")
        recurse(n - 1)

    traceback = fmt(make_record("m", exc_info=exc_info_of(recurse, 100)))["Fields"]["traceback"]
    assert "[Previous line repeated 97 more times]" in traceback
    assert traceback.count("in recurse") == 4


def test_exception_whose_repr_raises() -> None:
    class Nasty(Exception):
        def __repr__(self) -> str:
            raise RuntimeError("no")

    def raise_nasty() -> None:
        raise Nasty()

    fields = fmt(make_record("m", exc_info=exc_info_of(raise_nasty)))["Fields"]
    assert fields["error"] == "<unrepresentable Nasty>"
    assert fields["traceback"].endswith("<unrepresentable Nasty>\n")


def test_exc_info_exception_instance() -> None:
    error = exc_info_of(raise_value_error)[1]
    fields = fmt(make_record("m", exc_info=error))["Fields"]
    assert fields["error"] == "ValueError('bad value')"
    assert "raise_value_error" in fields["traceback"]


@pytest.mark.parametrize("exc_info", [False, True, None, 0, "yes", (None, None, None), (1, 2)])
def test_exc_info_without_an_exception(exc_info: Any) -> None:
    # python-dockerflow #46: exc_info=False crashed Mozilla's formatter.
    fields = fmt(make_record("m", exc_info=exc_info))["Fields"]
    assert fields == {"msg": "m"}


def test_exc_info_true_inside_handler(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise_value_error()
    except ValueError:
        logger.error("caught", exc_info=True)
        logger.exception("also caught")
    first, second = lines(stream)
    assert first["Fields"]["error"] == second["Fields"]["error"] == "ValueError('bad value')"


def test_exc_info_with_only_a_type() -> None:
    fields = fmt(make_record("m", exc_info=(ValueError, None, None)))["Fields"]
    assert fields["error"] == "<class 'ValueError'>"
    assert fields["traceback"].endswith("<class 'ValueError'>\n")


def test_exc_info_with_a_bad_traceback_object() -> None:
    error = ValueError("x")
    fields = fmt(make_record("m", exc_info=(ValueError, error, "not a traceback")))["Fields"]
    assert fields["error"] == "ValueError('x')"


def test_exception_overrides_an_extra_named_error() -> None:
    record = make_record("m", extra={"error": "mine"}, exc_info=exc_info_of(raise_value_error))
    fields = fmt(record)["Fields"]
    assert fields["error"] == "ValueError('bad value')"
    assert list(fields)[-2:] == ["error", "traceback"]


def test_stack_info(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("where am I", stack_info=True)
    (record,) = lines(stream)
    assert record["Fields"]["stack"].startswith("Stack (most recent call last):")
    assert "test_stack_info" in record["Fields"]["stack"]


def test_safer_format_traceback_signature() -> None:
    # Mozilla's name and signature, for projects that call it directly.
    text = safer_format_traceback(*exc_info_of(raise_value_error, "a\nb"))
    assert text.endswith("ValueError('a\\nb')\n")


# -- the handler ----------------------------------------------------------------------


def test_handler_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    handler = MozlogHandler(name="MyService")
    assert handler.logger_name == "MyService"
    handler.handle(make_record("to stdout"))
    out = check_mozlog(capsys.readouterr().out.strip())
    assert (out["Logger"], out["Fields"]) == ("MyService", {"msg": "to stdout"})


def test_handler_stream() -> None:
    stream = io.StringIO()
    MozlogHandler(stream).handle(make_record("m"))
    assert check_mozlog(stream.getvalue().strip())["Logger"] == "Dockerflow"


def test_handler_with_an_unserialisable_value() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tests.logging.weird")
    record = logger.makeRecord(
        logger.name,
        logging.INFO,
        __file__,
        1,
        "weird %s",
        (ReprRaises(),),
        None,
        extra={"v": float("nan"), "s": {2, 1}},
    )
    MozlogHandler(stream).handle(record)
    (out,) = lines(stream)
    assert out["Fields"] == {
        "v": "nan",
        "s": [1, 2],
        "msg": "'weird %s' % (<unrepresentable ReprRaises>,)",
    }


# -- request ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rid",
    ["a", "0b7e8c5e-6a52-4a7e-9f0c-3f6f2c1e9d11", "Root:1.2_3-x", "A" * 128],
)
def test_valid_request_ids(rid: str) -> None:
    assert is_valid_request_id(rid)
    assert get_or_generate_request_id({"X-Request-ID": rid}) == rid


@pytest.mark.parametrize(
    "rid",
    [
        "",
        "A" * 129,
        "a b",
        "a\nb",
        "a\r\nX-Evil: 1",
        'a"b',
        "caf\u00e9",
        "a/b",
        "a\x00",
        "\udcff",
        None,
        123,
        b"abc",
    ],
)
def test_invalid_request_ids_are_replaced(rid: Any) -> None:
    assert not is_valid_request_id(rid)
    fresh = get_or_generate_request_id({"X-Request-ID": rid})
    assert fresh != rid
    assert is_valid_request_id(fresh)


def test_request_id_header_name() -> None:
    headers = {"X-Request-ID": "default", "X-Amzn-Trace-Id": "custom"}
    assert get_or_generate_request_id(headers) == "default"
    assert get_or_generate_request_id(headers, "X-Amzn-Trace-Id") == "custom"


def test_generated_request_ids_are_unique() -> None:
    ids = {get_or_generate_request_id({}) for _ in range(1000)}
    assert len(ids) == 1000


def test_request_id_from_a_hostile_mapping() -> None:
    class Hostile(dict[str, str]):
        def get(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("no")

    assert is_valid_request_id(get_or_generate_request_id(Hostile()))


def test_filter_adds_rid(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("outside")
    token = request_id_context.set("rid-1")
    try:
        logger.info("inside")
        logger.info("explicit", extra={"rid": "mine"})
    finally:
        request_id_context.reset(token)
    outside, inside, explicit = lines(stream)
    assert "rid" not in outside["Fields"]
    assert inside["Fields"]["rid"] == "rid-1"
    assert explicit["Fields"]["rid"] == "mine"


def test_filter_in_threads_started_with_a_copy_of_the_context(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured

    def work() -> None:
        logger.info("in a thread")

    token = request_id_context.set("rid-thread")
    try:
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(work,))
        plain = threading.Thread(target=work)
    finally:
        request_id_context.reset(token)
    thread.start()
    thread.join()
    plain.start()
    plain.join()
    copied, not_copied = lines(stream)
    assert copied["Fields"]["rid"] == "rid-thread"
    assert "rid" not in not_copied["Fields"]  # a plain thread has its own context


def test_filter_in_asyncio_tasks(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured

    async def handle(rid: str) -> None:
        request_id_context.set(rid)
        await asyncio.sleep(0)
        logger.info("task")

    async def main() -> None:
        await asyncio.gather(*(handle(f"rid-{i}") for i in range(5)))

    asyncio.run(main())
    assert sorted(r["Fields"]["rid"] for r in lines(stream)) == [f"rid-{i}" for i in range(5)]


def test_module_imports_nothing_from_django() -> None:
    code = (
        "import sys, dockerflow.logging; "
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_lines_are_json_for_the_standard_library_parser() -> None:
    line = MozlogFormatter().format(make_record("m", extra={"v": float("nan")}))
    assert json.loads(line)["Fields"]["v"] == "nan"


def test_exc_info_true_means_the_callers_exception_on_every_path() -> None:
    # The careful path (taken here for the huge int) must not see an exception
    # of the formatter's own as "the exception being handled".
    record = make_record("m", exc_info=True, extra={"big": 10**5000})
    fields = fmt(record)["Fields"]
    assert "error" not in fields
    assert fields["big"] == hex(10**5000)
    try:
        raise_value_error()
    except ValueError:
        fields = fmt(record)["Fields"]
    assert fields["error"] == "ValueError('bad value')"


def test_attributes_of_future_python_versions_are_no_fields() -> None:
    # A Python that adds an attribute to every LogRecord (as 3.12 added
    # taskName) must not make it a field of every line.
    code = (
        "import json, logging\n"
        "plain_init = logging.LogRecord.__init__\n"
        "def init(self, *args, **kwargs):\n"
        "    plain_init(self, *args, **kwargs)\n"
        "    self.futureAttribute = 'new in Python 9'\n"
        "logging.LogRecord.__init__ = init\n"
        "from dockerflow.logging import MozlogFormatter\n"
        "record = logging.LogRecord('x', logging.INFO, 'f.py', 1, 'm', (), None)\n"
        "record.mine = 1\n"
        "print(json.dumps(json.loads(MozlogFormatter().format(record))['Fields']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"mine": 1, "msg": "m"}


def test_public_names() -> None:
    assert sorted(dflogging.__all__) == sorted(
        [
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
    )
    for name in dflogging.__all__:
        assert hasattr(dflogging, name), name


# -- register_value_formatter -------------------------------------------------------------


class Secretive:
    """A value whose repr() holds a secret, as a request's does with its query string."""

    def __init__(self, public: str, secret: str = "s3cret") -> None:
        self.public = public
        self.secret = secret

    def __repr__(self) -> str:
        return f"<Secretive {self.public}?token={self.secret}>"


class MoreSecretive(Secretive):
    pass


def test_registered_formatter_writes_the_value() -> None:
    class Own(Secretive):  # a class of this test only: no other test sees it
        pass

    register_value_formatter(Own, lambda value: f"<Secretive {value.public}>")
    out = fmt(make_record("m", extra={"v": Own("/a"), "nested": {"l": [Own("/b")]}}))
    assert out["Fields"]["v"] == "<Secretive /a>"
    assert out["Fields"]["nested"] == {"l": ["<Secretive /b>"]}
    assert "s3cret" not in json.dumps(out)
    # Without a registration, the repr() as before.
    assert fmt(make_record("m", extra={"v": Secretive("/c")}))["Fields"]["v"] == (
        "<Secretive /c?token=s3cret>"
    )


def test_registered_formatter_applies_to_subclasses_and_the_closest_wins() -> None:
    class Base(Secretive):
        pass

    class Child(Base):
        pass

    class GrandChild(Child):
        pass

    register_value_formatter(Base, lambda value: "base")
    assert fmt(make_record("m", extra={"v": GrandChild("/")}))["Fields"]["v"] == "base"
    register_value_formatter(Child, lambda value: "child")
    assert fmt(make_record("m", extra={"v": GrandChild("/")}))["Fields"]["v"] == "child"
    assert fmt(make_record("m", extra={"v": Base("/")}))["Fields"]["v"] == "base"
    register_value_formatter(Base, lambda value: "base again")  # replaces
    assert fmt(make_record("m", extra={"v": Base("/")}))["Fields"]["v"] == "base again"


def test_registered_formatter_result_is_written_like_any_value() -> None:
    class Own(Secretive):
        pass

    register_value_formatter(
        Own, lambda value: {"path": value.public, "n": float("nan"), "s": {2, 1}, "x": None}
    )
    out = fmt(make_record("m", extra={"v": Own("caf\udce9")}))
    assert out["Fields"]["v"] == {"path": "caf\\udce9", "n": "nan", "s": [1, 2]}


def test_registered_formatter_that_raises_never_writes_the_repr() -> None:
    class Own(Secretive):
        pass

    def broken(value: Own) -> str:
        raise RuntimeError("settings not ready")

    register_value_formatter(Own, broken)
    out = fmt(make_record("m", extra={"v": Own("/a"), "ok": 1}))
    assert out["Fields"] == {"v": "<unformattable Own>", "ok": 1, "msg": "m"}


def test_registered_formatter_that_returns_its_argument() -> None:
    class Own(Secretive):
        pass

    register_value_formatter(Own, lambda value: value)
    out = fmt(make_record("m", extra={"v": Own("/a")}))
    assert "too deep or recursive" in out["Fields"]["v"]
    assert "s3cret" not in out["Fields"]["v"]


def test_json_types_are_never_given_to_a_registered_formatter() -> None:
    class Text(str):
        pass

    register_value_formatter(Text, lambda value: "formatted")
    out = fmt(make_record("m", extra={"plain": "text", "sub": Text("sub")}))
    assert out["Fields"]["plain"] == "text"
    assert out["Fields"]["sub"] == "formatted"  # a subclass is the caller's own type


def test_record_class_whose_get_message_returns_no_string() -> None:
    class Structured(logging.LogRecord):
        def getMessage(self) -> Any:
            return None if self.msg == "none" else {"event": self.msg}

    assert fmt(Structured("x", logging.INFO, "f.py", 1, "none", (), None))["Fields"] == {
        "msg": "None"
    }
    out = fmt(Structured("x", logging.INFO, "f.py", 1, "login", (), None))
    assert out["Fields"] == {"msg": "{'event': 'login'}"}


def test_handler_name_wins_over_a_formatter_set_later() -> None:
    # Mozilla's MozlogHandler: its name is the Logger of its lines, whatever
    # formatter the configuration gives it (issue 13, item 4).
    stream = io.StringIO()
    handler = MozlogHandler(stream, name="MyService")
    handler.setFormatter(JsonLogFormatter(logger_name="Other"))
    handler.handle(make_record("m"))
    assert check_mozlog(stream.getvalue().strip())["Logger"] == "MyService"


def test_handler_name_in_dict_config_with_a_formatter(capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "json": {"()": "dockerflow.logging.JsonLogFormatter", "logger_name": "Other"}
            },
            "handlers": {
                "mozlog": {
                    "class": "dockerflow.logging.MozlogHandler",
                    "name": "MyService",
                    "formatter": "json",
                }
            },
            "loggers": {"tests.handler_name": {"handlers": ["mozlog"], "level": "INFO"}},
        }
    )
    logger = logging.getLogger("tests.handler_name")
    try:
        logger.info("named")
    finally:
        logger.handlers = []
    out = check_mozlog(capsys.readouterr().out.strip())
    assert (out["Logger"], out["Fields"]) == ("MyService", {"msg": "named"})


def test_handler_name_is_no_field_and_a_plain_formatter_still_works() -> None:
    stream = io.StringIO()
    handler = MozlogHandler(stream, name="MyService")
    handler.setFormatter(logging.Formatter("%(logger_name)s: %(message)s"))
    handler.handle(make_record("plain"))
    assert stream.getvalue() == "MyService: plain\n"
