"""URLs of the benchmark project: django-health-check's view, named for its command."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from health_check.views import HealthCheckView

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "health/",
        HealthCheckView.as_view(checks=["health_check.checks.Database"]),
        name="health_check",
    ),
    path("", include("dockerflow.django.urls")),
]
