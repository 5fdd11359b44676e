"""Red-flag alerts end to end: opened from REST and sync writes through the outbox, counted per
DOMAIN.md, resolved by an edit, escalated (repeats, clinicians, emergency contact), acknowledged,
and never lost or doubled (broker down, worker killed, the same push twice)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from backend.celery import app as celery_app
from diary.accounts.models import User
from diary.alerts.ladder import ladder_step
from diary.alerts.models import Alert
from diary.alerts.tasks import alerts_ongoing
from diary.notifications import inbox
from diary.notifications.delivery.sending import deliveries_due, deliveries_send
from diary.notifications.models import Notification, PushDelivery
from diary.outbox.models import OutboxEvent
from diary.outbox.services import outbox_process, outbox_requeue
from diary.sharing.services import share_invite, share_redeem
from tests.conftest import client_for, episode_body, make_user, run_outbox
from tests.diary.sync.helpers import changes, pull, push, raw_episode
from tests.diary.test_outbox import _reset_producer_pool
from tests.support.pushservers import Subscription, WebPushService, ec_public_raw

BREATHING = {"symptoms": ["breathing_difficulty"], "body_location": "chest", "pain": 5}


def log(user: User, **overrides: Any) -> dict[str, Any]:
    r = client_for(user).post("/api/v1/episodes", episode_body(**{"symptoms": [], **overrides}), format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def alerts(user: User) -> list[Alert]:
    return list(Alert.objects.filter(user=user).order_by("opened_at", "pk"))


@pytest.mark.django_db
class TestLifecycle:
    def test_an_urgent_episode_opens_one_alert_with_its_evidence_and_notifies_at_once(self, owner: User) -> None:
        episode = log(owner, **BREATHING)
        run_outbox()
        run_outbox()  # a redelivered event opens nothing twice
        (alert,) = alerts(owner)
        assert (alert.rule, alert.severity, alert.status, alert.episode_uid) == (
            "breathing_difficulty", "urgent", "open", episode["id"],
        )  # fmt: skip
        assert "emergency services" in alert.guidance and alert.ruleset_version == "1"
        assert alert.evidence
        (note,) = Notification.objects.filter(user=owner, kind="alert")
        assert note.alert_id == alert.uid and "emergency services" in note.body
        assert alert.next_repeat_at == alert.opened_at + dt.timedelta(minutes=15)
        # It reaches the phone in the synced alerts table.
        record = pull(client_for(owner), None)["changes"]["alerts"]["created"][0]
        assert record["id"] == alert.uid and record["severity"] == "urgent"

    def test_two_rules_on_one_episode_are_two_alerts(self, owner: User) -> None:
        log(owner, pain=9, symptoms=["weakness"])
        run_outbox()
        assert sorted(a.rule for a in alerts(owner)) == ["severe_pain", "weakness"]
        assert next(a for a in alerts(owner) if a.rule == "severe_pain").evidence == "pain 9 out of 10 (threshold 8)"

    def test_an_edit_that_removes_the_cause_resolves_and_a_return_reopens_the_same_alert(self, owner: User) -> None:
        uid = log(owner, pain=9)["id"]
        run_outbox()
        api = client_for(owner)
        api.patch(f"/api/v1/episodes/{uid}", {"pain": 3}, format="json")
        run_outbox()
        (alert,) = alerts(owner)
        assert alert.status == "resolved" and alert.resolved_at is not None
        api.patch(f"/api/v1/episodes/{uid}", {"pain": 10}, format="json")
        run_outbox()
        (again,) = alerts(owner)
        assert again.pk == alert.pk and again.status == "open" and again.evidence == "pain 10 out of 10 (threshold 8)"

    def test_deleting_the_episode_resolves_its_alerts(self, owner: User) -> None:
        uid = log(owner, pain=9)["id"]
        run_outbox()
        client_for(owner).delete(f"/api/v1/episodes/{uid}")
        run_outbox()
        assert [a.status for a in alerts(owner)] == ["resolved"]

    def test_a_long_episode_is_one_alert_that_rises_to_high(self, owner: User) -> None:
        uid = log(owner, duration_s=40 * 60)["id"]
        run_outbox()
        client_for(owner).patch(f"/api/v1/episodes/{uid}", {"duration_s": 150 * 60}, format="json")
        run_outbox()
        (alert,) = alerts(owner)
        assert (alert.rule, alert.severity) == ("long_episode", "high")
        assert Notification.objects.filter(user=owner, kind="alert").count() == 2  # told again when it rose

    def test_an_ongoing_episode_is_flagged_while_it_lasts(self, owner: User) -> None:
        started = timezone.now() - dt.timedelta(minutes=20)
        log(owner, duration_s=None, started_at=started.isoformat())
        run_outbox()
        assert alerts(owner) == []  # 20 minutes so far
        with time_machine.travel(started + dt.timedelta(minutes=31), tick=False):
            assert alerts_ongoing() == 1  # the 5-minute sweep
        (alert,) = alerts(owner)
        assert (alert.rule, alert.severity) == ("long_episode", "watch") and "still going on" in alert.evidence

    def test_window_rules_open_at_most_one_alert_per_rule_per_7_days(self, owner: User) -> None:
        now = timezone.now()
        log(owner, started_at=(now - dt.timedelta(days=30)).isoformat())  # a diary kept for a month
        for i in range(10):
            log(owner, started_at=(now - dt.timedelta(hours=10 * i + 1)).isoformat())
        run_outbox()
        # Ten in a week, none in the 3 weeks before: frequent, and a significant rising trend over 28
        # days (persistent; the diary covers the earlier period, test_alert_days.py shows why it must).
        assert sorted(a.rule for a in alerts(owner)) == ["frequent", "persistent"]
        log(owner, started_at=(now - dt.timedelta(minutes=30)).isoformat())
        run_outbox()
        assert sorted(a.rule for a in alerts(owner)) == ["frequent", "persistent"]
        assert all(a.episode_uid is None for a in alerts(owner))

    def test_fluid_changes_from_check_ins(self, owner: User) -> None:
        api = client_for(owner)
        today = timezone.now().astimezone(dt.UTC).date()
        for i in range(3):
            api.put(f"/api/v1/checkins/{today - dt.timedelta(days=i + 1)}", {"fluid_changes": True}, format="json")
        run_outbox()
        assert [(a.rule, a.severity) for a in alerts(owner)] == [("fluid_changes", "watch")]

    def test_the_same_episode_pushed_twice_by_sync_yields_one_alert(self, owner: User) -> None:
        api = client_for(owner)
        last = pull(api, None)["timestamp"]
        record = raw_episode("sync-ep-1", symptoms='["breathing_difficulty"]', body_location="neck")
        push(api, last, changes(episodes={"created": [record], "updated": [], "deleted": []}))
        push(api, last, changes(episodes={"created": [record], "updated": [], "deleted": []}))  # a lost response
        run_outbox()
        assert [(a.rule, a.episode_uid) for a in alerts(owner)] == [("breathing_difficulty", "sync-ep-1")]


@pytest.mark.django_db
class TestLadder:
    def test_urgent_repeats_every_15_minutes_at_most_4_times(self, owner: User) -> None:
        log(owner, **BREATHING)
        run_outbox()
        start = timezone.now()
        for minutes in (14, 15, 30, 45, 60, 75, 90, 200):
            with time_machine.travel(start + dt.timedelta(minutes=minutes, seconds=5), tick=False):
                ladder_step()
        (alert,) = alerts(owner)
        assert alert.repeats == 4 and alert.next_repeat_at is None
        titles = list(Notification.objects.filter(user=owner, kind="alert").values_list("title", flat=True))
        assert len(titles) == 5 and sum(t.startswith("Still urgent") for t in titles) == 4

    def test_acknowledging_stops_the_repeats_and_the_contact_email(self, owner: User) -> None:
        client_for(owner).patch(
            "/api/v1/me", {"emergency_contact_name": "Sam", "emergency_contact_email": "sam@example.com"}, format="json"
        )
        log(owner, **BREATHING)
        run_outbox()
        alert = alerts(owner)[0]
        r = client_for(owner).post(f"/api/v1/alerts/{alert.uid}/acknowledge")
        assert r.status_code == 200 and r.json()["status"] == "acknowledged"
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=20), tick=False):
            assert ladder_step() == 0
        run_outbox()
        assert mail.outbox == [] and Notification.objects.filter(user=owner, kind="alert").count() == 1

    def test_an_unacknowledged_urgent_alert_emails_the_emergency_contact_once(self, owner: User) -> None:
        client_for(owner).patch(
            "/api/v1/me", {"emergency_contact_name": "Sam", "emergency_contact_email": "sam@example.com"}, format="json"
        )
        log(owner, **BREATHING)
        run_outbox()
        for minutes in (16, 31):
            with time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=False):
                ladder_step()
                run_outbox()
        (email,) = [m for m in mail.outbox if "sam@example.com" in m.to]
        assert "emergency services" in email.body

    def test_high_and_urgent_alerts_email_the_clinicians_sharing_alerts(self, owner: User, clinician: User) -> None:
        _, code = share_invite(patient=owner, data={"scopes": ["alerts"]})
        share_redeem(clinician=clinician, code=code)
        other_doc = make_user("nodoc-alerts@example.com")
        other_doc.is_clinician = True
        other_doc.save()
        _, code2 = share_invite(patient=owner, data={"scopes": ["episodes"]})  # no alerts scope
        share_redeem(clinician=other_doc, code=code2)
        log(owner, pain=9)
        log(owner, duration_s=40 * 60)  # watch only: no clinician email
        for _ in range(3):  # the write's evaluation, the per-clinician fan-out, the email
            run_outbox()
        assert [m.to for m in mail.outbox] == [[clinician.email]]
        assert "has a new high alert" in mail.outbox[0].body and "pain" not in mail.outbox[0].body  # see test_mail.py


@pytest.mark.django_db
class TestApi:
    def test_list_filter_and_isolation(self, owner: User, other: User, clinician: User) -> None:
        log(owner, pain=9)
        run_outbox()
        alert = alerts(owner)[0]
        api = client_for(owner)
        body = api.get("/api/v1/alerts?status=open").json()
        assert [a["id"] for a in body["results"]] == [alert.uid] and body["results"][0][
            "evidence"
        ] == "pain 9 out of 10 (threshold 8)"
        assert api.get("/api/v1/alerts?status=resolved").json()["results"] == []
        assert api.get("/api/v1/alerts?status=maybe").status_code == 400
        intruder = client_for(other)
        assert intruder.get(f"/api/v1/alerts/{alert.uid}").status_code == 404
        assert intruder.post(f"/api/v1/alerts/{alert.uid}/acknowledge").status_code == 404
        assert intruder.get("/api/v1/alerts").json()["results"] == []
        assert client_for(clinician).get("/api/v1/alerts").status_code == 403
        assert APIClient().get("/api/v1/alerts").status_code == 401
        alert.refresh_from_db()
        assert alert.status == "open"

    def test_acknowledging_over_sync(self, owner: User) -> None:
        log(owner, pain=9)
        run_outbox()
        api = client_for(owner)
        first = pull(api, None)
        uid = first["changes"]["alerts"]["created"][0]["id"]
        ack = {"id": uid, "acknowledged_at": 1_768_300_000_000}
        push(api, first["timestamp"], changes(alerts={"created": [], "updated": [ack], "deleted": []}))
        assert Alert.objects.get(uid=uid).status == "acknowledged"


# --- nothing lost, nothing doubled (acceptance B) ----------------------------------------------------------


@pytest.fixture
def phone(webpush_on: None, push_service: WebPushService, vapid_key: ec.EllipticCurvePrivateKey) -> Iterator[Any]:
    def register(user: User) -> Subscription:
        sub = push_service.subscribe(application_server_key=ec_public_raw(vapid_key))
        body = {"platform": "webpush", "token": sub.endpoint, "keys": sub.keys}
        assert client_for(user).post("/api/v1/devices", body, format="json").status_code == 201
        return sub

    yield register


def pushed_ids(service: WebPushService, sub: Subscription) -> list[str]:
    return [p.payload["notification_id"] for p in service.received if p.subscription_id == sub.id]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_broker_down_an_urgent_episode_is_accepted_and_alerted_after_it_returns(
    phone: Any, push_service: WebPushService
) -> None:
    user = make_user("broker-down@example.com")
    sub = phone(user)
    good = celery_app.conf.broker_url
    _reset_producer_pool("redis://127.0.0.1:1/0")  # nothing listens there: the broker is down
    try:
        r = client_for(user).post("/api/v1/episodes", episode_body(**BREATHING), format="json")
        assert r.status_code == 201
    finally:
        _reset_producer_pool(good)
    assert not Alert.objects.filter(user=user).exists()  # the intent waits in the outbox
    OutboxEvent.objects.update(available_at=timezone.now())
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert outbox_requeue() >= 1  # the beat's sweep, once the broker is back
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not pushed_ids(push_service, sub):
            time.sleep(0.05)
    (alert,) = Alert.objects.filter(user=user)
    (note,) = Notification.objects.filter(user=user, kind="alert")
    assert note.alert_id == alert.uid and pushed_ids(push_service, sub) == [note.uid]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_the_alert_but_before_delivery_loses_and_doubles_nothing(
    phone: Any, push_service: WebPushService, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user("killed@example.com")
    sub = phone(user)
    assert client_for(user).post("/api/v1/episodes", episode_body(**BREATHING), format="json").status_code == 201
    # The worker runs the handler (alert, inbox row, pending push commit together) and dies right
    # after the commit, before it sends the push itself. A redelivery of the outbox message then
    # finds the work done.
    monkeypatch.setattr(inbox, "_push_here", lambda ids: None)  # the process is gone: nothing after commit runs
    assert run_outbox() == 3  # the episode's rows: one per handler (red flags, insights, reminders)
    assert run_outbox() == 1  # the clinicians' email intent it raised (nobody shares alerts: no mail)
    assert run_outbox() == 0
    red_flags = OutboxEvent.objects.get(topic="episode.written", handler="diary.alerts.handlers.episode_written")
    assert outbox_process(event_id=red_flags.pk) is False
    (note,) = Notification.objects.filter(user=user, kind="alert")
    assert pushed_ids(push_service, sub) == []
    # The sweeper finds the pending push once its wake-up is overdue and sends it.
    PushDelivery.objects.update(next_attempt_at=timezone.now())
    assert deliveries_send(ids=deliveries_due()).sent == 1
    assert deliveries_send(ids=deliveries_due()).sent == 0
    assert pushed_ids(push_service, sub) == [note.uid]
    assert Alert.objects.filter(user=user).count() == 1
    assert Notification.objects.filter(user=user, kind="alert").count() == 1


@pytest.mark.django_db
def test_an_old_episode_from_an_offline_backlog_raises_no_alarm(owner: User) -> None:
    log(owner, pain=10, started_at=(timezone.now() - dt.timedelta(days=20)).isoformat())
    log(owner, pain=10, started_at=(timezone.now() - dt.timedelta(days=6)).isoformat())
    run_outbox()
    assert [a.rule for a in alerts(owner)] == ["severe_pain"]
