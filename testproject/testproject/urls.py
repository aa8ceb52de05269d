"""testproject URLs: one ordinary page beside the Dockerflow endpoints."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path


def index(request: HttpRequest) -> HttpResponse:
    """A plain page, to show that normal requests are served and logged."""
    return HttpResponse("testproject is running\n", content_type="text/plain")


urlpatterns = [
    path("", index, name="index"),
    path("admin/", admin.site.urls),
]
