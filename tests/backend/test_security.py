"""Protections from docs/security.md (OWASP API Security Top 10, 2023) that no feature test owns:
token forgery, property-level writes, body size, the per-person rate limit and response headers."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import jwt
import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from diary.accounts.models import User
from diary.accounts.throttles import PersonThrottle
from diary.checkins.models import CheckIn
from diary.episodes.models import Episode
from tests.conftest import assert_error, client_for, episode_body

pytestmark = pytest.mark.django_db


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


class TestTokens:
    """API2: only tokens this server signed, unexpired, of the access type, open the API."""

    def claims(self, user: User) -> dict[str, Any]:
        return dict(AccessToken.for_user(user).payload)

    def test_a_token_signed_with_another_key_is_401(self, owner: User) -> None:
        forged = jwt.encode(self.claims(owner), "not the server's key at all, 32+ bytes long", algorithm="HS256")
        assert_error(bearer(forged).get("/api/v1/episodes/"), 401)

    def test_an_unsigned_alg_none_token_is_401(self, owner: User) -> None:
        unsigned = jwt.encode(self.claims(owner), key="", algorithm="none")
        assert_error(bearer(unsigned).get("/api/v1/episodes/"), 401)

    def test_a_token_with_another_persons_id_but_our_signature_missing_is_401(self, owner: User, other: User) -> None:
        header, _, signature = str(AccessToken.for_user(owner)).split(".")
        swapped = jwt.encode({**self.claims(owner), "user_id": str(other.pk)}, "x" * 32, algorithm="HS256")
        tampered = ".".join([header, swapped.split(".")[1], signature])
        assert_error(bearer(tampered).get("/api/v1/episodes/"), 401)

    def test_an_expired_token_is_401(self, owner: User) -> None:
        token = AccessToken.for_user(owner)
        token.set_exp(lifetime=-dt.timedelta(seconds=1))
        assert_error(bearer(str(token)).get("/api/v1/episodes/"), 401)

    def test_a_refresh_token_is_not_an_access_token(self, owner: User) -> None:
        assert_error(bearer(str(RefreshToken.for_user(owner))).get("/api/v1/episodes/"), 401)


class TestPropertyLevel:
    """API3: a client cannot write fields it does not own (owner, server stamps, roles)."""

    def test_an_episode_cannot_be_written_into_another_persons_diary(self, owner: User, other: User) -> None:
        api = client_for(owner)
        body = episode_body(
            user=other.pk, user_id=other.pk, owner=other.pk, seq=10**9, deleted_at="2026-01-01T00:00:00Z"
        )
        r = api.post("/api/v1/episodes/", body, format="json")
        if r.status_code == 201:  # unknown fields ignored: the row is still the writer's own, stamped by the server
            episode = Episode.objects.get(uid=r.json()["id"])
            assert episode.user_id == owner.pk and episode.seq != 10**9 and episode.deleted_at is None
        else:
            assert_error(r, 400)
        assert not Episode.objects.filter(user=other).exists()

    def test_a_person_cannot_promote_themselves(self, owner: User) -> None:
        api = client_for(owner)
        for field in ({"is_staff": True}, {"is_superuser": True}, {"is_clinician": True}):
            api.patch("/api/v1/me", field, format="json")
        owner.refresh_from_db()
        assert not (owner.is_staff or owner.is_superuser or owner.is_clinician)


class TestResourceLimits:
    """API4: bodies, pages and request rates are bounded."""

    def test_an_oversized_body_is_413_in_the_error_shape_and_writes_nothing(self, owner: User) -> None:
        api = client_for(owner)
        big = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
        r = api.post("/api/v1/episodes/", episode_body(notes="x" * big), format="json")
        assert_error(r, 413, "body")
        raw = '{"date": "2026-01-01", "notes": "' + "y" * big + '"}'
        assert_error(api.generic("POST", "/api/v1/checkins/", raw, content_type="application/json"), 413, "body")
        assert not Episode.objects.exists() and not CheckIn.objects.exists()

    def test_requests_are_limited_per_person(self, owner: User, other: User, monkeypatch: pytest.MonkeyPatch) -> None:
        rates = dict(cast(dict[str, str], settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]))
        rates["user"] = "5/min"
        monkeypatch.setattr(PersonThrottle, "THROTTLE_RATES", rates)
        cache.clear()
        mine, theirs = client_for(owner), client_for(other)
        codes = [mine.get("/api/v1/episodes/").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        limited = assert_error(mine.get("/api/v1/checkins/"), 429)
        assert limited["error"] == "throttled"
        assert theirs.get("/api/v1/episodes/").status_code == 200  # one person's burst is not another's limit

    def test_the_default_rate_is_configured(self) -> None:
        assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == ["diary.accounts.throttles.PersonThrottle"]
        assert cast(dict[str, str], settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])["user"] == "1200/min"


class TestHeaders:
    """API8: health data is never cached by the way, nor framed, nor sniffed."""

    def test_api_answers_are_no_store_and_nosniff(self, owner: User) -> None:
        api = client_for(owner)
        for r in (api.get("/api/v1/episodes/"), api.get("/api/v1/me"), APIClient().get("/api/v1/episodes/")):
            assert r["Cache-Control"] == "no-store"
            assert r["X-Content-Type-Options"] == "nosniff"
            assert r["X-Frame-Options"] == "DENY"

    def test_a_host_we_do_not_serve_is_refused_in_the_error_shape(self) -> None:
        r = APIClient().get("/api/v1/episodes/", HTTP_HOST="evil.example.com")
        assert_error(r, 400)
