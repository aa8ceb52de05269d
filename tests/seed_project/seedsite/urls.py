"""URLs of the seed's project: the Views section's include, in today's spelling."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def index(request: HttpRequest) -> HttpResponse:
    """A page of the project itself, to see its request.summary line."""
    return HttpResponse("seedsite")


# seed: url(r'^$', include('dockerflow.django.urls', namespace='dockerflow'))
# -> path('', ...): django.conf.urls.url was removed in Django 4.0, and a '^$'
# prefix matches only the empty path, so the endpoints were never reached.
urlpatterns = [
    path("", include("dockerflow.django.urls", namespace="dockerflow")),
    path("", index, name="index"),
]
