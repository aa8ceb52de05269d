"""Stable ids of every check message this library emits.

Ids are part of the public contract: projects silence them with
``SILENCED_SYSTEM_CHECKS`` and alert on them, so an id never changes meaning.
The ``dockerflow.health.*`` ids that Mozilla's ``dockerflow`` package defines keep
their numbers and meanings here. Each id is used in exactly one place
(``tests/test_health_ids.py`` enforces uniqueness).
"""

from __future__ import annotations

# --- Heartbeat checks (shared with Mozilla's dockerflow package) -------------
INFO_CANT_CHECK_MIGRATIONS = "dockerflow.health.I001"
WARNING_UNAPPLIED_MIGRATION = "dockerflow.health.W001"
ERROR_CANNOT_CONNECT_DATABASE = "dockerflow.health.E001"
ERROR_UNUSABLE_DATABASE = "dockerflow.health.E002"
ERROR_MISCONFIGURED_DATABASE = "dockerflow.health.E003"
ERROR_CANNOT_CONNECT_REDIS = "dockerflow.health.E004"
ERROR_MISSING_REDIS_CLIENT = "dockerflow.health.E005"
ERROR_MISCONFIGURED_REDIS = "dockerflow.health.E006"
ERROR_REDIS_PING_FAILED = "dockerflow.health.E007"
# E008-E010 belong to Mozilla's Flask integration and are never reused here.

# --- Heartbeat engine (ours): E011-E049, W002-W019 ---------------------------
#: A django-health-check HealthCheck reported the service unavailable or an
#: unexpected result (``ServiceUnavailable``, ``ServiceReturnedUnexpectedResult``).
ERROR_HEALTH_CHECK_FAILED = "dockerflow.health.E011"
#: A check raised an exception it does not document; the traceback is logged only.
ERROR_CHECK_RAISED = "dockerflow.health.E012"
#: A check did not finish within ``DOCKERFLOW_HEARTBEAT_TIMEOUT``.
ERROR_CHECK_TIMED_OUT = "dockerflow.health.E013"
#: A check is still running from an earlier heartbeat that timed out, so it was
#: not started again, and it did not finish within this heartbeat's timeout.
ERROR_CHECK_STILL_RUNNING = "dockerflow.health.E014"
#: A check function returned something else than a list of check messages.
ERROR_CHECK_BAD_RESULT = "dockerflow.health.E015"
#: A heartbeat was asked to run a check that ``DOCKERFLOW_CHECKS`` does not list.
ERROR_UNKNOWN_CHECK = "dockerflow.health.E016"
#: A django-health-check HealthCheck raised ``ServiceWarning``.
WARNING_HEALTH_CHECK = "dockerflow.health.W002"

# --- Configuration problems, reported by ``manage.py check`` at start-up -----
CONFIG_BASE_DIR_MISSING = "dockerflow.config.E001"
CONFIG_SETTING_WRONG_TYPE = "dockerflow.config.E002"
CONFIG_VERSION_CALLBACK_IMPORT = "dockerflow.config.E003"
#: Mozilla's ``dockerflow`` distribution (or another one providing the ``dockerflow``
#: import package) is installed beside ``django-dockerflow``.
CONFIG_DISTRIBUTION_CONFLICT = "dockerflow.config.E004"
CONFIG_MIDDLEWARE_NOT_FIRST = "dockerflow.config.W001"
# Heartbeat configuration (bad DOCKERFLOW_CHECKS entries): E010-E029.
CONFIG_CHECK_IMPORT = "dockerflow.config.E010"
CONFIG_CHECK_NOT_A_CHECK = "dockerflow.config.E011"
CONFIG_CHECK_ARGUMENTS = "dockerflow.config.E012"
CONFIG_CHECK_BAD_ENTRY = "dockerflow.config.E013"
CONFIG_CHECK_DUPLICATE_NAME = "dockerflow.config.E014"
#: A HealthCheck names a cache, database or storage alias that its setting does not define.
CONFIG_CHECK_UNKNOWN_ALIAS = "dockerflow.config.E015"

# --- Drain configuration: W030-W039 ------------------------------------------
CONFIG_DRAIN_FILE_RELATIVE = "dockerflow.config.W030"

# --- Security configuration (the /__error__ guard): E050-E059, W050-W059 ------
CONFIG_ERROR_ENDPOINT_UNREACHABLE = "dockerflow.config.W050"

#: Every id above, by its constant's name.
__all__ = sorted(name for name in dict(globals()) if name.isupper())
