"""``manage.py dockerflow_heartbeat``: the heartbeat as a command.

For container HEALTHCHECKs and Kubernetes exec probes. Two modes:

* in-process (the default): runs the heartbeat engine, the same checks,
  timeout and result as ``/__heartbeat__``, without a web server. For worker
  containers (Celery, cron) that have no server to probe.
* ``--url URL``: probes a running server over HTTP with the standard library
  (:mod:`dockerflow.probe`): one GET, a timeout, redirects never followed.

Exit codes (what Docker's HEALTHCHECK expects):

* 0: healthy (no check at or above the failing level; or HTTP 2xx);
* 1: unhealthy (a failed check, a check that missed the timeout, the engine
  itself failing; or HTTP 3xx/4xx/5xx, connection refused, timeout, DNS
  failure, a bad response);
* 2: usage error only (an unknown option, a bad value). Never a health
  outcome: Docker reserves 2. A ``--check`` name that matches no configured
  check exits 1, listing the names that do.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.http import JsonResponse

from ....probe import (
    DEFAULT_TIMEOUT,
    argparse_type,
    parse_timeout,
    probe_url,
    validate_host,
    validate_url,
)
from ... import heartbeat as heartbeat_engine
from ...conf import conf, parse_level_name
from ...views import heartbeat as heartbeat_view

logger = logging.getLogger("dockerflow.checks")

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1

#: A check's line shows this many messages; ``--format json`` shows them all.
MESSAGES_PER_LINE = 3

EXIT_CODES_HELP = (
    "Exit codes: 0 healthy; 1 unhealthy (a check at or above the failing level, "
    "or with --url: HTTP 3xx/4xx/5xx, connection refused, timeout, DNS failure, "
    "bad response); 2 usage error only, never a health outcome."
)


def _one_line(text: str) -> str:
    """Messages on one line, without control characters (they reach a health log)."""
    return " ".join(
        "".join(c if c.isprintable() else " " for c in line).strip()
        for line in str(text).splitlines()
        if line.strip()
    )


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def selectable_checks() -> tuple[list[str], set[str]]:
    """The configured checks' names (to list) and every name ``--check`` accepts.

    A check is selected by the name the heartbeat reports or by its dotted path.
    """
    resolved = heartbeat_engine.configured_checks()
    names = [check.name for check in resolved]
    accepted = set(names) | {alias for check in resolved for alias in check.aliases}
    return names, accepted


@contextlib.contextmanager
def _logs_off_stdout() -> Iterator[None]:
    """Send log records that would go to stdout to stderr instead, for a while.

    ``--format json`` promises one JSON document on stdout, whatever LOGGING
    says: the heartbeat's own log lines must not land in between.
    """
    moved: list[logging.StreamHandler[Any]] = []
    for name in ("dockerflow.checks.registry", "dockerflow.checks"):
        logger: logging.Logger | None = logging.getLogger(name)
        while logger is not None:
            for handler in logger.handlers:
                if (
                    isinstance(handler, logging.StreamHandler)
                    and handler.stream in (sys.stdout, sys.__stdout__)
                    and handler not in moved
                ):
                    moved.append(handler)
            logger = logger.parent if logger.propagate else None
    streams = [handler.setStream(sys.stderr) for handler in moved]
    try:
        yield
    finally:
        for handler, stream in zip(moved, streams, strict=True):
            handler.setStream(stream)


class Command(BaseCommand):
    """Run the heartbeat checks in-process, or probe a running server with ``--url``."""

    help = (
        "Run the Dockerflow heartbeat checks in this process (the same checks, timeout and "
        "result as /__heartbeat__), or with --url probe a running server, for container "
        "HEALTHCHECKs and exec probes. " + EXIT_CODES_HELP
    )
    # Django's own system checks would run first otherwise: slow start-up,
    # and a failing unrelated check would hide the heartbeat's answer.
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        """Keep the parser, so ``handle`` can report usage errors through it (exit 2)."""
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = EXIT_CODES_HELP
        self._parser = parser
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        """The in-process options, then the ``--url`` probe's."""
        parser.add_argument(
            "--check",
            action="append",
            dest="check_names",
            metavar="NAME",
            help="run only this check (repeatable); by default every DOCKERFLOW_CHECKS entry",
        )
        parser.add_argument(
            "--timeout",
            type=argparse_type(parse_timeout),
            metavar="SECONDS",
            help="bound the run (default: DOCKERFLOW_HEARTBEAT_TIMEOUT) or, with --url, the "
            f"whole probe (default: {DEFAULT_TIMEOUT:g})",
        )
        parser.add_argument(
            "--fail-level",
            type=argparse_type(parse_level_name),
            metavar="{warning,error}",
            help="the lowest level that makes the command fail "
            "(default: DOCKERFLOW_HEARTBEAT_FAIL_LEVEL, which defaults to error)",
        )
        parser.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            help="text: one line per check (default); json: the body /__heartbeat__ gives "
            "with full checks and details",
        )
        parser.add_argument(
            "--url",
            type=argparse_type(validate_url),
            help="probe this running server over HTTP instead (redirects are not followed)",
        )
        parser.add_argument(
            "--host",
            type=argparse_type(validate_host),
            help="with --url: the Host header to send",
        )

    def usage_error(self, message: str) -> None:
        """Report a usage error: exit 2 from the command line, CommandError from call_command."""
        parser = getattr(self, "_parser", None)
        if parser is None:  # pragma: no cover - call_command always builds the parser
            parser = self.create_parser("manage.py", "dockerflow_heartbeat")
        parser.error(message)

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the chosen mode; exit 1 (SystemExit) when unhealthy."""
        self.verbosity = int(options.get("verbosity", 1))
        if options["url"] is not None:
            in_process_only = [
                flag
                for flag, used in (
                    ("--check", options["check_names"]),
                    ("--fail-level", options["fail_level"]),
                    ("--format json", options["format"] == "json"),
                )
                if used
            ]
            if in_process_only:
                self.usage_error(f"{', '.join(in_process_only)} cannot be combined with --url")
            healthy = self.probe(options["url"], options["timeout"], options["host"])
        else:
            if options["host"] is not None:
                self.usage_error("--host needs --url")
            healthy = self.run_checks(
                options["check_names"],
                options["timeout"],
                options["fail_level"],
                options["format"],
            )
        if not healthy:
            raise SystemExit(EXIT_UNHEALTHY)

    # -- --url -------------------------------------------------------------------------

    def probe(self, url: str, timeout: str | None, host: str | None) -> bool:
        """Probe ``url``; write the status and body; return whether it was healthy."""
        seconds = DEFAULT_TIMEOUT if timeout is None else parse_timeout(timeout)
        result = probe_url(url, timeout=seconds, host=host)
        stream = self.stdout if result.healthy else self.stderr
        stream.write(result.report())
        return result.healthy

    # -- in-process -----------------------------------------------------------------------

    def run_checks(
        self,
        names: Sequence[str] | None,
        timeout: str | None,
        fail_level: str | None,
        output_format: str,
    ) -> bool:
        """Run the heartbeat engine; write the report; return whether it was healthy."""
        if names is not None:
            names = list(dict.fromkeys(names))  # repeated --check: run it once
            shown, accepted = selectable_checks()
            unknown = [name for name in names if name not in accepted]
            if unknown:
                listed = ", ".join(shown) if shown else "none (DOCKERFLOW_CHECKS is empty)"
                self.stderr.write(
                    f"unhealthy: no configured check named {', '.join(repr(n) for n in unknown)}"
                    f"; the configured checks are: {listed}"
                )
                return False
        level_name = fail_level or conf.HEARTBEAT_FAIL_LEVEL
        quiet_stdout = _logs_off_stdout() if output_format == "json" else contextlib.nullcontext()
        try:
            with quiet_stdout:
                # Never a cached result: an exec probe asks about this moment.
                result = heartbeat_engine.run(
                    names=names,
                    timeout=None if timeout is None else parse_timeout(timeout),
                    fail_level=level_name,
                    use_cache=False,
                    sender=heartbeat_view,
                )
        except Exception as exc:
            # The engine reports failing checks itself; reaching here means it
            # could not run at all (broken configuration). Still a health
            # outcome: exit 1, never a traceback with another code.
            logger.exception("manage.py dockerflow_heartbeat: the heartbeat engine raised")
            self.stderr.write(
                f"unhealthy: the heartbeat could not run ({type(exc).__name__}); "
                "the traceback is logged on the dockerflow.checks logger"
            )
            return False
        healthy = not result.failed
        if output_format == "json":
            # Exactly what /__heartbeat__ answers with details shown, same encoder.
            body = JsonResponse(result.payload(details=True)).content.decode()
            self.stdout.write(body)
            return healthy
        self.write_text(result, healthy, level_name, verbose=self.verbosity > 0)
        return healthy

    def write_text(self, result: Any, healthy: bool, level_name: str, *, verbose: bool) -> None:
        """One line per check (name, status, duration, messages), then the verdict.

        With ``--verbosity 0`` only the verdict line is written.
        """
        stream = self.stdout if healthy else self.stderr
        width = max((len(c.name) for c in result.checks), default=0)
        for check in result.checks if verbose else ():
            shown = [
                f"{m.id}: {_one_line(m.msg)}" if m.id else _one_line(m.msg)
                for m in check.messages[:MESSAGES_PER_LINE]
            ]
            hidden = len(check.messages) - len(shown)
            if hidden > 0:
                shown.append(f"(+{hidden} more; --format json lists them all)")
            line = f"{check.name:<{width}}  {check.status:<8}  {_milliseconds(check.duration):>10}"
            stream.write(f"{line}  {'; '.join(shown)}".rstrip())
        count = len(result.checks)
        what = f"{count} check{'s' if count != 1 else ''}" if count else "no checks configured"
        verdict = "healthy" if healthy else "unhealthy"
        summary = (
            f"{verdict}: status {result.status} (fails at {level_name}), "
            f"{what} in {_milliseconds(result.duration)}"
        )
        style = self.style.SUCCESS if healthy else self.style.ERROR
        stream.write(summary, style_func=style)
