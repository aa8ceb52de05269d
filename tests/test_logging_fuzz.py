"""Property-based tests: hostile log records always give one valid MozLog line."""

from __future__ import annotations

import logging
import sys
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerflow import logging as dflogging
from dockerflow.logging import MozlogFormatter

from .mozlog import check_mozlog

# Thousands of examples in all, a few seconds of run time.
FUZZ = settings(
    max_examples=1200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

RESERVED = dflogging._RECORD_ATTRS | {"msg", "error", "traceback", "stack"}


class ReprRaises:
    def __repr__(self) -> str:
        raise RuntimeError("repr refused")

    def __str__(self) -> str:
        raise RuntimeError("str refused")


class LongRepr:
    def __repr__(self) -> str:
        return "L" * 10_000 + "\n\x00\udcff"


class ReprReturnsSurrogates:
    def __repr__(self) -> str:
        return "bad \udcff repr"


def _self_list(items: list[Any]) -> list[Any]:
    items.append(items)
    return items


def _self_dict(items: dict[str, Any]) -> dict[str, Any]:
    items["self"] = items
    return items


# Every character, lone surrogates and control characters included.
text = st.text(st.characters(exclude_categories=()), max_size=40) | st.sampled_from(
    ["", "\udcff", "\ud83d", "null", '"', "\\", "\\ud800", "\n{", "%s", "%(x)s", "\u2028"]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=0, max_value=6000).map(lambda n: 10**n)
    | st.floats(allow_nan=True, allow_infinity=True)
    | text
    | st.binary(max_size=20)
    | st.builds(ReprRaises)
    | st.builds(LongRepr)
    | st.builds(ReprReturnsSurrogates)
    | st.builds(ValueError, text)
    | st.builds(object)
    | st.just(int)  # a type
)
hashables = (
    st.none() | st.booleans() | st.integers() | st.floats() | text | st.tuples(st.integers())
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(hashables, children, max_size=4)
        | st.sets(st.integers() | text, max_size=4)
        | st.frozensets(st.integers(), max_size=3)
        | st.lists(children, max_size=2).map(_self_list)
        | st.dictionaries(text, children, max_size=2).map(_self_dict)
    ),
    max_leaves=12,
)
extra_keys = text.filter(lambda key: key not in RESERVED)


def _exc_info() -> Any:
    try:
        raise ValueError("boom\n{forged}")
    except ValueError:
        return sys.exc_info()


exc_infos = st.sampled_from([None, False, True, 0, (None, None, None), "junk", (1, 2, 3)]) | (
    st.builds(_exc_info)
)
messages = text | values | st.sampled_from(["%s", "%s %s", "%d", "%(a)s", "100%"])
args = (
    st.none()
    | st.tuples()
    | st.lists(values, max_size=3).map(tuple)
    | st.dictionaries(text, values, max_size=2).map(lambda mapping: (mapping,))
)


@st.composite
def records(draw: st.DrawFn) -> tuple[logging.LogRecord, dict[str, Any]]:
    record = logging.LogRecord(
        draw(text),
        draw(st.integers(min_value=-10, max_value=100)),
        __file__,
        1,
        draw(messages),
        draw(args),
        draw(exc_infos),
    )
    extra = draw(st.dictionaries(extra_keys, values, max_size=6))
    record.__dict__.update(extra)
    if draw(st.booleans()):
        record.stack_info = draw(text)
    return record, extra


def _clean(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


@FUZZ
@given(records())
def test_hostile_records_give_one_valid_line(
    case: tuple[logging.LogRecord, dict[str, Any]],
) -> None:
    record, extra = case
    formatter = MozlogFormatter(logger_name="fuzz")
    out = check_mozlog(formatter.format(record))
    assert out["Logger"] == "fuzz"
    assert out["EnvVersion"] == "2.0"
    assert out["Pid"] > 0
    fields = out["Fields"]
    assert "unformattable" not in str(fields.get("msg", ""))
    # Nothing is dropped: every extra that is not None is there.
    for key, value in extra.items():
        if value is not None:
            assert _clean(key) in fields, key


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_every_path_writes_the_same_line(case: tuple[logging.LogRecord, dict[str, Any]]) -> None:
    record, _ = case
    formatter = MozlogFormatter(logger_name="fuzz")
    first = check_mozlog(formatter.format(record))  # learns the shape
    again = check_mozlog(formatter.format(record))  # through the shape's writer
    careful = check_mozlog(formatter._careful_line(record))
    assert first == again == careful


@st.composite
def same_shape_records(draw: st.DrawFn) -> list[logging.LogRecord]:
    keys = draw(st.lists(extra_keys, max_size=5, unique=True))
    name = draw(text)
    level = draw(st.sampled_from([logging.INFO, logging.ERROR]))
    msg = draw(st.sampled_from(["", "message"]))
    result = []
    for _ in range(3):
        record = logging.LogRecord(name, level, __file__, 1, msg, (), None)
        record.__dict__.update({key: draw(values) for key in keys})
        result.append(record)
    return result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(same_shape_records())
def test_a_shape_writer_serves_other_value_types(batch: list[logging.LogRecord]) -> None:
    formatter = MozlogFormatter(logger_name="fuzz")
    for record in batch:
        line = check_mozlog(formatter.format(record))
        assert line == check_mozlog(formatter._careful_line(record))
