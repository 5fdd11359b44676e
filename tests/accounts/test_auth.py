from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import get_hasher
from django.core import mail
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.accounts.throttles import AuthBurstThrottle, AuthThrottle
from diary.sync.models import SyncState
from reminders.models import ReminderRule
from tests.conftest import PASSWORD, assert_error, client_for, episode_body, make_user

pytestmark = pytest.mark.django_db

REGISTER = {"email": "New.Person@Example.com", "password": PASSWORD, "timezone": "Australia/Adelaide"}


class TestRegister:
    def test_registers_with_tokens_and_a_sequence_starting_at_1(self, anon: APIClient) -> None:
        r = anon.post("/api/v1/auth/register", {**REGISTER, "wake_time": "06:30", "sleep_time": "23:00"}, format="json")
        assert r.status_code == 201, r.json()
        body = r.json()
        assert body["user"]["email"] == "new.person@example.com"
        assert body["user"]["timezone"] == "Australia/Adelaide"
        assert body["user"]["wake_time"] == "06:30" and body["user"]["is_clinician"] is False
        user = User.objects.get(email="new.person@example.com")
        # The sequence starts at 1 and stamped the two default reminders (water, evening stretch).
        kinds = sorted(ReminderRule.objects.filter(user=user).values_list("kind", flat=True))
        assert kinds == ["hydration", "stretching"]
        assert SyncState.objects.get(user=user).seq == 1 + len(kinds)
        assert "password" not in body["user"]
        me = APIClient()
        me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
        assert me.get("/api/v1/me").json()["email"] == "new.person@example.com"

    def test_cannot_register_as_clinician(self, anon: APIClient) -> None:
        r = anon.post("/api/v1/auth/register/", {**REGISTER, "is_clinician": True}, format="json")
        assert r.status_code == 201
        assert User.objects.get().is_clinician is False

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"timezone": ""}, "timezone"),
            ({"home_timezone": "CET+1"}, "home_timezone"),
            ({"email": "not-an-email"}, "email"),
            ({"password": "short"}, "password"),
            ({"password": "password123"}, "password"),
            ({"wake_time": "7am"}, "wake_time"),
            ({"wake_time": "07:00", "sleep_time": "07:00"}, "sleep_time"),
        ],
    )
    def test_bad_input(self, anon: APIClient, change: dict[str, str], field: str) -> None:
        assert_error(anon.post("/api/v1/auth/register", {**REGISTER, **change}, format="json"), 400, field)
        assert not User.objects.exists()

    def test_duplicate_email_any_case(self, anon: APIClient) -> None:
        anon.post("/api/v1/auth/register", REGISTER, format="json")
        r = anon.post("/api/v1/auth/register", {**REGISTER, "email": "NEW.person@example.COM"}, format="json")
        assert_error(r, 400, "email")
        assert User.objects.count() == 1

    def test_malformed_json(self, anon: APIClient) -> None:
        r = anon.generic("POST", "/api/v1/auth/register", "{nope", content_type="application/json")
        assert assert_error(r, 400, "body")["error"] == "malformed_json"


class TestTokens:
    def test_token_refresh_rotation_and_logout(self, anon: APIClient, owner: User) -> None:
        r = anon.post("/api/v1/auth/token", {"email": owner.email, "password": PASSWORD}, format="json")
        assert r.status_code == 200
        refresh = r.json()["refresh"]
        r2 = anon.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
        assert r2.status_code == 200 and r2.json()["refresh"] != refresh
        # rotation: the old refresh token is spent
        assert_error(anon.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json"), 401)
        new_refresh = r2.json()["refresh"]
        assert anon.post("/api/v1/auth/logout", {"refresh": new_refresh}, format="json").status_code == 204
        assert_error(anon.post("/api/v1/auth/token/refresh", {"refresh": new_refresh}, format="json"), 401)
        assert_error(anon.post("/api/v1/auth/logout", {"refresh": "garbage"}, format="json"), 400, "refresh")
        assert_error(anon.post("/api/v1/auth/logout", {"refresh": new_refresh}, format="json"), 400, "refresh")

    def test_wrong_password_and_missing_fields(self, anon: APIClient, owner: User) -> None:
        assert_error(anon.post("/api/v1/auth/token", {"email": owner.email, "password": "nope"}, format="json"), 401)
        assert_error(anon.post("/api/v1/auth/token", {"email": owner.email}, format="json"), 400, "password")

    def test_every_answer_of_the_token_endpoints_is_documented(
        self, anon: APIClient, owner: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Found by the fuzzer: simplejwt's views documented only their 200."""
        paths = anon.get("/api/schema/?format=json").json()["paths"]
        token, refresh = "/api/v1/auth/token/", "/api/v1/auth/token/refresh/"
        answers = [
            (token, anon.post("/api/v1/auth/token", {"email": owner.email}, format="json")),
            (token, anon.post("/api/v1/auth/token", {"email": owner.email, "password": "nope"}, format="json")),
            (refresh, anon.post("/api/v1/auth/token/refresh", {}, format="json")),
            (refresh, anon.post("/api/v1/auth/token/refresh", {"refresh": "garbage"}, format="json")),
        ]
        monkeypatch.setattr(AuthBurstThrottle, "THROTTLE_RATES", {"auth": "100/min", "auth_burst": "1/sec"})
        answers.append((token, anon.post("/api/v1/auth/token", {"email": owner.email}, format="json")))
        assert [r.status_code for _, r in answers] == [400, 401, 400, 401, 429]
        for path, r in answers:
            documented = paths[path]["post"]["responses"][str(r.status_code)]
            assert documented["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            assert set(r.json()) == {"error", "message", "details"}

    def test_access_token_of_a_deactivated_person_is_refused(self, owner: User) -> None:
        api = client_for(owner)
        owner.is_active = False
        owner.save()
        assert_error(api.get("/api/v1/me"), 401)


class TestPasswords:
    def test_change_revokes_refresh_tokens(self, anon: APIClient, owner: User) -> None:
        refresh = anon.post("/api/v1/auth/token", {"email": owner.email, "password": PASSWORD}, format="json").json()[
            "refresh"
        ]
        api = client_for(owner)
        assert_error(
            api.post(
                "/api/v1/auth/password/change",
                {"old_password": "wrong", "new_password": "another long phrase 7"},
                format="json",
            ),
            400,
            "old_password",
        )
        assert_error(
            api.post("/api/v1/auth/password/change", {"old_password": PASSWORD, "new_password": "123"}, format="json"),
            400,
            "password",
        )
        r = api.post(
            "/api/v1/auth/password/change",
            {"old_password": PASSWORD, "new_password": "another long phrase 7"},
            format="json",
        )
        assert r.status_code == 204
        assert_error(anon.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json"), 401)
        assert (
            anon.post(
                "/api/v1/auth/token", {"email": owner.email, "password": "another long phrase 7"}, format="json"
            ).status_code
            == 200
        )

    def test_reset_by_email_through_the_outbox(
        self, anon: APIClient, owner: User, django_capture_on_commit_callbacks
    ) -> None:  # type: ignore[no-untyped-def]
        from diary.outbox.models import OutboxEvent
        from diary.outbox.services import outbox_process

        assert (
            anon.post("/api/v1/auth/password/reset", {"email": "nobody@example.com"}, format="json").status_code == 202
        )
        assert (
            anon.post("/api/v1/auth/password/reset", {"email": owner.email.upper()}, format="json").status_code == 202
        )
        event = OutboxEvent.objects.get(topic="account.password_reset")
        assert outbox_process(event_id=event.pk) is True
        assert outbox_process(event_id=event.pk) is False  # idempotent: a redelivery sends nothing
        assert len(mail.outbox) == 1 and mail.outbox[0].to == [owner.email]
        uid = re.search(r"uid: (\S+)", str(mail.outbox[0].body)).group(1)  # type: ignore[union-attr]
        token = re.search(r"token: (\S+)", str(mail.outbox[0].body)).group(1)  # type: ignore[union-attr]
        bad = anon.post(
            "/api/v1/auth/password/reset/confirm",
            {"uid": uid, "token": "x-y", "new_password": "fresh phrase 2027"},
            format="json",
        )
        assert_error(bad, 400, "token")
        ok = anon.post(
            "/api/v1/auth/password/reset/confirm",
            {"uid": uid, "token": token, "new_password": "fresh phrase 2027"},
            format="json",
        )
        assert ok.status_code == 204
        # single use: the token dies with the old password
        again = anon.post(
            "/api/v1/auth/password/reset/confirm",
            {"uid": uid, "token": token, "new_password": "other phrase 2028"},
            format="json",
        )
        assert_error(again, 400, "token")
        owner.refresh_from_db()
        assert owner.check_password("fresh phrase 2027")

    def test_argon2_is_the_production_hasher(self, settings) -> None:  # type: ignore[no-untyped-def]
        from backend.settings import base

        assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
        settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
        user = make_user("argon@example.com")
        assert user.password.startswith("argon2$")
        assert get_hasher("default").algorithm == "argon2"


class TestMe:
    def test_get_and_patch(self, api: APIClient) -> None:
        r = api.patch("/api/v1/me/", {"device_timezone": "America/Sao_Paulo", "wake_time": "06:00"}, format="json")
        assert r.status_code == 200
        assert r.json()["device_timezone"] == "America/Sao_Paulo" and r.json()["wake_time"] == "06:00"

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"timezone": "Nowhere/City"}, "timezone"),
            ({"device_timezone": "UTC+3"}, "device_timezone"),
            ({"sleep_time": "25:00"}, "sleep_time"),
            ({"is_clinician": True}, "is_clinician"),
            ({"email": "x@example.com"}, "email"),
        ],
    )
    def test_bad_patch(self, api: APIClient, owner: User, change: dict[str, object], field: str) -> None:
        assert_error(api.patch("/api/v1/me", change, format="json"), 400, field)
        owner.refresh_from_db()
        assert owner.is_clinician is False and owner.timezone == "Europe/Berlin"

    def test_the_schema_describes_waking_times_as_they_are_sent(self, api: APIClient) -> None:
        """Found by the fuzzer: HH:MM was documented as RFC 3339 ``format: time``, which "07:00" is not."""
        me = api.get("/api/v1/me").json()
        schemas = api.get("/api/schema/?format=json").json()["components"]["schemas"]
        for component in ("Me", "PatchedMeRequest", "RegisterInRequest"):
            for name in ("wake_time", "sleep_time"):
                field = schemas[component]["properties"][name]
                assert field["type"] == "string" and "format" not in field, (component, field)
                assert re.fullmatch(field["pattern"], me[name]) and not re.fullmatch(field["pattern"], "07:00:00")

    def test_anonymous(self, anon: APIClient) -> None:
        assert_error(anon.get("/api/v1/me"), 401)
        assert_error(anon.patch("/api/v1/me", {"timezone": "UTC"}, format="json"), 401)


class TestThrottle:
    def test_auth_endpoints_are_throttled(self, anon: APIClient, owner: User, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(AuthThrottle, "THROTTLE_RATES", {"auth": "3/min", "auth_burst": "100/sec"})
        monkeypatch.setattr(AuthBurstThrottle, "THROTTLE_RATES", {"auth": "3/min", "auth_burst": "100/sec"})
        codes = [
            anon.post("/api/v1/auth/token", {"email": owner.email, "password": "bad"}, format="json").status_code
            for _ in range(5)
        ]
        assert codes == [401, 401, 401, 429, 429]
        assert_error(anon.post("/api/v1/auth/token", {"email": owner.email, "password": "bad"}, format="json"), 429)

    def test_throttles_fail_open_when_redis_is_down(
        self, anon: APIClient, settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:  # type: ignore[no-untyped-def]
        monkeypatch.setattr(AuthThrottle, "THROTTLE_RATES", {"auth": "3/min", "auth_burst": "100/sec"})
        monkeypatch.setattr(AuthBurstThrottle, "THROTTLE_RATES", {"auth": "3/min", "auth_burst": "100/sec"})
        settings.CACHES = {
            "default": {
                "BACKEND": "backend.cache.FailOpenRedisCache",
                "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
                "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
            }
        }
        from django.core.cache import cache

        cache.set("probe", 1)  # swallowed, not raised
        assert cache.get("probe") is None  # Redis really is unreachable here
        r = anon.post("/api/v1/auth/register", REGISTER, format="json")
        assert r.status_code == 201
        # with no memory of attempts the throttle lets every attempt through instead of failing
        codes = [
            anon.post("/api/v1/auth/token", {"email": REGISTER["email"], "password": "bad"}, format="json").status_code
            for _ in range(5)
        ]
        assert codes == [401] * 5
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {r.json()['access']}")
        assert api.post("/api/v1/episodes/", episode_body(), format="json").status_code == 201


class TestClinicianFlag:
    def test_make_clinician_command(self, db: None) -> None:
        doc = make_user("newdoc@example.com")
        call_command("make_clinician", "NEWDOC@example.com")
        doc.refresh_from_db()
        assert doc.is_clinician

    def test_refuses_an_account_with_a_diary(self, owner: User) -> None:
        client_for(owner).post("/api/v1/episodes/", episode_body(), format="json")
        with pytest.raises(CommandError, match="keeps a diary"):
            call_command("make_clinician", owner.email)
        owner.refresh_from_db()
        assert not owner.is_clinician
        call_command("make_clinician", owner.email, "--allow-diary")
        owner.refresh_from_db()
        assert owner.is_clinician

    def test_unknown_email(self, db: None) -> None:
        with pytest.raises(CommandError, match="no account"):
            call_command("make_clinician", "ghost@example.com")
