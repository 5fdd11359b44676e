"""The inbox over REST and sync: answers, receipts, filters, bad input and isolation."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.notifications.inbox import notification_notify
from diary.notifications.models import Notification
from diary.outbox.models import OutboxEvent
from diary.outbox.routes import NOTIFICATION_UPDATED
from tests.conftest import assert_error, client_for
from tests.diary.sync.helpers import changes, pull, push

pytestmark = pytest.mark.django_db


def notify(user: User, title: str = "Time to stretch") -> Notification:
    return notification_notify(user=user, kind="suggestion", title=title, body="An evening stretch helps.")


def test_the_inbox_lists_newest_first_and_filters_unanswered(owner: User) -> None:
    first, second = notify(owner, "first"), notify(owner, "second")
    api = client_for(owner)
    assert [n["id"] for n in api.get("/api/v1/notifications").json()["results"]] == [second.uid, first.uid]
    api.patch(f"/api/v1/notifications/{first.uid}", {"action": "dismissed"}, format="json")
    assert [n["id"] for n in api.get("/api/v1/notifications?unread=true").json()["results"]] == [second.uid]


def test_receipts_and_answers_are_the_only_writable_columns(owner: User) -> None:
    n = notify(owner)
    api = client_for(owner)
    r = api.patch(
        f"/api/v1/notifications/{n.uid}",
        {"delivered_at": "2026-01-13T08:00:02+01:00", "title": "hacked", "kind": "alert"},
        format="json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["delivered_at"] == "2026-01-13T07:00:02+00:00"
    assert (r.json()["title"], r.json()["kind"]) == ("Time to stretch", "suggestion")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "ignored"}, "action"),
        ({"snooze_min": 0}, "snooze_min"),
        ({"snooze_min": 1441}, "snooze_min"),
        ({"acted_at": "yesterday"}, "acted_at"),
        ({"delivered_at": 12.5}, "delivered_at"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_answers_are_a_400_naming_the_field(owner: User, body: dict[str, object], field: str) -> None:
    n = notify(owner)
    assert_error(client_for(owner).patch(f"/api/v1/notifications/{n.uid}", body, format="json"), 400, field)
    n.refresh_from_db()
    assert n.action is None and n.delivered_at is None


def test_an_answer_over_sync_has_the_same_effect(owner: User) -> None:
    n = notify(owner)
    api = client_for(owner)
    last = pull(api, None)["timestamp"]
    record = {"id": n.uid, "action": "dismissed", "acted_at": 1_768_300_000_000}
    body = push(api, last, changes(notifications={"created": [], "updated": [record], "deleted": []}))
    assert body["rejected"] == {}
    n.refresh_from_db()
    assert n.action == "dismissed"


def test_nobody_reads_or_answers_another_persons_notifications(owner: User, other: User, clinician: User) -> None:
    n = notify(owner)
    intruder = client_for(other)
    assert intruder.get(f"/api/v1/notifications/{n.uid}").status_code == 404
    assert intruder.patch(f"/api/v1/notifications/{n.uid}", {"action": "done"}, format="json").status_code == 404
    assert intruder.delete(f"/api/v1/notifications/{n.uid}").status_code == 404
    assert intruder.get("/api/v1/notifications").json()["results"] == []
    last = pull(intruder, None)["timestamp"]
    body = push(intruder, last, changes(notifications={"created": [], "updated": [{"id": n.uid, "action": "done"}],
                                                       "deleted": []}))  # fmt: skip
    assert body["experimentalRejectedIds"] == {"notifications": [n.uid]}
    n.refresh_from_db()
    assert n.action is None
    assert client_for(clinician).get("/api/v1/notifications").status_code == 403
    assert APIClient().get("/api/v1/notifications").status_code == 401


def test_deleting_removes_it_from_every_device(owner: User) -> None:
    n = notify(owner)
    api = client_for(owner)
    last = pull(api, None)["timestamp"]
    assert api.delete(f"/api/v1/notifications/{n.uid}").status_code == 204
    assert pull(api, last)["changes"]["notifications"]["deleted"] == [n.uid]
    assert api.get(f"/api/v1/notifications/{n.uid}").status_code == 404


def test_a_receipt_asks_no_worker_for_anything_and_an_answer_does(owner: User) -> None:
    """A phone pushes a delivery receipt for every notification it shows; no handler acts on one, so it
    stores no outbox row (each was a Celery task for the general worker). An answer stores one, over
    REST and over sync alike."""
    n, m = notify(owner), notify(owner, "second")
    api = client_for(owner)
    handled = OutboxEvent.objects.filter(user=owner, topic=NOTIFICATION_UPDATED)
    last = pull(api, None)["timestamp"]
    receipt = {"id": n.uid, "delivered_at": 1_768_300_000_000}
    assert push(api, last, changes(notifications={"updated": [receipt]}))["rejected"] == {}
    r = api.patch(f"/api/v1/notifications/{m.uid}", {"delivered_at": "2026-01-13T08:00:02+01:00"}, format="json")
    assert r.status_code == 200, r.json()
    n.refresh_from_db()
    assert n.delivered_at is not None and not handled.exists()

    api.patch(f"/api/v1/notifications/{m.uid}", {"action": "snoozed", "snooze_min": 10}, format="json")
    last = pull(api, last)["timestamp"]
    push(api, last, changes(notifications={"updated": [{**receipt, "action": "done", "acted_at": 1_768_300_060_000}]}))
    assert sorted(uid for e in handled for uid in e.payload["uids"]) == sorted([n.uid, m.uid])
