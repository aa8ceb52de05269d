"""testproject's Dockerfile follows the Dockerflow rules (read as text: no Docker engine here).

Rules: sources in /app, a group and a user ``app`` with id 10001, ENTRYPOINT
and CMD, ``USER app``, and a HEALTHCHECK that probes the service. Also the
gunicorn config it starts binds ``0.0.0.0:$PORT``.
"""

from __future__ import annotations

import json
import re
import runpy
import shlex
from pathlib import Path

import pytest

TESTPROJECT = Path(__file__).resolve().parent.parent / "testproject"
DOCKERFILE = TESTPROJECT / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuations joined."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)
    parsed = []
    for entry in logical:
        keyword, _, arguments = entry.partition(" ")
        parsed.append((keyword.upper(), arguments.strip()))
    return parsed


INSTRUCTIONS = instructions(DOCKERFILE.read_text())


def arguments_of(keyword: str) -> list[str]:
    return [arguments for name, arguments in INSTRUCTIONS if name == keyword]


def words(arguments: str) -> list[str]:
    """Exec form (a JSON array) or shell form, as a list of words."""
    if arguments.startswith("["):
        value = json.loads(arguments)
        assert isinstance(value, list)
        return [str(item) for item in value]
    return shlex.split(arguments)


def test_parser_joins_continuations() -> None:
    parsed = instructions("FROM x\n# c\nRUN a && \\\n    # inner\n    b\nUSER app\n")
    assert parsed == [("FROM", "x"), ("RUN", "a &&  b"), ("USER", "app")]


def test_sources_in_app() -> None:
    assert arguments_of("WORKDIR")[-1] == "/app"
    copies_to_app = [a for a in arguments_of("COPY") if words(a)[-1].rstrip("/") in {"/app", "."}]
    assert copies_to_app, "no COPY puts the project's sources in /app"


def test_group_and_user_app_with_id_10001() -> None:
    run = " ".join(arguments_of("RUN"))
    same_command = r"[^&;|]*?"
    group = re.search(
        rf"\b(?:groupadd|addgroup)\b{same_command}(?:--gid|-g)[ =]10001\b{same_command}\bapp\b", run
    )
    user = re.search(
        rf"\b(?:useradd|adduser)\b{same_command}(?:--uid|-u)[ =]10001\b{same_command}\bapp\b", run
    )
    assert group, "no `groupadd --gid 10001 app`"
    assert user, "no `useradd --uid 10001 ... app`"
    assert re.search(r"(?:--gid|-g|-G)[ =](?:10001|app)\b", user.group(0)), "user app not in group"


def test_runs_as_app() -> None:
    users = arguments_of("USER")
    assert users, "no USER instruction: the container would run as root"
    assert users[-1] in {"app", "10001", "app:app", "10001:10001"}
    last_user = max(i for i, (name, _) in enumerate(INSTRUCTIONS) if name == "USER")
    later = [name for name, _ in INSTRUCTIONS[last_user + 1 :]]
    assert "RUN" not in later, "a RUN after USER app may fail for want of root"


def test_entrypoint_and_cmd() -> None:
    (entrypoint,) = arguments_of("ENTRYPOINT")[-1:]
    (cmd,) = arguments_of("CMD")[-1:]
    assert entrypoint.startswith("["), "ENTRYPOINT in exec form, so signals reach the server"
    assert words(entrypoint)
    assert words(cmd)
    assert "gunicorn" in words(entrypoint)[0] or "gunicorn" in words(cmd)[0]


def test_healthcheck_probes_the_service() -> None:
    healthchecks = arguments_of("HEALTHCHECK")
    assert healthchecks, "no HEALTHCHECK"
    healthcheck = healthchecks[-1]
    assert healthcheck.upper() != "NONE"
    assert " CMD " in f" {healthcheck} " or healthcheck.startswith("CMD"), healthcheck
    # Either a probe URL, or one of this library's probes (which default to one).
    assert re.search(
        r"/__(?:lb)?heartbeat__|dockerflow[.-]probe|dockerflow_heartbeat", healthcheck
    ), healthcheck


def test_healthcheck_survives_a_drain() -> None:
    """Drained, the heartbeat paths answer 503: a HEALTHCHECK on them would get the
    container replaced while it drains. /__version__ never drains."""
    healthcheck = arguments_of("HEALTHCHECK")[-1]
    assert "/__version__" in healthcheck
    assert not re.search(r"/__(?:lb)?heartbeat__", healthcheck)


def test_healthcheck_has_a_timeout() -> None:
    assert re.search(r"--timeout=\d+", arguments_of("HEALTHCHECK")[-1])


@pytest.mark.parametrize(
    ("env", "bind"), [({}, "0.0.0.0:8000"), ({"PORT": "9123"}, "0.0.0.0:9123")]
)
def test_gunicorn_binds_all_interfaces_on_port(
    env: dict[str, str], bind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PORT", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = runpy.run_path(str(TESTPROJECT / "gunicorn.conf.py"))
    assert config["bind"] == bind
