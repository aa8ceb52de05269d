"""Rolling deploys behind HAProxy lose no request when the instances drain first.

The short version of ``make rollout`` (soak/rollout.py): HAProxy runs the
configuration the docs include (``testproject/haproxy.cfg``) in front of two
instances, one gunicorn and one uvicorn, and wrk sends load through it while
each instance is drained, stopped with SIGTERM and replaced by a new version;
then one instance hangs (SIGSTOP) and must be taken out within the documented
bound. The judge's own tests feed it made-up runs, so a rollout that cannot
fail would be caught here.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from typing import Any

import pytest

from soak.rollout import (
    HAPROXY_CONFIG,
    Answer,
    Run,
    Step,
    Timings,
    commit_of,
    haproxy_seconds,
    judge,
    read_config,
    rollout,
)

from .rst_source import DOCS, directives

TIMINGS = Timings(inter=1.0, fall=2, rise=2, check_timeout=1.0)
OLD = {commit_of("web1", 1), commit_of("web2", 1)}
NEW = {commit_of("web1", 2), commit_of("web2", 2)}


# --- The documented configuration and timings -------------------------------------


def test_haproxy_times() -> None:
    assert haproxy_seconds("2s") == 2.0
    assert haproxy_seconds("500ms") == 0.5
    assert haproxy_seconds("1500") == 1.5
    with pytest.raises(ValueError):
        haproxy_seconds("soon")


def test_the_documented_configuration_is_what_the_rollout_reads() -> None:
    config = read_config()
    assert [name for name, _ in config.servers] == ["web1", "web2"]
    assert config.timings == Timings(inter=1.0, fall=2, rise=2, check_timeout=1.0)
    assert config.timings.out_bound < config.timings.drain_seconds


def test_the_docs_include_the_file_the_rollout_runs() -> None:
    """The pages show the file itself, not a copy that could drift from it."""
    for page in ("deployment.rst", "lifecycle.rst"):
        included = [
            (DOCS / d.argument).resolve() for d in directives(DOCS / page, "literalinclude")
        ]
        assert HAPROXY_CONFIG.resolve() in included, page


def test_the_docs_state_the_drain_wait_the_rollout_uses() -> None:
    seconds = read_config().timings.drain_seconds
    text = (DOCS / "lifecycle.rst").read_text()
    assert f"DRAIN_SECONDS={seconds:g}" in text


def kubernetes_timings() -> dict[str, int]:
    """The numbers of lifecycle.rst's preStop example."""
    (block,) = [
        d
        for d in directives(DOCS / "lifecycle.rst", "code-block")
        if d.argument == "yaml" and any("preStop" in line for line in d.content)
    ]
    text = "\n".join(block.content)
    found = {
        "grace": re.search(r"terminationGracePeriodSeconds: (\d+)", text),
        "period": re.search(r"readinessProbe:[^\n]*\n(?:.*\n)*?\s+periodSeconds: (\d+)", text),
        "failures": re.search(r"failureThreshold: (\d+)", text),
        "sleep": re.search(r"sleep (\d+)", text),
    }
    assert all(found.values()), found
    return {name: int(match.group(1)) for name, match in found.items() if match}


def test_the_kubernetes_example_keeps_the_timing_rule() -> None:
    """readiness period x failures < preStop sleep < grace period - graceful timeout."""
    numbers = kubernetes_timings()
    gunicorn_graceful = 20  # testproject/gunicorn.conf.py
    assert numbers["period"] * numbers["failures"] < numbers["sleep"]
    assert numbers["sleep"] + gunicorn_graceful < numbers["grace"]


# --- The judge ---------------------------------------------------------------------


def wrk(statuses: dict[str, int], *, failed: list[int] | None = None, **errors: int) -> Any:
    return {
        "threads": [
            {"tid": 1, "role": "site", "sent": sum(statuses.values()), "answered": 0,
             "pending": False, "failed": failed or [], "statuses": statuses},
        ],
        "errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0, **errors},
        "latency_max_us": 12_000,
    }  # fmt: skip


def good_drain() -> Run:
    steps = [
        Step("web1", commit_of("web1", 1), commit_of("web1", 2), 1.0, 2.9, 5.1, 8.0),
        Step("web2", commit_of("web2", 1), commit_of("web2", 2), 9.0, 11.0, 13.0, 16.0),
    ]
    answers = [
        Answer(0.5, 200, commit_of("web1", 1), "1.0.0"),
        Answer(2.0, 200, commit_of("web1", 1), "1.0.0"),  # drained, still in rotation
        Answer(3.0, 200, commit_of("web2", 1), "1.0.0"),
        Answer(9.5, 200, commit_of("web1", 2), "2.0.0"),
        Answer(12.0, 200, commit_of("web1", 2), "2.0.0"),
        Answer(16.5, 200, commit_of("web2", 2), "2.0.0"),
    ]
    return Run(
        scenario="drain",
        kind="gunicorn",
        seconds=17.0,
        steps=steps,
        wrk=wrk({"200": 500}),
        answers=answers,
        haproxy=Counter(),
        old_commits=OLD,
        new_commits=NEW,
        timings=TIMINGS,
        drain_seconds=3.0,
    )


def test_a_good_rollout_meets_every_target() -> None:
    result = judge(good_drain())
    assert result.targets
    assert all(result.targets.values()), result.targets


@pytest.mark.parametrize(
    ("change", "target"),
    [
        ({"wrk": wrk({"200": 499, "502": 1})}, "0 non-2xx"),
        ({"wrk": wrk({"200": 500}, read=1)}, "0 socket errors"),
        ({"wrk": wrk({"200": 500}, failed=[7])}, "0 socket errors"),
        ({"wrk": wrk({})}, "0 non-2xx"),
    ],
)
def test_lost_requests_are_a_miss(change: dict[str, Any], target: str) -> None:
    run = good_drain()
    for name, value in change.items():
        setattr(run, name, value)
    assert judge(run).targets[target] is False


def test_slow_to_leave_rotation_is_a_miss() -> None:
    run = good_drain()
    run.steps[0].out = run.steps[0].began + TIMINGS.out_bound + 1.0
    assert judge(run).targets["every instance out of rotation within the bound"] is False
    run.steps[0].out = None
    assert judge(run).targets["every instance out of rotation within the bound"] is False


def test_an_answer_from_an_instance_out_of_rotation_is_a_miss() -> None:
    run = good_drain()
    run.answers.insert(2, Answer(3.5, 200, commit_of("web1", 1), "1.0.0"))
    assert judge(run).targets["/__version__ never from an instance out of rotation"] is False


@pytest.mark.parametrize("index", [0, -1])
def test_a_version_that_never_switched_is_a_miss(index: int) -> None:
    run = good_drain()
    wrong = commit_of("web2", 2) if index == 0 else commit_of("web2", 1)
    answer = run.answers[index]
    run.answers[index] = Answer(answer.sent, 200, wrong, "?")
    if index == -1:
        run.steps[1].out = 20.0  # so the late answer is not also "out of rotation"
    assert judge(run).targets["/__version__ switched from old to new"] is False


def test_a_replacement_never_up_is_a_miss() -> None:
    run = good_drain()
    run.steps[1].up = None
    assert judge(run).targets["every replacement back in rotation"] is False


def test_the_control_has_no_target_but_counts_the_losses() -> None:
    run = good_drain()
    run.scenario = "control"
    run.wrk = wrk({"200": 480, "503": 20}, read=3)
    result = judge(run)
    assert result.targets == {}
    assert result.figures["non-2xx answers"] == 20
    assert result.figures["socket errors"] == 3
    assert result.figures["requests lost (non-2xx or no answer)"] == 20


def test_a_hang_out_late_is_a_miss_and_its_cost_is_counted() -> None:
    run = good_drain()
    run.scenario = "hang"
    run.steps = [Step("web2", commit_of("web2", 1), commit_of("web2", 2), 1.0, 4.5, 4.6, 7.0)]
    run.wrk = wrk({"200": 400, "502": 4})
    result = judge(run)
    assert result.targets["hung instance out of rotation within the bound"] is True
    assert result.figures["requests lost (non-2xx or no answer)"] == 4
    run.steps[0].out = 1.0 + TIMINGS.hang_bound + 1.0
    assert judge(run).targets["hung instance out of rotation within the bound"] is False


# --- The real thing, short ------------------------------------------------------------


@pytest.mark.e2e
def test_rollout_behind_haproxy() -> None:
    wrk_binary, haproxy_binary = shutil.which("wrk"), shutil.which("haproxy")
    if not wrk_binary or not haproxy_binary:
        pytest.skip("needs wrk and haproxy (apt-get install wrk haproxy; .ci/run installs them)")
    results = rollout(("gunicorn", "uvicorn"), ("drain", "hang"), wrk_binary, haproxy_binary)
    missed = {r.kind: [t for t, ok in r.targets.items() if not ok] for r in results}
    assert not any(missed.values()), (missed, [r.figures for r in results])
