"""request_user: the signed-in person typed as our User, and a 401 should a view lose its guard."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from diary.accounts.models import User
from diary.accounts.request_user import request_user


def test_the_signed_in_person_comes_back_as_is() -> None:
    person = User(email="someone@example.org")
    http = RequestFactory().get("/")
    http.user = person
    assert request_user(http) is person  # a Django view's request
    drf = Request(http)
    drf.user = person
    assert request_user(drf) is person  # a DRF view's request


def test_an_anonymous_request_is_refused_not_passed_on() -> None:
    http = RequestFactory().get("/")
    http.user = AnonymousUser()
    with pytest.raises(NotAuthenticated):
        request_user(http)
    drf = Request(http)
    drf.user = AnonymousUser()
    with pytest.raises(NotAuthenticated):
        request_user(drf)
