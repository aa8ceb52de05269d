"""Run a real Prometheus server (Debian's ``prometheus`` package) for end-to-end tests.

``running_prometheus()`` starts its own Prometheus on a free loopback port,
with its own configuration and data directory in a temporary directory,
scraping the targets given; on exit it stops the process by PID (SIGTERM, then
SIGKILL after a bound) and removes the directory. A Prometheus service the
package may have started on :9090 is never touched. ``promtool()`` runs
Debian's ``promtool``. Both skip the calling test when the tools are missing
(``.ci/run`` installs them).

Usage::

    jobs = "scrape_configs:\n  - job_name: web\n    static_configs: [{targets: [...]}]\n"
    with running_prometheus(jobs, interval=1.0) as prometheus:
        prometheus.wait_for("dockerflow_heartbeat_healthy == 1")
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .servers import free_port, http

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
QUERY_TIMEOUT = 5.0


def tool(name: str) -> str:
    """The path of ``name`` (``prometheus``, ``promtool``), or skip the test."""
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (Debian's prometheus package; .ci/run installs it)")
    return found


def promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``promtool args`` (skipping the test when it is missing); the result, whatever it is."""
    return subprocess.run(
        [tool("promtool"), *args],
        input=None if stdin is None else stdin.decode("utf-8", "replace"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class PrometheusError(RuntimeError):
    """Prometheus did not start, stop or answer as expected; the message holds its log."""


@dataclass
class Prometheus:
    """A running Prometheus; see ``running_prometheus()``."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def api(self, path: str, **params: str) -> Any:
        """GET ``/api/v1/<path>`` and return its ``data``; raise on an error answer."""
        query = urllib.parse.urlencode(params)
        answer = http(f"{self.url}/api/v1/{path}?{query}", timeout=QUERY_TIMEOUT)
        body = answer.json()
        if answer.status != 200 or body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: HTTP {answer.status}: {body}")
        return body["data"]

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The instant vector of ``expression`` now: a list of ``{"metric", "value"}``."""
        data = self.api("query", query=expression)
        result: list[dict[str, Any]] = data["result"]
        return result

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets with their health and last error."""
        found: list[dict[str, Any]] = self.api("targets")["activeTargets"]
        return found

    def wait_for(self, expression: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Poll until ``expression`` returns a non-empty vector; return it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.query(expression)
            if found:
                return found
            if time.monotonic() > deadline:
                raise PrometheusError(
                    f"{expression!r} still empty after {timeout:g}s; targets: "
                    f"{json.dumps(self.targets())}"
                )
            time.sleep(0.25)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; wait until the process is gone."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrometheusError(
                    f"prometheus exited with {self.process.returncode}:\n{self.log()}"
                )
            with contextlib.suppress(OSError):
                if http(f"{self.url}/-/ready", timeout=1.0).status == 200:
                    return
            time.sleep(0.1)
        raise PrometheusError(f"prometheus not ready after {START_TIMEOUT:g}s:\n{self.log()}")


def configuration(scrape_configs: str, interval: float) -> str:
    """A whole ``prometheus.yml``: a global scrape interval, then ``scrape_configs`` (YAML)."""
    every = f"{max(1, round(interval * 1000))}ms"
    return f"global:\n  scrape_interval: {every}\n  scrape_timeout: {every}\n{scrape_configs}"


@contextlib.contextmanager
def running_prometheus(scrape_configs: str, *, interval: float = 1.0) -> Iterator[Prometheus]:
    """Serve a Prometheus with these ``scrape_configs`` (YAML), scraping every ``interval`` s.

    The configuration is checked with ``promtool check config`` first, so a bad
    one fails with promtool's reason rather than a server that never starts.
    """
    binary = tool("prometheus")
    workdir = Path(tempfile.mkdtemp(prefix="dockerflow-prometheus-"))
    prometheus: Prometheus | None = None
    try:
        config = workdir / "prometheus.yml"
        config.write_text(configuration(scrape_configs, interval))
        checked = promtool("check", "config", str(config))
        if checked.returncode != 0:
            raise PrometheusError(
                f"promtool check config failed:\n{checked.stdout}{checked.stderr}\n"
                f"{config.read_text()}"
            )
        port = free_port()
        log_path = workdir / "prometheus.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--storage.tsdb.retention.time=1h",
                    "--log.level=warn",
                ],
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        prometheus = Prometheus(process, port, log_path)
        prometheus.wait_until_ready()
        yield prometheus
    finally:
        if prometheus is not None:
            prometheus.stop()
        shutil.rmtree(workdir, ignore_errors=True)
