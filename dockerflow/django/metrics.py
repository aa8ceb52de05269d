"""Heartbeat results as metrics: the OpenMetrics text format, and a Prometheus collector.

One list of metric families (:func:`families`) is built from a heartbeat result
(:class:`~dockerflow.django.heartbeat.HeartbeatResult`), the engine's
:func:`~dockerflow.django.heartbeat.run_counts` and the application's
``version.json``. It leaves the process two ways:

- :func:`render_openmetrics` writes the OpenMetrics 1.0 text format with the
  standard library only. ``/__heartbeat__`` answers it to a scrape, from the
  run of that request (so the engine's timeout, single flight and cache apply);
- :class:`HeartbeatCollector` hands the same families to ``prometheus_client``
  (the optional extra ``django-dockerflow[prometheus]``) for a project's own
  ``/metrics``, from the process's last result, without running any check.

The "Metrics" documentation page has the table of families.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from django.conf import settings

from ..version import VersionFileError
from . import heartbeat
from .conf import version_callback

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

__all__ = [
    "OPENMETRICS_CONTENT_TYPE",
    "Family",
    "HeartbeatCollector",
    "Labels",
    "families",
    "render_openmetrics",
]

logger = logging.getLogger("dockerflow.django")

#: The media type of :func:`render_openmetrics`' output.
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

#: Label names and values of one sample, in order.
Labels = tuple[tuple[str, str], ...]
Samples = tuple[tuple[Labels, float], ...]

#: What a family's samples add to its name, by type (OpenMetrics 1.0).
_SUFFIXES = {"gauge": "", "counter": "_total", "info": "_info"}

_LEVELS = "0 ok, 10 debug, 20 info, 30 warning, 40 error, 50 critical"


class Family(NamedTuple):
    """One metric family: name, type (gauge, counter or info), help text, unit, samples.

    ``name`` is the family's name as its ``# TYPE`` line gives it, without the
    ``_total`` a counter's samples add or the ``_info`` of an info metric's.
    """

    name: str
    type: str
    help: str
    unit: str = ""
    samples: Samples = ()

    @property
    def sample_name(self) -> str:
        """The name each sample carries."""
        return self.name + _SUFFIXES[self.type]


def _flag(value: bool) -> float:
    return 1.0 if value else 0.0


def _version_labels() -> Labels | None:
    """``version`` and ``commit`` from ``version.json``; None when there is none to read."""
    try:
        found = version_callback()(getattr(settings, "BASE_DIR", None))
    except VersionFileError as exc:
        logger.warning("No dockerflow_version_info: version.json %s", exc.problem)
        return None
    except Exception:
        logger.exception("No dockerflow_version_info: the version callback raised")
        return None
    if not isinstance(found, dict):
        return None
    return tuple((key, str(found.get(key, ""))) for key in ("version", "commit"))


def families(
    result: heartbeat.HeartbeatResult | None,
    *,
    counts: heartbeat.RunCounts | None = None,
    per_check: bool = True,
    version: bool = True,
) -> list[Family]:
    """The metric families of a heartbeat result, the run counts and ``version.json``.

    ``result`` None (no heartbeat has run in this process yet) leaves out the
    samples that describe a run. ``counts`` defaults to the engine's
    :func:`~dockerflow.django.heartbeat.run_counts`. ``per_check=False`` leaves
    out every sample labelled with a check's name; ``version=False`` does not
    read ``version.json``.
    """
    if counts is None:
        counts = heartbeat.run_counts()
    checks = result.checks if result is not None and per_check else ()
    pid = (("pid", str(os.getpid())),)

    def run(value: float) -> Samples:
        return () if result is None else (((), value),)

    def each(values: Iterable[tuple[str, float]]) -> Samples:
        return tuple(((("check", name),), value) for name, value in values)

    def counted(by_check: Mapping[str, int]) -> Samples:
        if not per_check:
            return ()
        return tuple(((("check", name), *pid), float(n)) for name, n in by_check.items())

    fail_level = result.fail_level if result is not None else 0
    found = None if not version else _version_labels()
    return [
        Family(
            "dockerflow_heartbeat_healthy",
            "gauge",
            "Whether the heartbeat passed (1) or reached the failing level (0).",
            samples=run(_flag(result is not None and not result.failed)),
        ),
        Family(
            "dockerflow_heartbeat_level",
            "gauge",
            f"Highest level any check reported: {_LEVELS}.",
            samples=run(float(result.level) if result is not None else 0.0),
        ),
        Family(
            "dockerflow_heartbeat_duration_seconds",
            "gauge",
            "Seconds the run of the checks took.",
            unit="seconds",
            samples=run(result.duration if result is not None else 0.0),
        ),
        Family(
            "dockerflow_heartbeat_cached",
            "gauge",
            "Whether the result was reused from DOCKERFLOW_HEARTBEAT_CACHE_SECONDS (1) or not (0).",
            samples=run(_flag(result is not None and result.cached)),
        ),
        Family(
            "dockerflow_check_healthy",
            "gauge",
            "Whether the check passed (1) or reached the failing level (0).",
            samples=each((c.name, _flag(c.level < fail_level)) for c in checks),
        ),
        Family(
            "dockerflow_check_level",
            "gauge",
            f"Highest level the check reported: {_LEVELS}.",
            samples=each((c.name, float(c.level)) for c in checks),
        ),
        Family(
            "dockerflow_check_duration_seconds",
            "gauge",
            "Seconds the check took (the timeout, for a check that missed it).",
            unit="seconds",
            samples=each((c.name, c.duration) for c in checks),
        ),
        Family(
            "dockerflow_check_timed_out",
            "gauge",
            "Whether the check missed the heartbeat timeout (1) or not (0).",
            samples=each((c.name, _flag(c.timed_out)) for c in checks),
        ),
        Family(
            "dockerflow_heartbeat_runs",
            "counter",
            "Runs of the checks by this process (a cached or shared answer is not a run).",
            samples=((pid, float(counts.runs)),),
        ),
        Family(
            "dockerflow_heartbeat_failures",
            "counter",
            "Runs of the checks by this process that reached the failing level.",
            samples=((pid, float(counts.failures)),),
        ),
        Family(
            "dockerflow_check_runs",
            "counter",
            "Runs of the check by this process.",
            samples=counted(counts.check_runs),
        ),
        Family(
            "dockerflow_check_failures",
            "counter",
            "Runs of the check by this process that reached the failing level.",
            samples=counted(counts.check_failures),
        ),
        Family(
            "dockerflow_check_timeouts",
            "counter",
            "Runs of the check by this process that missed the heartbeat timeout.",
            samples=counted(counts.check_timeouts),
        ),
        Family(
            "dockerflow_version",
            "info",
            "The application's version and commit, from version.json.",
            samples=() if found is None else ((found, 1.0),),
        ),
    ]


# --- The OpenMetrics text format -----------------------------------------------------------


def _escaped(text: str) -> str:
    # OpenMetrics escapes exactly these three in label values and help text.
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


@functools.lru_cache(maxsize=64)
def _metadata(name: str, kind: str, unit: str, help_text: str) -> str:
    # The same few families on every scrape: written once.
    lines = [f"# TYPE {name} {kind}"]
    if unit:
        lines.append(f"# UNIT {name} {unit}")
    lines.append(f"# HELP {name} {_escaped(help_text)}")
    return "\n".join(lines)


@functools.lru_cache(maxsize=256)
def _label_set(labels: Labels) -> str:
    # A scrape repeats the same few label sets (a check's name, the pid) in
    # family after family, and every scrape repeats them again: escaped once.
    if not labels:
        return ""
    return "{" + ",".join(f'{key}="{_escaped(text)}"' for key, text in labels) + "}"


def render_openmetrics(found: Sequence[Family]) -> bytes:
    """``found`` in the OpenMetrics 1.0 text format, UTF-8, ending with ``# EOF``.

    Label values and help texts are escaped as the format requires. A character
    UTF-8 cannot encode (a lone surrogate, which a JSON ``version.json`` can
    hold) is written as ``?``, so the output always parses.
    """
    lines: list[str] = []
    for family in found:
        lines.append(_metadata(family.name, family.type, family.unit, family.help))
        name = family.sample_name
        for labels, value in family.samples:
            lines.append(f"{name}{_label_set(labels)} {_number(value)}")
    lines.append("# EOF\n")
    return "\n".join(lines).encode("utf-8", "replace")


# --- prometheus_client ----------------------------------------------------------------------


class HeartbeatCollector:
    """The heartbeat families for ``prometheus_client`` (the ``prometheus`` extra).

    Register one per process, for example in your ``AppConfig.ready()``::

        prometheus_client.REGISTRY.register(HeartbeatCollector())

    A scrape of the project's ``/metrics`` then exposes :func:`families` for
    the process's last heartbeat result
    (:func:`~dockerflow.django.heartbeat.last_result`), its run counts and
    ``version.json``. It runs no check: before the process's first heartbeat
    the families that describe a run have no samples.
    """

    def collect(self) -> Iterator[Metric]:
        """The families, with their samples."""
        return _metrics(families(heartbeat.last_result()))

    def describe(self) -> Iterator[Metric]:
        """The families without samples: the names ``register()`` checks for clashes."""
        empty = families(None, counts=heartbeat.RunCounts(), version=False)
        return _metrics([family._replace(samples=()) for family in empty])


def _metrics(found: Sequence[Family]) -> Iterator[Metric]:
    # Imported here: the OpenMetrics view needs no prometheus_client.
    from prometheus_client.metrics_core import Metric

    for family in found:
        metric = Metric(family.name, family.help, family.type, family.unit)
        for labels, value in family.samples:
            metric.add_sample(family.sample_name, dict(labels), value)
        yield metric
