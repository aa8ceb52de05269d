"""``/__heartbeat__`` side by side with Mozilla's package, in one run.

Every case runs in a fresh process (Mozilla's package reads
``DOCKERFLOW_CHECKS`` once, at start-up) that configures a tiny project:
``DockerflowMiddleware`` first, SQLite in a temporary directory, ``DEBUG``
off, and the checks of the case in ``DOCKERFLOW_CHECKS``. Requests go through
Django's ``WSGIHandler`` in-process. Mozilla's heartbeat runs every registered
Django system check one after another (deployment checks too, since ``DEBUG``
is off); ours runs only ``DOCKERFLOW_CHECKS``, all at once.

- ``heartbeat.five_100ms_checks``: five checks that each take 100 ms.
  Target: at most 0.25x Mozilla's time (ours runs them at once: about 0.1 s
  against 0.5 s).
- ``heartbeat.hang_3s_timeout_1s``: one check that hangs for 3 s, with
  ``DOCKERFLOW_HEARTBEAT_TIMEOUT = 1`` (Mozilla's package has no timeout and
  waits the 3 s). Target: at most 0.35x, i.e. answered in 1.05 s; and
  ``heartbeat.hang_3s_timeout_1s.vs_timeout`` (ours only) compares the answer
  with the 1 s timeout itself, target at most 1.05x.
- ``heartbeat.models_0``, ``heartbeat.models_50``, ``heartbeat.models_200``:
  the default checks (database connected, migrations applied) in a project
  with 0, 50 or 200 models. Mozilla's cost grows with the models (it runs the
  model checks on every probe); ``heartbeat.models_200.vs_0`` (ours only)
  compares ours at 200 models with ours at 0, target at most 1.2x (flat within 20%).
- ``heartbeat.flood_50``: 50 probes released at once against a check that runs
  one query and takes 100 ms; seconds per probe (wall time of the flood / 50).
- ``heartbeat.flood_50.check_runs``: the same flood, but the figure is a
  **count**, not seconds: how many times the check ran, counted in database
  queries. Mozilla's package runs it once per probe (50); ours once per flight.
  Target: at most 0.04x (two runs of fifty).

Run: ``python bench/bench_heartbeat.py`` (prints JSON lines), or ``make bench``.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import benchlib

HERE = Path(__file__).resolve()
SLEEP = 0.1
HANG = 3.0
HANG_TIMEOUT = 1.0
FLOOD = 50
CASES = ["five", "hang", "models:0", "models:50", "models:200", "flood"]


# --- Checks (Django system check functions, the form both packages accept) ---------------

query_count = 0
query_lock = threading.Lock()


def sleepy_check(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    time.sleep(SLEEP)
    return []


def hanging_check(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    time.sleep(HANG)
    return []


def query_check(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    time.sleep(SLEEP)
    return []


# Five distinct functions: check names must differ, and Django's registry is a set.
def sleepy_1(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    return sleepy_check()


def sleepy_2(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    return sleepy_check()


def sleepy_3(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    return sleepy_check()


def sleepy_4(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    return sleepy_check()


def sleepy_5(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    return sleepy_check()


urlpatterns: list[Any] = []


# --- One case, in its own process ---------------------------------------------------------


def models_app(directory: Path, count: int) -> str:
    """Write an app with ``count`` models into ``directory``; return its name."""
    name = f"bench_models_{count}"
    package = directory / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    lines = ["from django.db import models", ""]
    for index in range(count):
        lines += [
            f"class Model{index}(models.Model):",
            "    name = models.CharField(max_length=100)",
            "    count = models.IntegerField(default=0)",
            "    created = models.DateTimeField(auto_now_add=True)",
            (
                f"    parent = models.ForeignKey('Model{index - 1}', null=True, "
                "on_delete=models.CASCADE)"
            )
            if index
            else "    flag = models.BooleanField(default=False)",
            "",
        ]
    (package / "models.py").write_text("\n".join(lines))
    return name


def configure(case: str, directory: Path) -> None:
    import django
    from django.conf import settings

    me = "bench_heartbeat"
    apps = ["dockerflow.django"]
    extra: dict[str, Any] = {}
    if case == "five":
        checks = [f"{me}.sleepy_{i}" for i in range(1, 6)]
    elif case == "hang":
        checks = [f"{me}.hanging_check"]
        extra["DOCKERFLOW_HEARTBEAT_TIMEOUT"] = HANG_TIMEOUT
    elif case == "flood":
        checks = [f"{me}.query_check"]
    else:
        count = int(case.split(":")[1])
        sys.path.insert(0, str(directory))
        apps.append(models_app(directory, count))
        checks = [
            "dockerflow.django.checks.check_database_connected",
            "dockerflow.django.checks.check_migrations_applied",
        ]
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-not-secret",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=me,
        INSTALLED_APPS=apps,
        MIDDLEWARE=["dockerflow.django.middleware.DockerflowMiddleware"],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(directory / "db")}
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        LOGGING_CONFIG=None,
        DOCKERFLOW_CHECKS=checks,
        **extra,
    )
    # Both packages log non-ok checks; keep the cost, drop the text.
    logging.getLogger().addHandler(logging.NullHandler())
    django.setup()


def handler() -> Any:
    from django.core.handlers.wsgi import WSGIHandler

    return WSGIHandler()


def heartbeat(app: Any) -> int:
    response = app(benchlib.wsgi_environ("/__heartbeat__"), benchlib.start_response)
    status = int(response.status_code)
    response.close()
    return status


def count_queries() -> None:
    """Count every query run on any connection made from now on."""
    from django.db.backends.signals import connection_created

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        global query_count
        with query_lock:
            query_count += 1
        return execute(sql, params, many, context)

    def install(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.execute_wrappers.append(counter)

    connection_created.connect(install, weak=False)


def run_case(case: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-heartbeat-") as tmp:
        configure(case, Path(tmp))
        app = handler()
        assert heartbeat(app) == 200 or case == "hang"  # warm up: imports, first connection
        if case == "hang":
            time.sleep(HANG + 0.2)  # let the warm-up's hung check finish
            best = float("inf")
            repeats = 2 if benchlib.is_ours() else 1
            for index in range(repeats):
                start = time.perf_counter()
                heartbeat(app)
                best = min(best, time.perf_counter() - start)
                if index + 1 < repeats:
                    time.sleep(HANG - HANG_TIMEOUT + 0.2)
            return {"seconds": best}
        if case == "flood":
            count_queries()
            barrier = threading.Barrier(FLOOD, timeout=30)
            statuses: list[int] = []

            def probe() -> None:
                barrier.wait()
                statuses.append(heartbeat(app))

            threads = [threading.Thread(target=probe) for _ in range(FLOOD)]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            elapsed = time.perf_counter() - start
            assert statuses == [200] * FLOOD, statuses
            return {"seconds": elapsed / FLOOD, "runs": query_count}
        number = 5 if case == "five" else 20
        return {"seconds": benchlib.best_per_op(lambda: heartbeat(app), number=number, repeats=5)}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        print(json.dumps(run_case(sys.argv[2])))
        return
    figures = {case: benchlib.case_in_child(HERE, case) for case in CASES}
    benchlib.emit("heartbeat.five_100ms_checks", figures["five"]["seconds"], 0.25)
    hang = figures["hang"]["seconds"]
    benchlib.emit("heartbeat.hang_3s_timeout_1s", hang, round(1.05 * HANG_TIMEOUT / HANG, 3))
    benchlib.emit_baseline(
        "heartbeat.hang_3s_timeout_1s.vs_timeout", hang, HANG_TIMEOUT, "the 1 s timeout", 1.05
    )
    for count in (0, 50, 200):
        benchlib.emit(f"heartbeat.models_{count}", figures[f"models:{count}"]["seconds"], None)
    benchlib.emit_baseline(
        "heartbeat.models_200.vs_0",
        figures["models:200"]["seconds"],
        figures["models:0"]["seconds"],
        "ours with 0 models",
        1.2,
    )
    benchlib.emit("heartbeat.flood_50", figures["flood"]["seconds"], None)
    benchlib.emit("heartbeat.flood_50.check_runs", float(figures["flood"]["runs"]), 0.04)


if __name__ == "__main__":
    main()
