"""The page the password-reset email links to: it exists, sets the new password with the same
validation as the API, works once and expires, and signs out every session and token."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from diary.accounts.models import User
from tests.conftest import PASSWORD, run_outbox

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another sturdy phrase 77"


def emailed_link(user: User) -> str:
    """Ask for a reset as the app does; the path and query of the link in the mail the worker sends."""
    assert APIClient().post("/api/v1/auth/password/reset", {"email": user.email}, format="json").status_code == 202
    run_outbox()
    found = re.search(r"https?://\S+/reset-password\?\S+", str(mail.outbox[-1].body))
    assert found, mail.outbox[-1].body
    parts = urlsplit(found[0])
    return f"{parts.path}?{parts.query}"


def sign_in(user: User, password: str) -> int:
    body = {"email": user.email, "password": password}
    return APIClient().post("/api/v1/auth/token", body, format="json").status_code


def choose(link: str, password: str, again: str | None = None) -> object:
    return Client().post(link, {"new_password": password, "new_password_again": password if again is None else again})


def test_the_emailed_link_opens_a_page_that_sets_the_password_and_signs_out_everything(owner: User) -> None:
    access = APIClient().post("/api/v1/auth/token", {"email": owner.email, "password": PASSWORD}, format="json")
    token = access.json()["access"]
    browser = Client()
    assert browser.login(email=owner.email, password=PASSWORD)
    link = emailed_link(owner)
    page = Client().get(link)
    assert page.status_code == 200 and b'name="new_password"' in page.content
    done = choose(link, NEW_PASSWORD)
    assert done.status_code == 200 and b"signed out" in done.content  # type: ignore[attr-defined]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/me").status_code == 401  # the old access token, at once
    assert browser.get("/api/v1/me").status_code in (401, 403)  # the old web session
    assert sign_in(owner, PASSWORD) == 401 and sign_in(owner, NEW_PASSWORD) == 200


def test_the_link_works_once(owner: User) -> None:
    link = emailed_link(owner)
    assert choose(link, NEW_PASSWORD).status_code == 200  # type: ignore[attr-defined]
    again = Client().get(link)
    assert again.status_code == 400 and b"invalid or has expired" in again.content
    assert choose(link, "yet another sturdy phrase 5").status_code == 400  # type: ignore[attr-defined]
    assert sign_in(owner, NEW_PASSWORD) == 200


def test_the_link_expires(owner: User) -> None:
    link = emailed_link(owner)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)):
        assert Client().get(link).status_code == 400
        assert choose(link, NEW_PASSWORD).status_code == 400  # type: ignore[attr-defined]
    assert sign_in(owner, PASSWORD) == 200


@pytest.mark.parametrize(
    ("password", "again", "reason"),
    [
        ("password123", None, b"too common"),
        ("short", None, b"too short"),
        (NEW_PASSWORD, "something else entirely 9", b"do not match"),
    ],
)
def test_a_weak_or_mistyped_password_is_refused_with_the_reason(
    owner: User, password: str, again: str | None, reason: bytes
) -> None:
    link = emailed_link(owner)
    r = choose(link, password, again)
    assert r.status_code == 400 and reason in r.content  # type: ignore[attr-defined]
    assert sign_in(owner, PASSWORD) == 200
    assert Client().get(link).status_code == 200  # a refused password does not spend the link
