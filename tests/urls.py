"""URLs of the unit-test project: a few plain views beside the endpoints."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("index")


async def async_index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("async index")


def post_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse("posted")


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


urlpatterns = [
    path("", index, name="index"),
    path("async/", async_index, name="async-index"),
    path("post/", post_only, name="post"),
    path("boom/", boom, name="boom"),
]
