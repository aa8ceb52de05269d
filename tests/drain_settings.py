"""The unit-test settings, with DOCKERFLOW_DRAIN_FILE read from the environment."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

DOCKERFLOW_DRAIN_FILE = os.environ.get("DOCKERFLOW_DRAIN_FILE") or None
