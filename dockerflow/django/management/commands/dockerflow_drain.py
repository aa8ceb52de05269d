"""``manage.py dockerflow_drain``: put this instance in drain mode (or take it out).

Creates the file named by ``DOCKERFLOW_DRAIN_FILE``; while it exists
``/__lbheartbeat__`` and ``/__heartbeat__`` answer 503, so load balancers and
orchestrators stop sending traffic while every other request is still served.
``--undo`` removes the file.

Exit codes:

* 0: done, or the instance already was in the requested state;
* 1: the file could not be created or removed (its directory is missing or
  not writable, the path is a directory...); the message names the path;
* 2: wrong command-line arguments (Django's usage error);
* 3: ``DOCKERFLOW_DRAIN_FILE`` is not set (or not a usable path).
"""

from __future__ import annotations

import datetime
import errno
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...conf import conf

EXIT_FILE_ERROR = 1
EXIT_NOT_CONFIGURED = 3


class Command(BaseCommand):
    """Create (or with ``--undo`` remove) the drain file."""

    help = (
        "Put this instance in drain mode: create the DOCKERFLOW_DRAIN_FILE file, so "
        "/__lbheartbeat__ and /__heartbeat__ answer 503 in every worker. --undo removes it. "
        "Exit codes: 0 done, 1 the file could not be created or removed, "
        "2 usage error, 3 DOCKERFLOW_DRAIN_FILE is not set."
    )
    requires_system_checks: list[str] = []  # a preStop hook must not wait on checks

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--undo",
            action="store_true",
            help="leave drain mode: remove the drain file",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = self._drain_file()
        if options["undo"]:
            self._undo(path)
        else:
            self._drain(path)

    def _drain_file(self) -> str:
        value = conf.DRAIN_FILE
        if value is None:
            raise CommandError(
                "DOCKERFLOW_DRAIN_FILE is not set or not valid: set it to an absolute path "
                "that every worker of this container can see (for example /tmp/dockerflow-drain) "
                "to use drain mode.",
                returncode=EXIT_NOT_CONFIGURED,
            )
        if not os.path.isabs(value):
            # The workers resolve it against their own working directory.
            self.stderr.write(
                f"Warning: DOCKERFLOW_DRAIN_FILE={value!r} is a relative path; use an "
                "absolute one so this command and every worker mean the same file."
            )
        return os.path.abspath(value)

    def _drain(self, path: str) -> None:
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        try:
            # O_EXCL: an existing file (another preStop run) is left untouched.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if os.path.isdir(path):
                raise self._file_error("create", path, "it is a directory") from None
            self.stdout.write(f"Already draining: {path} exists.")
            return
        except OSError as exc:
            raise self._file_error("create", path, self._reason(exc, path)) from exc
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"draining since {stamp} (pid {os.getpid()})\n")
        self.stdout.write(
            f"Draining: created {path}; /__lbheartbeat__ and /__heartbeat__ now answer 503."
        )

    def _undo(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            parent = os.path.dirname(path)
            if not os.path.isdir(parent):
                raise self._file_error(
                    "remove", path, f"the directory {parent} does not exist"
                ) from None
            self.stdout.write(f"Not draining: {path} does not exist.")
            return
        except OSError as exc:
            raise self._file_error("remove", path, self._reason(exc, path)) from exc
        self.stdout.write(f"Drain mode off: removed {path}; the probes answer normally again.")

    @staticmethod
    def _reason(exc: OSError, path: str) -> str:
        parent = os.path.dirname(path)
        if exc.errno == errno.ENOENT:
            if os.path.isdir(parent):  # e.g. /proc: a directory that takes no new files
                return f"the directory {parent} does not accept new files"
            return f"the directory {parent} does not exist"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return f"the directory {parent} is not writable ({exc.strerror})"
        if exc.errno in (errno.EISDIR, errno.ENOTEMPTY):
            return "it is a directory"
        if exc.errno == errno.ENOTDIR:
            return f"a parent of {path} is not a directory"
        return exc.strerror or str(exc)

    @staticmethod
    def _file_error(action: str, path: str, reason: str) -> CommandError:
        return CommandError(
            f"Cannot {action} the drain file {path}: {reason}.", returncode=EXIT_FILE_ERROR
        )
