"""``from statsd.defaults.django import statsd``: a recording client."""

from __future__ import annotations


class RecordingStatsClient:
    """Records ``incr`` calls as (name, count) pairs."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def incr(self, stat: str, count: int = 1, rate: float = 1) -> None:
        """Record one counter increment."""
        self.calls.append((stat, count))


statsd = RecordingStatsClient()
