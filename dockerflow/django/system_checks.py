"""Start-up checks of the configuration, and the heartbeat as a deployment check.

Registered with Django's check framework under the tag ``dockerflow`` by the
app's ``ready()``. The configuration checks run with every ``manage.py check``
(and ``runserver``, ``migrate``...) and name the offending value; the
heartbeat's own checks are deployment checks, so a plain ``manage.py check``
(an image build without a database) never runs them, while
``manage.py check --deploy --tag dockerflow`` does.

Importing this module imports neither django-health-check, the heartbeat
engine nor ``importlib.metadata``: they are imported when a check that needs
them runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from .. import health
from .conf import SETTINGS, conf

__all__ = [
    "check_distribution",
    "check_drain_file",
    "check_error_endpoint",
    "check_heartbeat_entries",
    "check_middleware_first",
    "check_settings_types",
    "check_version_callback",
    "register",
    "run_heartbeat_checks",
]

MIDDLEWARE_PATH = "dockerflow.django.middleware.DockerflowMiddleware"
DEFAULT_VERSION_CALLBACK = SETTINGS["DOCKERFLOW_VERSION_CALLBACK"].default

Messages = list[checks.CheckMessage]


def check_distribution(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Messages:
    """Report Mozilla's ``dockerflow`` installed beside this package (E004)."""
    # importlib.metadata costs some 30 ms to import: only when checks run,
    # never at django.setup() or a worker's boot.
    from ..distribution import REPAIR_HINT, install_problem

    problem = install_problem()
    if problem is None:
        return []
    return [checks.Error(problem, hint=REPAIR_HINT, id=health.CONFIG_DISTRIBUTION_CONFLICT)]


def check_settings_types(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Messages:
    """Report every ``DOCKERFLOW_*`` setting whose value is not valid (E002)."""
    errors: Messages = []
    for name, setting in SETTINGS.items():
        if not hasattr(settings, name):
            continue
        value = getattr(settings, name)
        if setting.validate(value):
            continue
        shown = f"a {type(value).__name__} (value hidden)" if setting.secret else repr(value)
        errors.append(
            checks.Error(
                f"{name} is {shown}; it must be {setting.expected}.",
                hint=f"Fix or remove {name} in your settings.",
                id=health.CONFIG_SETTING_WRONG_TYPE,
            )
        )
    return errors


def check_version_callback(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> Messages:
    """Check that the version callback imports and, for the default one, that BASE_DIR is set."""
    callback = conf.VERSION_CALLBACK
    if isinstance(callback, str):
        problem = ""
        try:
            imported = import_string(callback)
        except Exception as exc:  # a module that raises on import, too
            problem = f"cannot be imported: {exc}"
        else:
            if not callable(imported):
                problem = f"is not callable (it is a {type(imported).__name__})"
        if problem:
            return [
                checks.Error(
                    f"DOCKERFLOW_VERSION_CALLBACK {callback!r} {problem}",
                    id=health.CONFIG_VERSION_CALLBACK_IMPORT,
                )
            ]
    if callback == DEFAULT_VERSION_CALLBACK and getattr(settings, "BASE_DIR", None) is None:
        return [
            checks.Error(
                "BASE_DIR is not set, so /__version__ cannot find version.json.",
                hint="Set BASE_DIR to the directory that holds version.json, "
                "or set DOCKERFLOW_VERSION_CALLBACK.",
                id=health.CONFIG_BASE_DIR_MISSING,
            )
        ]
    return []


def check_middleware_first(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> Messages:
    """Warn when DockerflowMiddleware is installed but not first in MIDDLEWARE."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if MIDDLEWARE_PATH in middleware and middleware[0] != MIDDLEWARE_PATH:
        return [
            checks.Warning(
                f"{MIDDLEWARE_PATH} is at position {middleware.index(MIDDLEWARE_PATH)} "
                f"in MIDDLEWARE, after {middleware[0]!r}.",
                hint="Put it first so the probe endpoints answer before any other "
                "middleware (ALLOWED_HOSTS, SSL redirects, sessions) can interfere.",
                id=health.CONFIG_MIDDLEWARE_NOT_FIRST,
            )
        ]
    return []


def check_error_endpoint(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Messages:
    """Warn when ``/__error__`` is switched on but its guard lets no request through."""
    if conf.ERROR_ENDPOINT and conf.ERROR_ENDPOINT_TOKEN is None and not settings.DEBUG:
        return [
            checks.Warning(
                "DOCKERFLOW_ERROR_ENDPOINT is True but /__error__ is not served: "
                "DOCKERFLOW_ERROR_ENDPOINT_TOKEN is not set and DEBUG is False.",
                hint="Set DOCKERFLOW_ERROR_ENDPOINT_TOKEN to a secret and send it in the "
                "X-Dockerflow-Error-Token header, or turn DOCKERFLOW_ERROR_ENDPOINT off.",
                id=health.CONFIG_ERROR_ENDPOINT_UNREACHABLE,
            )
        ]
    return []


def check_drain_file(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Messages:
    """Warn when ``DOCKERFLOW_DRAIN_FILE`` is a relative path.

    A relative path is resolved against each process's working directory, so the
    file that ``manage.py dockerflow_drain`` (or a preStop hook) creates may not be
    the one the web workers look for, and the instance would never drain.
    """
    path = conf.DRAIN_FILE  # None when unset, or not valid (E002 reports that)
    if path is None or os.path.isabs(path):
        return []
    return [
        checks.Warning(
            f"DOCKERFLOW_DRAIN_FILE is the relative path {path!r}; each process "
            "resolves it against its own working directory.",
            hint="Use an absolute path, for example '/tmp/dockerflow-drain'.",
            id=health.CONFIG_DRAIN_FILE_RELATIVE,
        )
    ]


def check_heartbeat_entries(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> Messages:
    """Report every ``DOCKERFLOW_CHECKS`` entry that is not a usable check (E010-E015)."""
    if not hasattr(settings, "DOCKERFLOW_CHECKS"):
        return []  # the built-in defaults: nothing to resolve (nor to import) here
    from .heartbeat import configured_checks

    return [check.problem for check in configured_checks() if check.problem is not None]


def run_heartbeat_checks(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Messages:
    """The heartbeat's checks as one deployment check (``check --deploy --tag dockerflow``).

    Runs through the heartbeat engine, so the same timeout and concurrency
    apply; each message names its check.
    """
    from .heartbeat import run
    from .views import heartbeat

    messages: Messages = []
    for result in run(use_cache=False, sender=heartbeat).checks:
        for message in result.messages:
            if message.obj is None:
                # Django prints "?: (id) text" for a message without obj; name the check.
                message = checks.CheckMessage(
                    message.level, message.msg, hint=message.hint, obj=result.name, id=message.id
                )
            messages.append(message)
    return messages


def register() -> None:
    """Register the checks with Django's check framework, under the tag ``dockerflow``."""
    for check in (
        check_distribution,
        check_settings_types,
        check_version_callback,
        check_middleware_first,
        check_error_endpoint,
        check_drain_file,
        check_heartbeat_entries,
    ):
        checks.register(check, "dockerflow")
    checks.register(run_heartbeat_checks, "dockerflow", deploy=True)
