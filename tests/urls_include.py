"""A URLconf that mounts the endpoints with include(), for projects without the middleware."""

from __future__ import annotations

from django.urls import include, path

from .urls import urlpatterns as plain_patterns

urlpatterns = [
    path("", include("dockerflow.django.urls")),
    path("ops/", include("dockerflow.django.urls", namespace="ops")),
    *plain_patterns,
]
