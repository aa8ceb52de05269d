"""What drain mode costs a probe: ``/__lbheartbeat__`` with and without it.

With ``DOCKERFLOW_DRAIN_FILE`` set (and the file absent, the normal state) each
probe makes one ``stat``; with it unset, none. Both run a full WSGI request
cycle through Django's ``WSGIHandler`` with the middleware first in a typical
stack, alternated round by round.

- ``drain.lbheartbeat`` (ours only; Mozilla's package has no drain mode): the
  probe with drain mode configured against the same probe with it off. Target:
  at most 1.15x.

Run: ``python bench/bench_drain.py`` (prints JSON lines), or ``make bench``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

import benchlib
import django
from django.conf import settings
from django.core.signals import setting_changed

STACK = [
    "dockerflow.django.middleware.DockerflowMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
NUMBER = 2000
urlpatterns: list[object] = []


def configure() -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-not-secret",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["dockerflow.django"],
        MIDDLEWARE=STACK,
        DATABASES={},
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()


def probe(drain_file: str | None) -> Callable[[], int]:
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()

    def one_request() -> int:
        # Switch the setting for this operation, and say so as override_settings
        # does (both sides pay the same for it).
        settings.DOCKERFLOW_DRAIN_FILE = drain_file
        setting_changed.send(
            sender=None, setting="DOCKERFLOW_DRAIN_FILE", value=drain_file, enter=True
        )
        response = handler(benchlib.wsgi_environ("/__lbheartbeat__"), benchlib.start_response)
        response.close()
        return int(response.status_code)

    return one_request


def main() -> None:
    if not benchlib.is_ours():
        return  # Mozilla's package has no drain mode: nothing to compare
    configure()
    with tempfile.TemporaryDirectory() as directory:
        drain_file = os.path.join(directory, "drain")
        off = probe(None)
        on = probe(drain_file)
        # Check each path does what it claims before timing it.
        assert off() == 200
        assert on() == 200
        open(drain_file, "w").close()
        assert on() == 503
        os.unlink(drain_file)
        off_s, on_s = benchlib.best_interleaved([off, on], number=NUMBER)
    benchlib.emit_baseline(
        "drain.lbheartbeat", on_s, off_s, "/__lbheartbeat__ with drain mode off", 1.15
    )


if __name__ == "__main__":
    main()
