"""Shared fixtures."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from dockerflow import version as version_module


@pytest.fixture(autouse=True)
def _fresh_version_cache() -> Iterator[None]:
    version_module._cache.clear()
    yield
    version_module._cache.clear()


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_url(name: str) -> str:
    """The URL of a local service from the environment, or skip the test."""
    url = os.environ.get(name)
    if not url:
        pytest.skip(f"{name} is not set; this test needs that real service (.ci/run sets it)")
    return url
