"""testproject URLs: one ordinary page beside the Dockerflow endpoints."""

from django.contrib import admin
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path


def index(request: HttpRequest) -> HttpResponse:
    """A plain page, to show that normal requests are served and logged."""
    return HttpResponse("testproject is running\n", content_type="text/plain")


def backends(request: HttpRequest) -> HttpResponse:
    """A page that uses the database and the cache, as most real pages do."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    hits = cache.get_or_set("testproject:backends", 0)
    return HttpResponse(f"database and cache answered ({hits})\n", content_type="text/plain")


urlpatterns = [
    path("", index, name="index"),
    path("backends/", backends, name="backends"),
    path("admin/", admin.site.urls),
]
