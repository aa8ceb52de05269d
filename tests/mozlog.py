"""The MozLog JSON schema, and helpers to check log lines against it.

Written from the MozLog standard: ``Timestamp`` (int64 nanoseconds, required),
``Type``, ``Logger``, ``Hostname``, ``EnvVersion`` ("2.0"), ``Severity`` (syslog
0-7), ``Pid``, and ``Fields``, a non-empty object whose values (at any depth)
are never null. ``request.summary`` records add their own fields.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

FIELD_VALUE: dict[str, Any] = {
    "anyOf": [
        {"type": ["string", "number", "boolean"]},
        {"type": "array", "items": {"$ref": "#/$defs/value"}},
        {"type": "object", "additionalProperties": {"$ref": "#/$defs/value"}},
    ]
}

MOZLOG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "Timestamp",
        "Type",
        "Logger",
        "Hostname",
        "EnvVersion",
        "Severity",
        "Pid",
        "Fields",
    ],
    "additionalProperties": False,
    "properties": {
        "Timestamp": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
        "Type": {"type": "string"},
        "Logger": {"type": "string"},
        "Hostname": {"type": "string"},
        "EnvVersion": {"const": "2.0"},
        "Severity": {"type": "integer", "minimum": 0, "maximum": 7},
        "Pid": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
        "Fields": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"$ref": "#/$defs/value"},
        },
    },
    "$defs": {"value": FIELD_VALUE},
}

REQUEST_SUMMARY_SCHEMA: dict[str, Any] = {
    **MOZLOG_SCHEMA,
    "properties": {
        **MOZLOG_SCHEMA["properties"],
        "Type": {"const": "request.summary"},
        "Fields": {
            "type": "object",
            "required": ["agent", "errno", "lang", "method", "path", "t", "uid", "rid", "code"],
            "properties": {
                "agent": {"type": "string"},
                "errno": {"enum": [0, 500]},
                "lang": {"type": "string"},
                "method": {"type": "string"},
                "path": {"type": "string"},
                "t": {"type": "integer", "minimum": 0},
                "uid": {"type": ["string", "integer"]},
                "rid": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
                "code": {"type": "integer", "minimum": 100, "maximum": 599},
                "querystring": {"type": "string"},
            },
            "additionalProperties": {"$ref": "#/$defs/value"},
        },
    },
}

_mozlog = jsonschema.Draft202012Validator(MOZLOG_SCHEMA)
_summary = jsonschema.Draft202012Validator(REQUEST_SUMMARY_SCHEMA)
jsonschema.Draft202012Validator.check_schema(MOZLOG_SCHEMA)
jsonschema.Draft202012Validator.check_schema(REQUEST_SUMMARY_SCHEMA)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not RFC 8259 JSON")


def parse_line(line: str) -> dict[str, Any]:
    """Parse one log line strictly: one line, ASCII, RFC 8259 (no NaN/Infinity)."""
    assert "\n" not in line, line
    assert "\r" not in line, line
    assert line.isascii(), line
    # Lone surrogate escapes are valid JSON text for Python but rejected by
    # strict parsers; the formatter must never write one.
    record = json.loads(line, parse_constant=_refuse_constant)
    assert isinstance(record, dict)
    _assert_no_lone_surrogates(record)
    return record


def _assert_no_lone_surrogates(value: Any) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # raises on a lone surrogate
    elif isinstance(value, list):
        for item in value:
            _assert_no_lone_surrogates(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _assert_no_lone_surrogates(key)
            _assert_no_lone_surrogates(item)


def check_mozlog(line: str) -> dict[str, Any]:
    """Parse ``line`` and validate it against the MozLog schema; return it."""
    record = parse_line(line)
    _mozlog.validate(record)
    return record


def check_summary(line: str) -> dict[str, Any]:
    """Parse ``line`` and validate it as a MozLog ``request.summary`` record."""
    record = check_mozlog(line)
    _summary.validate(record)
    return record
