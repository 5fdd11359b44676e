"""The app's URLconf plus the plain baseline routes. These come last, so the baseline pays at least
as much URL resolution as the DRF endpoint it is compared with."""

from django.urls import path

from backend.urls import handler404, handler500
from backend.urls import urlpatterns as app_urlpatterns
from bench import views

__all__ = ["handler404", "handler500", "urlpatterns"]

urlpatterns = [
    *app_urlpatterns,
    path("bench/plain/ok", views.plain_ok, name="bench-plain-ok"),
    path("bench/drf/ok", views.TrivialApi.as_view(), name="bench-drf-ok"),
    path("bench/plain/episodes", views.plain_episodes, name="bench-plain-episodes"),
    path("bench/plain/episodes-orm", views.plain_create_orm, name="bench-plain-create-orm"),
]
