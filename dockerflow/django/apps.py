"""The ``dockerflow.django`` application."""

from __future__ import annotations

from django.apps import AppConfig


class DockerflowConfig(AppConfig):
    """Registers the configuration checks and the heartbeat checks."""

    name = "dockerflow.django"
    label = "dockerflow"
    verbose_name = "Dockerflow"

    def ready(self) -> None:
        """Register our system checks with Django's check framework."""
        from . import checks

        checks.register()
