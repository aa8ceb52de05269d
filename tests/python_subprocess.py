"""Run this virtualenv's Python in a subprocess, as the suite runs itself.

For code that must not share the test process: other Django settings, or
``logging.config.dictConfig``, which replaces the process's logging setup.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120

MOZLOG_ENVELOPE = {
    "Timestamp": int,
    "Type": str,
    "Logger": str,
    "Hostname": str,
    "EnvVersion": str,
    "Severity": int,
    "Pid": int,
    "Fields": dict,
}


def run_python(
    args: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -W error ARGS`` with PYTHONDEVMODE=1 and this checkout importable."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH"}
    }
    environment.update(PYTHONDEVMODE="1", PYTHONPATH=str(ROOT))
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-W", "error", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def mozlog_lines(output: str) -> list[dict[str, Any]]:
    """Every JSON line of ``output``, each checked against the MozLog envelope.

    Lines that are not JSON objects are skipped: logging's last-resort handler
    prints plain text for loggers a configuration leaves alone.
    """
    records = []
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        for key, kind in MOZLOG_ENVELOPE.items():
            assert isinstance(record.get(key), kind), f"{key} missing or not {kind}: {line}"
        assert record["EnvVersion"] == "2.0"
        assert None not in record["Fields"].values(), f"null in Fields: {line}"
        records.append(record)
    return records
