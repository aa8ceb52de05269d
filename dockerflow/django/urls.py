"""URL patterns for projects that mount the endpoints with ``include()``.

``path("", include("dockerflow.django.urls"))`` serves the same views as the
middleware. Prefer the middleware: it answers before any other middleware.
"""

from __future__ import annotations

from django.urls import re_path

from . import views

__all__ = ["app_name", "urlpatterns"]

app_name = "dockerflow"

urlpatterns = [
    re_path(r"^__version__/?$", views.version, name="version"),
    re_path(r"^__heartbeat__/?$", views.heartbeat, name="heartbeat"),
    re_path(r"^__lbheartbeat__/?$", views.lbheartbeat, name="lbheartbeat"),
    re_path(r"^__error__/?$", views.error, name="error"),
]
