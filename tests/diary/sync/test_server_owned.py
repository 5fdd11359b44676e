"""reminders (client-owned) and the server-owned notifications and alerts on the sync wire."""

from __future__ import annotations

import datetime as dt
from typing import cast

import pytest
from rest_framework.test import APIClient

from diary.alerts.models import Alert
from diary.alerts.tables import ALERTS
from diary.core.fields import datetime_to_ms
from diary.notifications.models import Notification
from diary.notifications.tables import NOTIFICATIONS
from diary.sync.models import SyncState
from diary.sync.writes import server_rows_create
from reminders.models import ReminderRule
from tests.diary.sync.helpers import changes, pull, push

pytestmark = pytest.mark.django_db

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def make_alert(user_id: int) -> Alert:
    (alert,) = server_rows_create(
        table=ALERTS,
        user_id=user_id,
        rows=[{"rule": "severe_pain", "severity": "high", "title": "Severe pain", "guidance": "See a clinician.",
               "episode_uid": "e1", "status": "open", "opened_at": NOW}],
    )  # fmt: skip
    return alert  # type: ignore[return-value]


def test_reminders_sync_both_ways_and_are_validated(api: APIClient) -> None:
    rule = {"id": "r1", "kind": "hydration", "label": "Water", "schedule": "interval", "interval_min": 120,
            "window_start": "08:00", "window_end": "21:00", "times": "[]", "weekdays": "[0,1,2,3,4]",
            "quiet_start": None, "quiet_end": None, "fire_at": None, "tz_mode": "device", "adaptive": True,
            "enabled": True}  # fmt: skip
    bad = {**rule, "id": "r2", "interval_min": 5}
    answer = push(api, 1, changes(reminders={"created": [rule, bad]}))
    assert answer["rejected"]["reminders"] == {"r2": {"field": "interval_min", "reason": "must be between 15 and 1440"}}
    stored = ReminderRule.objects.get(uid="r1")
    assert stored.weekdays == [0, 1, 2, 3, 4] and stored.window_start == dt.time(8, 0)
    (pulled,) = pull(api, None)["changes"]["reminders"]["created"]
    assert pulled == rule


def test_a_server_created_alert_arrives_on_the_next_pull_and_can_be_acknowledged(api: APIClient, owner) -> None:  # type: ignore[no-untyped-def]
    t = pull(api, None)["timestamp"]
    alert = make_alert(owner.pk)
    assert SyncState.objects.get(user=owner).seq == t + 1
    (raw,) = pull(api, t)["changes"]["alerts"]["updated"]
    assert raw["id"] == alert.uid and len(alert.uid) == 16 and raw["status"] == "open"
    assert raw["opened_at"] == datetime_to_ms(NOW)
    assert raw["episode_id"] == "e1" and "episode_uid" not in raw  # the model's episode_uid, by its wire name
    t = pull(api, t)["timestamp"]
    acked = {**raw, "acknowledged_at": datetime_to_ms(NOW) + 60_000}
    push(api, t, changes(alerts={"updated": [acked]}))
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_at is not None


def test_server_columns_pushed_by_a_client_are_ignored_and_restored(api: APIClient, owner) -> None:  # type: ignore[no-untyped-def]
    alert = make_alert(owner.pk)
    t = pull(api, None)["timestamp"]
    (raw,) = pull(api, None)["changes"]["alerts"]["created"]
    forged = {**raw, "severity": "watch", "status": "resolved", "title": "nothing to see"}
    answer = push(api, t, changes(alerts={"updated": [forged], "created": [{**raw, "id": "mine"}]}))
    assert answer["experimentalRejectedIds"] == {"alerts": ["mine"]}
    alert.refresh_from_db()
    assert (alert.severity, alert.status, alert.title) == ("high", "open", "Severe pain")
    # re-stamped: the next pull puts the server's values back on the device
    (restored,) = pull(api, t)["changes"]["alerts"]["updated"]
    assert (restored["severity"], restored["status"]) == ("high", "open")
    # a client delete of a server row is answered the same way: the row comes back
    t2 = pull(api, t)["timestamp"]
    push(api, t2, changes(alerts={"deleted": [alert.uid]}))
    assert [r["id"] for r in pull(api, t2)["changes"]["alerts"]["updated"]] == [alert.uid]
    assert not Alert.objects.filter(uid="mine").exists()


def test_notification_actions_are_the_clients_to_set(api: APIClient, owner, other_api: APIClient) -> None:  # type: ignore[no-untyped-def]
    (made,) = server_rows_create(
        table=NOTIFICATIONS, user_id=owner.pk,
        rows=[{"kind": "reminder", "reminder_id": "r1", "title": "Drink water", "body": "A glass now.", "scheduled_for": NOW}],
    )  # fmt: skip
    note = cast(Notification, made)
    t = pull(api, None)["timestamp"]
    (raw,) = pull(api, None)["changes"]["notifications"]["created"]
    bad = {**raw, "action": "ignored"}
    answer = push(api, t, changes(notifications={"updated": [bad]}))
    assert answer["rejected"]["notifications"][note.uid]["field"] == "action"
    done = {**raw, "action": "done", "acted_at": datetime_to_ms(NOW), "delivered_at": datetime_to_ms(NOW)}
    push(api, t, changes(notifications={"updated": [done]}))
    note.refresh_from_db()
    assert note.action == "done" and note.title == "Drink water"
    # another person cannot touch it, even knowing the id
    answer = push(other_api, 1, changes(notifications={"updated": [{**raw, "action": "dismissed"}]}))
    assert answer["experimentalRejectedIds"] == {"notifications": [note.uid]}
    assert Notification.objects.get(pk=note.pk).action == "done"
