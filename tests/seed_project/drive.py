"""Drive the seed's project the way a deployment would, and print what happened as JSON.

Run by tests/test_seed_compat.py as ``python drive.py`` in a copy of this directory
(collectstatic and the SQLite database write into it), with ``fakes/`` on
PYTHONPATH. Logs go to stderr (the seed's StreamHandler); the report is the last
line of stdout.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seedsite.settings")

import django

django.setup()

from django.core import checks  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from statsd.defaults.django import statsd  # noqa: E402

#: Served by WhiteNoise from STATIC_ROOT after collectstatic.
STATIC_FILE = "/static/seedsite/site.css"


def answer(client: Client, path: str) -> dict[str, Any]:
    response = client.get(path, HTTP_USER_AGENT="seed-compat")
    if response.streaming:
        body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
        response.close()
    else:
        body = response.content.decode()
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        parsed = body
    return {"status": response.status_code, "body": parsed}


def main() -> None:
    report: dict[str, Any] = {"phase": os.environ.get("SEED_PHASE", "healthy")}
    # What a deployment does before serving: collect static files, migrate.
    call_command("collectstatic", verbosity=0, interactive=False)
    if report["phase"] == "healthy":
        call_command("migrate", verbosity=0, interactive=False)
    report["check_ids"] = sorted(
        message.id or "" for message in checks.run_checks(tags=["dockerflow"])
    )
    client = Client()
    for path in ("/__version__", "/__lbheartbeat__", "/__heartbeat__", "/", STATIC_FILE):
        report[path] = answer(client, path)
    report["statsd"] = list(statsd.calls)
    report["reverse"] = {
        name: reverse(f"dockerflow:{name}") for name in ("version", "heartbeat", "lbheartbeat")
    }
    # The URL include alone, without the middleware, serves the same endpoints.
    without_middleware = [
        m for m in django.conf.settings.MIDDLEWARE if not m.startswith("dockerflow.")
    ]
    with override_settings(MIDDLEWARE=without_middleware):
        report["include_only"] = {
            path: answer(Client(), path)["status"]
            for path in ("/__version__", "/__lbheartbeat__", "/__heartbeat__")
        }
    sys.stderr.flush()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
