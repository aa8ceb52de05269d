"""Property-based tests: hostile log records always give one valid MozLog line."""

from __future__ import annotations

import logging
import sys
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerflow.logging import MozlogFormatter

from .mozlog import check_mozlog

# Thousands of examples in all, a few seconds of run time.
FUZZ = settings(
    max_examples=1200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# What is no extra: every attribute of a LogRecord, what formatters add, and
# the field names the formatter writes itself.
RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    "logger_name",
    "error",
    "traceback",
    "stack",
}


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
def test_a_record_is_written_the_same_every_time(
    case: tuple[logging.LogRecord, dict[str, Any]],
) -> None:
    record, _ = case
    formatter = MozlogFormatter(logger_name="fuzz")
    first = formatter.format(record)
    assert formatter.format(record) == first
    assert MozlogFormatter(logger_name="fuzz").format(record) == first


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), st.sampled_from([float("nan"), 10**5000, "\udcff", {1, 2}]))
def test_a_value_json_refuses_changes_no_other_field(
    case: tuple[logging.LogRecord, dict[str, Any]], refused: Any
) -> None:
    # json writes most values itself and the sanitizer writes those it
    # refuses; one refused value must not change how the others are written.
    record, _ = case
    formatter = MozlogFormatter(logger_name="fuzz")
    before = check_mozlog(formatter.format(record))["Fields"]
    record.__dict__["zz_refused"] = refused
    after = check_mozlog(formatter.format(record))["Fields"]
    assert after.pop("zz_refused") is not None
    if before.get("msg") == "":  # an empty message is written only without extras
        del before["msg"]
    assert after == before


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
def test_records_of_one_shape_with_other_value_types(batch: list[logging.LogRecord]) -> None:
    # One formatter writes each record as a fresh one would: nothing learnt
    # from a record changes how the next one of the same shape is written.
    formatter = MozlogFormatter(logger_name="fuzz")
    for record in batch:
        line = formatter.format(record)
        check_mozlog(line)
        assert line == MozlogFormatter(logger_name="fuzz").format(record)
