"""Read the reStructuredText sources of ``docs/`` for the tests that keep them honest.

A small line-based reader, enough for the two constructs the tests need: the
``.. setting::`` entries of settings.rst and the ``.. code-block::`` examples of
every page. Comments are dropped first, so an example inside a comment (like the
"how to add a setting" note at the top of settings.rst) never counts.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"

# ``..`` that starts a comment: not a directive (``name::``), footnote, citation,
# hyperlink target or substitution definition.
_COMMENT = re.compile(r"^(?P<indent>\s*)\.\.(?:\s*$|\s+(?![\[_|])(?![\w:+.-]+::))")
_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\.\s+(?P<name>[\w:+.-]+)::\s*(?P<arg>.*?)\s*$")
_OPTION = re.compile(r"^:(?P<name>[\w-]+):\s*(?P<value>.*?)\s*$")
_FIELD = re.compile(r"^:(?P<name>[A-Za-z][\w ]*):\s*(?P<value>.*)$")


def pages() -> list[Path]:
    """Every ``.rst`` page of the docs, sorted."""
    return sorted(DOCS.glob("*.rst"))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """Index after the block whose first line is ``start``: lines more indented, or blank."""
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
        end += 1
    return end


def strip_comments(text: str) -> list[str]:
    """The lines of ``text`` with every comment block replaced by blank lines.

    Blank lines keep the line numbers of everything else unchanged.
    """
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _COMMENT.match(lines[index])
        if match:
            end = _block_end(lines, index, len(match.group("indent")))
            for blank in range(index, end):
                lines[blank] = ""
            index = end
        else:
            index += 1
    return lines


def _dedent(body: list[str]) -> list[str]:
    while body and not body[-1].strip():
        body.pop()
    while body and not body[0].strip():
        body.pop(0)
    width = min((_indent(line) for line in body if line.strip()), default=0)
    return [line[width:] for line in body]


@dataclass(frozen=True)
class Directive:
    """One directive: its name, argument, options and content (dedented)."""

    path: Path
    line: int
    name: str
    argument: str
    options: dict[str, str]
    content: list[str]

    @property
    def where(self) -> str:
        """``page.rst:line`` for failure messages."""
        return f"{self.path.name}:{self.line}"


def directives(path: Path, name: str | None = None) -> list[Directive]:
    """The directives of ``path`` (optionally only those called ``name``), comments excluded."""
    lines = strip_comments(path.read_text(encoding="utf-8"))
    found = []
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line)
        if not match or (name is not None and match.group("name") != name):
            continue
        end = _block_end(lines, index, len(match.group("indent")))
        body = _dedent(lines[index + 1 : end])
        options: dict[str, str] = {}
        # Options come right after the directive line; a ``setting`` has none (its
        # content starts with a field list, which looks the same).
        while match.group("name") != "setting" and body and (option := _OPTION.match(body[0])):
            options[option.group("name")] = option.group("value")
            body.pop(0)
        found.append(
            Directive(
                path, index + 1, match.group("name"), match.group("arg"), options, _dedent(body)
            )
        )
    return found


@dataclass(frozen=True)
class SettingEntry:
    """One ``.. setting::`` entry of settings.rst."""

    name: str
    type: str
    default_source: str
    where: str

    def default(self) -> object:
        """The documented default, as a Python value (``ValueError`` when it is not a literal)."""
        literal = re.fullmatch(r"``(.+)``", self.default_source.strip())
        if not literal:
            raise ValueError(f"{self.where}: :Default: must be one ``inline literal``")
        return ast.literal_eval(literal.group(1))


def setting_entries(path: Path | None = None) -> list[SettingEntry]:
    """The entries of settings.rst, in page order."""
    entries = []
    for directive in directives(path or DOCS / "settings.rst", "setting"):
        fields: dict[str, str] = {}
        current: str | None = None
        for line in directive.content:
            if not line.strip():
                if fields:
                    break  # the field list ends at the first blank line after it
                continue
            field = _FIELD.match(line)
            if field:
                current = field.group("name")
                fields[current] = field.group("value").strip()
            elif current is not None and line.startswith(" "):
                fields[current] += " " + line.strip()
            else:
                break
        entries.append(
            SettingEntry(
                directive.argument,
                fields.get("Type", ""),
                fields.get("Default", ""),
                directive.where,
            )
        )
    return entries
