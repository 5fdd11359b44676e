"""Devices and push delivery, end to end: the dispatcher's inbox row reaches a real Web Push service on
loopback (VAPID-signed, encrypted), with retries, dead tokens and a real Celery worker on Redis."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import override_settings
from django.utils import timezone

from backend.celery import app as celery_app
from diary.accounts.models import User
from diary.notifications.delivery import registry
from diary.notifications.delivery.sending import deliveries_due, deliveries_send
from diary.notifications.inbox import notification_notify
from diary.notifications.models import Device, Notification, PushDelivery
from diary.notifications.tasks import push_sweep
from reminders.dispatch import dispatch_due
from reminders.models import ReminderRule
from reminders.tasks import dispatch_reminders
from tests.conftest import assert_error, client_for
from tests.diary.test_outbox import _reset_producer_pool
from tests.push_fixtures import KEY_ID, TEAM_ID, TOPIC
from tests.support.pushservers import (
    ApnsServer,
    FcmServer,
    Subscription,
    TlsFiles,
    WebPushService,
    b64url,
    ec_public_raw,
)

SUBJECT = "mailto:ops@example.com"


@pytest.fixture(autouse=True)
def webpush_configured(webpush_on: None) -> None:
    """Every test here runs with Web Push configured."""


def subscribe(service: WebPushService, key: ec.EllipticCurvePrivateKey) -> Subscription:
    return service.subscribe(application_server_key=ec_public_raw(key))


def register(user: User, sub: Subscription, **extra: Any) -> Any:
    body = {"platform": "webpush", "token": sub.endpoint, "keys": sub.keys, **extra}
    return client_for(user).post("/api/v1/devices", body, format="json")


def due_reminder(user: User) -> ReminderRule:
    r = client_for(user).post(
        "/api/v1/reminders", {"kind": "stretching", "schedule": "times", "times": ["08:00"]}, format="json"
    )
    assert r.status_code == 201, r.json()
    ReminderRule.objects.filter(uid=r.json()["id"]).update(next_fire_at=timezone.now() - dt.timedelta(seconds=5))
    return ReminderRule.objects.get(uid=r.json()["id"])


def received_for(service: WebPushService, sub: Subscription) -> list[dict[str, Any]]:
    return [p.payload for p in service.received if p.subscription_id == sub.id]


@pytest.mark.django_db
class TestDevices:
    def test_register_is_idempotent_and_lists_without_the_token(
        self, owner: User, push_service: WebPushService, vapid_key: ec.EllipticCurvePrivateKey
    ) -> None:
        sub = subscribe(push_service, vapid_key)
        first = register(owner, sub, label="Pixel")
        again = register(owner, sub)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]
        listed = client_for(owner).get("/api/v1/devices").json()["results"]
        assert [d["label"] for d in listed] == ["Pixel"]
        assert "token" not in listed[0] and "keys" not in listed[0]

    def test_a_token_registered_by_another_account_moves(
        self, owner: User, other: User, push_service: WebPushService, vapid_key: ec.EllipticCurvePrivateKey
    ) -> None:
        sub = subscribe(push_service, vapid_key)
        register(owner, sub)
        assert register(other, sub).status_code == 201
        assert list(Device.objects.values_list("user_id", flat=True)) == [other.pk]

    def test_removal_and_isolation(
        self, owner: User, other: User, clinician: User, push_service: WebPushService, vapid_key: Any
    ) -> None:
        uid = register(owner, subscribe(push_service, vapid_key)).json()["id"]
        assert client_for(other).delete(f"/api/v1/devices/{uid}").status_code == 404
        assert client_for(other).get("/api/v1/devices").json()["results"] == []
        assert client_for(clinician).post("/api/v1/devices", {}, format="json").status_code == 403
        assert client_for(owner).delete(f"/api/v1/devices/{uid}/").status_code == 204
        assert not Device.objects.exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"platform": "pager", "token": "x"}, "platform"),
            ({"platform": "fcm", "token": "a" * 40}, "platform"),  # not configured on this server
            ({"platform": "webpush"}, "token"),
            ({"platform": "webpush", "token": "https://10.0.0.7/push/1"}, "token"),
            ({"platform": "webpush", "token": "http://push.example.com/1"}, "token"),
            ({"platform": "webpush", "token": "https://push.example.com/1", "keys": {"p256dh": "abc"}}, "keys"),
            ({"platform": "webpush", "token": "https://push.example.com/1", "keys": "p256dh"}, "keys"),
            ({"platform": "webpush", "token": "https://push.example.com/" + "x" * 3000}, "token"),
            ({"platform": "webpush", "token": "https://push.example.com/1", "extra": 1}, "extra"),
        ],
    )
    def test_bad_devices_are_a_400_naming_the_field(self, owner: User, body: dict[str, Any], field: str) -> None:
        assert_error(client_for(owner).post("/api/v1/devices", body, format="json"), 400, field)
        assert not Device.objects.exists()

    def test_a_valid_public_endpoint_is_accepted(self, owner: User) -> None:
        keys = {"p256dh": b64url(ec_public_raw(ec.generate_private_key(ec.SECP256R1()))), "auth": b64url(b"0" * 16)}
        body = {"platform": "webpush", "token": "https://fcm.googleapis.com/fcm/send/abc", "keys": keys}
        assert client_for(owner).post("/api/v1/devices", body, format="json").status_code == 201


@pytest.mark.django_db
class TestSending:
    def test_the_inbox_row_reaches_the_push_service_with_its_id(
        self, owner: User, push_service: WebPushService, vapid_key: ec.EllipticCurvePrivateKey
    ) -> None:
        sub = subscribe(push_service, vapid_key)
        register(owner, sub)
        due_reminder(owner)
        assert dispatch_due().fired == 1
        n = Notification.objects.get(user=owner)
        delivery = PushDelivery.objects.get(notification=n)
        assert deliveries_send(ids=[delivery.pk]).sent == 1
        assert deliveries_send(ids=[delivery.pk]).sent == 0  # a second message for it sends nothing
        (payload,) = received_for(push_service, sub)
        assert payload["notification_id"] == n.uid and payload["title"] == n.title
        delivery.refresh_from_db()
        assert delivery.status == "sent" and delivery.sent_at is not None

    def test_a_transient_failure_backs_off_then_succeeds(
        self, owner: User, push_service: WebPushService, vapid_key: ec.EllipticCurvePrivateKey
    ) -> None:
        sub = subscribe(push_service, vapid_key)
        register(owner, sub)
        n = notification_notify(user=owner, kind="suggestion", title="Try a stretch", body="...")
        delivery = PushDelivery.objects.get(notification=n)
        push_service.fail(sub, 503, retry_after="120")
        result = deliveries_send(ids=[delivery.pk])
        assert (result.sent, result.retrying) == (0, 1)
        delivery.refresh_from_db()
        assert delivery.status == "pending" and delivery.attempts == 1
        assert delivery.next_attempt_at >= timezone.now() + dt.timedelta(seconds=110)  # Retry-After honoured
        assert deliveries_due() == []
        push_service.failures.clear()
        PushDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert deliveries_due() == [delivery.pk]
        assert deliveries_send(ids=deliveries_due()).sent == 1
        assert [p["notification_id"] for p in received_for(push_service, sub)] == [n.uid]

    def test_a_dead_subscription_deactivates_the_device_and_the_inbox_keeps_it(
        self, owner: User, push_service: WebPushService, vapid_key: ec.EllipticCurvePrivateKey
    ) -> None:
        sub = subscribe(push_service, vapid_key)
        register(owner, sub)
        push_service.fail(sub, 410)
        n = notification_notify(user=owner, kind="suggestion", title="Try a stretch", body="...")
        assert deliveries_send(ids=list(PushDelivery.objects.values_list("pk", flat=True))).failed == 1
        device = Device.objects.get(user=owner)
        assert device.active is False and device.deactivated_at is not None
        assert Notification.objects.filter(pk=n.pk, deleted_at__isnull=True).exists()
        # No further pushes are queued for a dead device; registering it again revives it.
        notification_notify(user=owner, kind="suggestion", title="Another", body="...")
        assert PushDelivery.objects.count() == 1
        push_service.failures.clear()
        assert register(owner, sub).json()["active"] is True

    def test_a_worker_that_dies_mid_send_sends_again_with_the_same_id(
        self, owner: User, push_service: WebPushService, vapid_key: ec.EllipticCurvePrivateKey
    ) -> None:
        from diary.notifications.delivery.sending import _claim

        sub = subscribe(push_service, vapid_key)
        register(owner, sub)
        n = notification_notify(user=owner, kind="suggestion", title="Try a stretch", body="...")
        ids = list(PushDelivery.objects.values_list("pk", flat=True))
        assert len(_claim(ids)) == 1  # leased, then the worker is gone before it records anything
        assert deliveries_send(ids=ids).sent == 0  # the lease holds off a duplicate message
        PushDelivery.objects.update(next_attempt_at=timezone.now())  # the lease runs out
        assert deliveries_send(ids=deliveries_due()).sent == 1
        assert [p["notification_id"] for p in received_for(push_service, sub)] == [n.uid]
        assert Notification.objects.filter(user=owner).count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_dispatches_and_pushes(push_service: WebPushService, vapid_key: Any) -> None:
    from tests.conftest import make_user

    user = make_user("worker@example.com")
    sub = subscribe(push_service, vapid_key)
    assert register(user, sub).status_code == 201
    rule = due_reminder(user)
    _reset_producer_pool(celery_app.conf.broker_url)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        dispatch_reminders.apply_async()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not received_for(push_service, sub):
            time.sleep(0.05)
        # The beat's sweep finds nothing left to do.
        push_sweep.apply_async()
        time.sleep(0.3)
    n = Notification.objects.get(user=user, reminder_id=rule.uid)
    assert [p["notification_id"] for p in received_for(push_service, sub)] == [n.uid]
    assert PushDelivery.objects.get(notification=n).status == "sent"


@pytest.mark.django_db
def test_fcm_and_apns_devices_receive_the_same_notification_id(
    owner: User,
    fcm_server: FcmServer,
    fcm_credentials: str,
    apns_server: ApnsServer,
    apns_files: tuple[TlsFiles, str],
) -> None:
    """Configured from settings as in production (the environment), registered over the API."""
    tls, p8 = apns_files
    with override_settings(
        FCM_CREDENTIALS_FILE=fcm_credentials, FCM_ENDPOINT=fcm_server.origin, APNS_KEY_FILE=p8, APNS_KEY_ID=KEY_ID,
        APNS_TEAM_ID=TEAM_ID, APNS_TOPIC=TOPIC, APNS_HOST=apns_server.host, APNS_CA_FILE=tls.ca_file,
    ):  # fmt: skip
        registry.reset()
        api = client_for(owner)
        assert (
            api.post(
                "/api/v1/devices", {"platform": "fcm", "token": "fcm-token-" + "x" * 20}, format="json"
            ).status_code
            == 201
        )
        assert api.post("/api/v1/devices", {"platform": "apns", "token": "ab" * 32}, format="json").status_code == 201
        apns_server.fail("cd" * 32, 410, "Unregistered")
        assert api.post("/api/v1/devices", {"platform": "apns", "token": "cd" * 32}, format="json").status_code == 201
        n = notification_notify(user=owner, kind="suggestion", title="Evening stretch", body="Calves and hamstrings")
        result = deliveries_send(ids=list(PushDelivery.objects.values_list("pk", flat=True)))
        registry.reset()
    assert (result.sent, result.failed) == (2, 1)
    assert fcm_server.messages[-1]["data"]["notification_id"] == n.uid
    assert [r.payload["notification_id"] for r in apns_server.requests if r.device_token == "ab" * 32] == [n.uid]
    assert list(Device.objects.filter(active=False).values_list("token", flat=True)) == ["cd" * 32]
