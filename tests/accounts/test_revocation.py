"""Revocation at once: logout, a password change or reset, and account deletion end access tokens on
their next request, not up to 15 minutes later (the per-account token epoch)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from diary.accounts.models import User
from tests.conftest import PASSWORD, assert_error, run_outbox

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another sturdy phrase 77"


def sign_in(user: User, password: str = PASSWORD) -> dict[str, str]:
    r = APIClient().post("/api/v1/auth/token", {"email": user.email, "password": password}, format="json")
    assert r.status_code == 200, r.json()
    return r.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def refused(tokens: dict[str, str]) -> None:
    """Both tokens of a login are dead: the access token on a read, the refresh token on refresh."""
    assert_error(bearer(tokens["access"]).get("/api/v1/me"), 401)
    assert_error(APIClient().post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"), 401)


class TestRevocation:
    def test_logout_ends_access_tokens_at_once_on_every_device(self, owner: User) -> None:
        phone, tablet = sign_in(owner), sign_in(owner)
        assert bearer(phone["access"]).get("/api/v1/me").status_code == 200
        r = APIClient().post("/api/v1/auth/logout", {"refresh": phone["refresh"]}, format="json")
        assert r.status_code == 204
        refused(phone)
        refused(tablet)
        assert bearer(sign_in(owner)["access"]).get("/api/v1/me").status_code == 200  # a new sign-in works

    def test_password_change_ends_access_tokens_at_once(self, owner: User) -> None:
        this, other = sign_in(owner), sign_in(owner)
        body = {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
        assert bearer(this["access"]).post("/api/v1/auth/password/change", body, format="json").status_code == 204
        refused(this)
        refused(other)
        assert bearer(sign_in(owner, NEW_PASSWORD)["access"]).get("/api/v1/me").status_code == 200

    def test_password_reset_ends_access_tokens_at_once(self, owner: User) -> None:
        tokens = sign_in(owner)
        assert APIClient().post("/api/v1/auth/password/reset", {"email": owner.email}, format="json").status_code == 202
        run_outbox()
        found = re.search(r"uid: (\S+)\ntoken: (\S+)", str(mail.outbox[-1].body))
        assert found
        body = {"uid": found[1], "token": found[2], "new_password": NEW_PASSWORD}
        assert APIClient().post("/api/v1/auth/password/reset/confirm", body, format="json").status_code == 204
        refused(tokens)

    def test_deleted_account_tokens_answer_401_not_500(self, owner: User) -> None:
        tokens = sign_in(owner)
        r = bearer(tokens["access"]).delete("/api/v1/me", {"password": PASSWORD}, format="json")
        assert r.status_code == 204
        refused(tokens)

    def test_clinician_tokens_from_the_code_check_carry_the_epoch(self, clinician: User) -> None:
        from diary.accounts.revocation import user_end_tokens
        from diary.accounts.second_factor import tokens_for

        tokens = tokens_for(clinician, second_factor=True)
        assert bearer(tokens["access"]).get("/api/v1/me").status_code == 200
        user_end_tokens(user_id=clinician.pk)
        refused(tokens)

    def test_the_epoch_check_reads_the_user_row_once(self, owner: User) -> None:
        access = sign_in(owner)["access"]
        with CaptureQueriesContext(connection) as queries:
            assert bearer(access).get("/api/v1/me").status_code == 200
        user_reads = [q["sql"] for q in queries.captured_queries if 'FROM "accounts_user"' in q["sql"]]
        assert len(user_reads) == 1, user_reads
