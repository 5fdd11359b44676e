from __future__ import annotations

import pytest
from django.test import Client

from diary.accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_session_login_for_the_web_pages(owner: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/accounts/login/")
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value
    bad = browser.post("/accounts/login/", {"username": owner.email, "password": "nope", "csrfmiddlewaretoken": token})
    assert bad.status_code == 200 and b"did not match" in bad.content
    ok = browser.post("/accounts/login/", {"username": owner.email, "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert ok.status_code == 302 and ok["Location"] == "/"
    assert owner.email.encode() in browser.get("/").content
    # the session also authenticates API reads from the web pages
    assert browser.get("/api/v1/me").json()["email"] == owner.email
    # but a session write without the CSRF token is refused
    assert browser.patch("/api/v1/me", {"display_name": "x"}, content_type="application/json").status_code == 403


def test_login_page_without_a_session_and_the_home_page() -> None:
    browser = Client()
    assert b"Sign in" in browser.get("/").content
    assert browser.get("/accounts/login/").status_code == 200
