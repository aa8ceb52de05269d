"""Find the shell commands the deployment pages show, for the test that runs them.

A reader picks every command out of the code blocks of a page, by language:

``console``
   Each ``$ `` line (with its ``\\`` continuations) is a command; the lines after
   it, up to the next prompt or a blank line, are its output. ``$ echo $?``
   gives the exit status of the command before it.
``sh``
   The whole block is one script.
``docker`` / ``dockerfile``
   ``RUN`` (shell form), ``CMD`` and ``ENTRYPOINT`` (exec or shell form), and
   the ``CMD`` of a ``HEALTHCHECK``.
``yaml``
   Flow sequences under ``command:``, ``args:`` and ``test:`` (Compose's
   ``["CMD", ...]`` loses its ``"CMD"``), ``run:`` values and the items of a
   ``script:`` list; and, apart, each ``httpGet`` probe's path.
``json``
   Every ``"command": ["CMD", ...]`` list (an ECS container health check).

``text`` blocks are synopses (``[PATH]``, ``[--check NAME ...]``), not commands.
Each command has a ``key``, the form a reader sees on the page: the command
line for the shell form, the JSON list for the exec form.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .rst_source import Directive, directives

CODE_DIRECTIVES = ("code-block", "code", "sourcecode")

Form = Literal["shell", "exec", "script"]


@dataclass(frozen=True)
class Shown:
    """One command shown on a page: how it is written, and what the page says it prints."""

    where: str
    #: The code block's language (console, docker, yaml...).
    language: str
    form: Form
    #: The shell command line or script (shell, script), or the argument list (exec).
    command: str | tuple[str, ...]
    #: Output lines shown after the command (console blocks only).
    output: tuple[str, ...] = ()
    #: The exit status the page shows for it (``$ echo $?``), if any.
    status: int | None = None

    @property
    def key(self) -> str:
        """How the page writes it: the command line, or the exec form's JSON list."""
        if isinstance(self.command, tuple):
            return json.dumps(list(self.command))
        return self.command


@dataclass(frozen=True)
class HttpProbe:
    """A Kubernetes ``httpGet`` probe: which probe, which path."""

    where: str
    probe: str
    path: str


def code_blocks(page: Path) -> list[Directive]:
    """The code blocks of ``page``, in page order."""
    blocks = [block for name in CODE_DIRECTIVES for block in directives(page, name)]
    return sorted(blocks, key=lambda block: block.line)


# --- console --------------------------------------------------------------------


def _logical_lines(lines: list[str]) -> list[tuple[int, str]]:
    """(index of the first line, text) with backslash continuations joined."""
    joined: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    for index, line in enumerate(lines):
        if not current:
            start = index
        if line.rstrip().endswith("\\"):
            current.append(line.rstrip()[:-1].strip())
            continue
        current.append(line.strip())
        joined.append((start, " ".join(part for part in current if part)))
        current = []
    if current:
        joined.append((start, " ".join(part for part in current if part)))
    return joined


def console_commands(block: Directive) -> list[Shown]:
    """The ``$ `` commands of a console block, each with the output shown after it."""
    found: list[Shown] = []
    lines = block.content
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("$ "):
            index += 1
            continue
        where = f"{block.where}+{index + 1}"
        # The command: this line and its continuations.
        command_lines = [line[2:]]
        while command_lines[-1].rstrip().endswith("\\") and index + 1 < len(lines):
            index += 1
            command_lines.append(lines[index])
        command = _logical_lines(command_lines)[0][1]
        index += 1
        output = []
        while index < len(lines) and lines[index].strip() and not lines[index].startswith("$ "):
            output.append(lines[index])
            index += 1
        if command == "echo $?":
            if not found or len(output) != 1 or not output[0].strip().isdigit():
                raise ValueError(f"{block.where}: `echo $?` must follow a command, show a number")
            previous = found.pop()
            found.append(
                Shown(
                    previous.where,
                    previous.language,
                    previous.form,
                    previous.command,
                    previous.output,
                    int(output[0]),
                )
            )
            continue
        found.append(Shown(where, "console", "shell", command, tuple(output)))
    return found


# --- Dockerfile -------------------------------------------------------------------


def _docker_form(arguments: str, where: str) -> Shown:
    if arguments.startswith("["):
        argv = json.loads(arguments)
        if not isinstance(argv, list) or not all(isinstance(item, str) for item in argv):
            raise ValueError(f"{where}: exec form must be a JSON list of strings")
        return Shown(where, "docker", "exec", tuple(argv))
    return Shown(where, "docker", "shell", arguments)


def docker_commands(block: Directive) -> list[Shown]:
    """RUN, CMD, ENTRYPOINT and HEALTHCHECK commands of a Dockerfile block."""
    lines = [line for line in block.content if not line.strip().startswith("#")]
    found = []
    for index, text in _logical_lines(lines):
        keyword, _, arguments = text.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        where = f"{block.where}+{index + 1}"
        if keyword == "HEALTHCHECK":
            # Options (--interval=30s ...) come before CMD.
            match = re.search(r"(?:^|\s)CMD\s+(.*)$", arguments)
            if match:
                found.append(_docker_form(match.group(1).strip(), where))
        elif keyword in {"CMD", "ENTRYPOINT"}:
            found.append(_docker_form(arguments, where))
        elif keyword == "RUN":
            found.append(Shown(where, "docker", "shell", arguments))
    return found


# --- YAML ---------------------------------------------------------------------------

_FLOW_KEY = re.compile(r"^\s*(?:-\s+)?(?P<key>command|args|test):\s*(?P<rest>\[.*)$")
_RUN = re.compile(r"^\s*-?\s*run:\s*(?P<command>\S.*?)\s*$")
_SCRIPT = re.compile(r"^(?P<indent>\s*)script:\s*$")
_HTTP_GET = re.compile(r"httpGet:\s*\{\s*path:\s*(?P<path>[^,\s}]+)")
_PROBE = re.compile(r"^\s*(?P<probe>\w+Probe):\s*$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _strip_yaml_comment(text: str) -> str:
    """Drop a trailing ``# comment`` outside quotes."""
    quoted = False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted and (index == 0 or text[index - 1] in " \t"):
            return text[:index].rstrip()
    return text


def yaml_commands(block: Directive) -> list[Shown]:
    """Commands of a YAML block (Compose, Kubernetes, CI); see the module docstring."""
    lines = block.content
    found: list[Shown] = []
    index = 0
    while index < len(lines):
        line = _strip_yaml_comment(lines[index])
        where = f"{block.where}+{index + 1}"
        flow = _FLOW_KEY.match(line)
        run = _RUN.match(line)
        script = _SCRIPT.match(line)
        if flow:
            text = flow.group("rest")
            while text.count("[") > text.count("]") and index + 1 < len(lines):
                index += 1
                text += " " + _strip_yaml_comment(lines[index]).strip()
            argv = json.loads(text)
            if flow.group("key") == "test":
                if argv[:1] != ["CMD"]:
                    raise ValueError(f"{where}: a Compose test must use the exec form (CMD)")
                argv = argv[1:]
            found.append(Shown(where, "yaml", "exec", tuple(argv)))
        elif run:
            found.append(Shown(where, "yaml", "shell", run.group("command")))
        elif script:
            depth = len(script.group("indent"))
            while index + 1 < len(lines) and (
                not lines[index + 1].strip() or _indent(lines[index + 1]) > depth
            ):
                index += 1
                item = _strip_yaml_comment(lines[index]).strip()
                if item.startswith("- "):
                    found.append(
                        Shown(f"{block.where}+{index + 1}", "yaml", "shell", item[2:].strip())
                    )
        index += 1
    return found


def http_probes(block: Directive) -> list[HttpProbe]:
    """The ``httpGet`` probes of a Kubernetes YAML block, with the probe they belong to."""
    probes = []
    probe = "?"
    for index, line in enumerate(block.content):
        named = _PROBE.match(line)
        if named:
            probe = named.group("probe")
        match = _HTTP_GET.search(line)
        if match:
            probes.append(HttpProbe(f"{block.where}+{index + 1}", probe, match.group("path")))
    return probes


# --- JSON -------------------------------------------------------------------------


def _json_command_lists(value: Any) -> list[list[str]]:
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "command" and isinstance(item, list):
                found.append(item)
            else:
                found += _json_command_lists(item)
    elif isinstance(value, list):
        for item in value:
            found += _json_command_lists(item)
    return found


def json_commands(block: Directive) -> list[Shown]:
    """The ``"command": ["CMD", ...]`` lists of a JSON block (ECS health checks)."""
    found = []
    for argv in _json_command_lists(json.loads("\n".join(block.content))):
        if argv[:1] == ["CMD"]:
            found.append(Shown(block.where, "json", "exec", tuple(argv[1:])))
        elif argv[:1] == ["CMD-SHELL"] and len(argv) == 2:
            found.append(Shown(block.where, "json", "shell", argv[1]))
        else:
            raise ValueError(f"{block.where}: a health check command starts with CMD or CMD-SHELL")
    return found


# --- A page ----------------------------------------------------------------------


def commands_by_block(page: Path) -> list[tuple[Directive, list[Shown]]]:
    """Each code block of ``page`` that shows commands, with its commands in order."""
    found = []
    for block in code_blocks(page):
        language = block.argument.lower()
        if language == "console":
            commands = console_commands(block)
        elif language in {"sh", "bash", "shell"}:
            commands = [Shown(block.where, "sh", "script", "\n".join(block.content) + "\n")]
        elif language in {"docker", "dockerfile"}:
            commands = docker_commands(block)
        elif language == "yaml":
            commands = yaml_commands(block)
        elif language == "json":
            commands = json_commands(block)
        else:
            continue
        if commands:
            found.append((block, commands))
    return found


def probes_of(page: Path) -> list[HttpProbe]:
    """Every Kubernetes ``httpGet`` probe of ``page``."""
    return [
        probe
        for block in code_blocks(page)
        if block.argument.lower() == "yaml"
        for probe in http_probes(block)
    ]
