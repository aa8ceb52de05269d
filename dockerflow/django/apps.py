"""The ``dockerflow.django`` application."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["DockerflowConfig"]


class DockerflowConfig(AppConfig):
    """Registers the start-up checks and keeps drain answers out of ``django.request``'s log.

    Imports nothing heavy: django-health-check and the heartbeat engine are
    imported when checks are first resolved or run.
    """

    name = "dockerflow.django"
    label = "dockerflow"
    verbose_name = "Dockerflow"

    def ready(self) -> None:
        """Register the system checks; install the drain log filter."""
        from . import drain, request_log, system_checks

        system_checks.register()
        drain.install_log_filter()
        request_log.register_request_formatter()
