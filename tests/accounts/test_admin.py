"""The admin keeps the rules: synced diary tables are read-only there, every way of making an account
makes its sync state, the clinician flag obeys make_clinician's guard, and a lost authenticator is
reset by an audited action."""

from __future__ import annotations

import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.test import Client

from diary.accounts.models import TotpDevice, User
from diary.accounts.second_factor import tokens_for
from diary.accounts.totp import SESSION_KEY
from diary.checkins.models import CheckIn
from diary.episodes.models import Episode
from diary.outbox.models import OutboxEvent
from diary.sync.models import SyncState
from tests.conftest import PASSWORD, client_for, episode_body, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def root() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root@example.com", PASSWORD))
    return client


def test_synced_diary_tables_are_read_only_in_the_admin(root: Client, owner: User) -> None:
    assert client_for(owner).post("/api/v1/episodes", episode_body(), format="json").status_code == 201
    episode = Episode.objects.get(user=owner)
    assert root.get("/admin/diary/episode/").status_code == 200  # still visible
    assert root.get("/admin/diary/episode/add/").status_code == 403
    r = root.post(f"/admin/diary/episode/{episode.pk}/change/", {"pain": 1, "user": owner.pk})
    assert r.status_code == 403 or b"Change" not in r.content
    before = OutboxEvent.objects.count()
    episode.refresh_from_db()
    assert episode.pain != 1 and OutboxEvent.objects.count() == before
    assert root.post(f"/admin/diary/episode/{episode.pk}/delete/", {"post": "yes"}).status_code == 403
    assert root.get("/admin/diary/checkin/add/").status_code == 403
    assert Episode.objects.filter(pk=episode.pk).exists() and not CheckIn.objects.exists()


def test_an_account_made_in_the_admin_can_write_at_once(root: Client) -> None:
    r = root.post("/admin/accounts/user/add/", {"email": "made@example.com", "timezone": "Europe/Berlin",
                  "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"})  # fmt: skip
    assert r.status_code == 302, r.content[:2000]
    user = User.objects.get(email="made@example.com")
    assert SyncState.objects.filter(user=user).exists()
    assert client_for(user).post("/api/v1/episodes", episode_body(), format="json").status_code == 201


def test_createsuperuser_makes_the_sync_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", email="boss@example.com")
    user = User.objects.get(email="boss@example.com")
    assert SyncState.objects.filter(user=user).exists()
    assert client_for(user).post("/api/v1/episodes", episode_body(), format="json").status_code == 201


def _change(root: Client, user: User, **fields: str) -> object:
    body = {"email": user.email, "display_name": user.display_name, "timezone": user.timezone,
            "home_timezone": "", "device_timezone": "", "wake_time": "07:00", "sleep_time": "22:30",
            "is_active": "on", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}  # fmt: skip
    body.update(fields)
    return root.post(f"/admin/accounts/user/{user.pk}/change/", body)


def test_the_admin_cannot_make_a_diary_keeper_a_clinician(root: Client, owner: User) -> None:
    assert client_for(owner).post("/api/v1/episodes", episode_body(), format="json").status_code == 201
    r = _change(root, owner, is_clinician="on")
    assert r.status_code == 200 and b"keeps a diary" in r.content  # type: ignore[attr-defined]
    owner.refresh_from_db()
    assert not owner.is_clinician
    fresh = make_user("doctor-to-be@example.com")
    assert _change(root, fresh, is_clinician="on").status_code == 302  # type: ignore[attr-defined]
    fresh.refresh_from_db()
    assert fresh.is_clinician


def test_an_audited_action_resets_a_lost_authenticator(
    root: Client, clinician: User, caplog: pytest.LogCaptureFixture
) -> None:
    TotpDevice.objects.create(user=clinician, secret="JBSWY3DPEHPK3PXP")
    access = tokens_for(clinician, second_factor=True)["access"]
    web = Client()
    web.force_login(clinician)
    session = web.session
    session[SESSION_KEY] = clinician.pk  # this session passed the second factor
    session.save()
    assert web.get("/clinician/").status_code == 200
    with caplog.at_level(logging.WARNING):
        r = root.post("/admin/accounts/user/", {"action": "reset_totp", "_selected_action": [clinician.pk]})
    assert r.status_code == 302
    assert not TotpDevice.objects.filter(user=clinician).exists()
    entry = LogEntry.objects.get(object_id=str(clinician.pk))
    assert "authenticator" in entry.get_change_message()
    assert any("totp reset by admin" in rec.getMessage() for rec in caplog.records)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api.get("/api/v1/me").status_code == 401  # the tokens that passed the old code end
    r = web.get("/clinician/")  # and so does the web session that passed it
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
