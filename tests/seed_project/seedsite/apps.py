"""The project's own app: connects the seed's heartbeat signal receivers."""

from django.apps import AppConfig


class SeedsiteConfig(AppConfig):
    """Imports ``seedsite.signals`` so its receivers are connected."""

    name = "seedsite"

    def ready(self) -> None:
        """Connect the receivers."""
        from . import signals  # noqa: F401
