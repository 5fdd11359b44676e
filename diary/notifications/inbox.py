"""The in-app inbox: server-created notifications, their push deliveries, the person's answers.

Every notification is an inbox row first (synced, so the app shows it even when every push fails)
and, in the same transaction, one pending ``PushDelivery`` per active device: the push outbox.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from backend.breaker import wake
from diary.accounts.models import User
from diary.core.fields import REST
from diary.notifications.delivery.sending import deliveries_send
from diary.notifications.models import Device, Notification, PushDelivery
from diary.notifications.tables import NOTIFICATIONS
from diary.sync.sequence import new_uid, sequence_claim_many, sequence_lock
from diary.sync.writes import record_delete, record_write

log = logging.getLogger(__name__)
# The task that sends a batch (diary/notifications/tasks.py), sent by name: the tasks module imports
# this one, so importing it back would be a cycle.
PUSH_SEND_TASK = "diary.notifications.tasks.push_send"


@dataclass(frozen=True)
class NewNotification:
    user_id: int
    kind: str  # reminder | alert | suggestion | share
    title: str
    body: str
    scheduled_for: dt.datetime
    reminder_id: str | None = None
    alert_id: str | None = None


def notifications_create(*, items: list[NewNotification], push_here: bool = False) -> list[Notification]:
    """Inbox rows plus their pending pushes, in the caller's transaction; pushes queued after commit.

    Callers that already hold some of the people's rows must have locked the people's sequence rows
    first (lock order); this claims the sequence for everyone in ``items`` in one statement.
    """
    if not items:
        return []
    counts: dict[int, int] = defaultdict(int)
    for item in items:
        counts[item.user_id] += 1
    with transaction.atomic(savepoint=False):  # nested: part of the caller's transaction, no savepoint
        firsts = sequence_claim_many(counts=dict(counts))
        rows = []
        for item in items:
            seq = firsts[item.user_id]
            firsts[item.user_id] += 1
            rows.append(
                Notification(
                    user_id=item.user_id, uid=new_uid(), seq=seq, kind=item.kind, reminder_id=item.reminder_id,
                    alert_id=item.alert_id, title=item.title[:200], body=item.body, scheduled_for=item.scheduled_for,
                )
            )  # fmt: skip
        made = _insert(rows)
        deliveries_create(notifications=made, push_here=push_here)
    return made


_COLUMNS = ("user_id", "uid", "seq", "kind", "reminder_id", "alert_id", "title", "body", "scheduled_for")
_TYPES = ("bigint", "text", "bigint", "text", "text", "text", "text", "text", "timestamptz")


def _insert(rows: list[Notification]) -> list[Notification]:
    """Insert and learn the ids. On PostgreSQL one INSERT ... SELECT FROM unnest(arrays) RETURNING id:
    the dispatcher's 10,000 rows in a fraction of bulk_create's time (no per-value SQL preparation)."""
    if connection.vendor != "postgresql":
        return Notification.objects.bulk_create(rows, batch_size=2000)
    table = Notification._meta.db_table
    arrays = [[getattr(r, c) for r in rows] for c in _COLUMNS]
    unnest = ", ".join(f"%s::{t}[]" for t in _TYPES)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} ({", ".join(_COLUMNS)}, server_updated_at)
                SELECT *, now() FROM unnest({unnest}) RETURNING id, user_id, uid""",
            arrays,
        )
        ids = {(user_id, uid): pk for pk, user_id, uid in cursor.fetchall()}
    for row in rows:
        row.pk = ids[(row.user_id, row.uid)]  # matched by key: RETURNING promises no order
        row._state.adding = False
    return rows


def deliveries_create(*, notifications: list[Notification], push_here: bool = False) -> list[int]:
    """One pending push per active device of each notification's person; queued after commit, or
    with ``push_here`` sent by this process right after commit (see ``_push_here``)."""
    if not notifications:
        return []
    later = timezone.now() + dt.timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    if connection.vendor == "postgresql":
        # Joined in the database: no device list or delivery objects in Python.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {PushDelivery._meta.db_table}
                        (notification_id, device_id, status, attempts, next_attempt_at, last_error)
                    SELECT n.id, d.id, %s, 0, %s, ''
                    FROM unnest(%s::bigint[], %s::bigint[]) AS n(id, user_id)
                    JOIN {Device._meta.db_table} d ON d.user_id = n.user_id AND d.active
                    RETURNING id""",
                [PushDelivery.PENDING, later, [n.pk for n in notifications], [n.user_id for n in notifications]],
            )
            ids = [row[0] for row in cursor.fetchall()]
    else:
        by_user: dict[int, list[Notification]] = defaultdict(list)
        for n in notifications:
            by_user[n.user_id].append(n)
        devices = Device.objects.filter(user_id__in=list(by_user), active=True).values_list("pk", "user_id")
        pending = [
            PushDelivery(notification=n, device_id=device_id, next_attempt_at=later)
            for device_id, user_id in devices
            for n in by_user[user_id]
        ]
        ids = [d.pk for d in PushDelivery.objects.bulk_create(pending, batch_size=2000)]
    if ids:
        # An alert's push goes to the urgent queue with the red-flag evaluation that raised it, so
        # it never waits behind a backlog of reminders and insights (ARCHITECTURE.md, Flows 5).
        if push_here:
            transaction.on_commit(lambda: _push_here(ids))
        else:
            urgent = any(n.kind == "alert" for n in notifications)
            transaction.on_commit(lambda: publish_deliveries(ids, urgent=urgent))
    return ids


def _push_here(ids: list[int]) -> None:
    """Send an alert's pushes from the worker that raised it, as soon as the alert has committed:
    no second trip through the broker and no second task on the red-flag path. Only workers raise
    alerts (outbox handlers, the ladder), so no request ever waits on a push service here. The rows
    are committed before this runs: a transient failure backs off on the row (the sweeper retries
    it), and if this process dies mid-send its lease runs out and the sweeper sends it again. An
    unexpected error hands the rows to the urgent queue."""
    try:
        deliveries_send(ids=ids)
    except Exception:
        log.exception("sending %s alert pushes here failed; queued instead", len(ids))
        publish_deliveries(ids, urgent=True)


def publish_deliveries(ids: list[int], *, cooldown: bool = True, urgent: bool = False) -> None:
    """Wake workers to send these pushes. Never raises: the sweeper takes them if this is lost."""
    chunk = settings.PUSH_BATCH_SIZE
    queue = settings.URGENT_QUEUE if urgent else None  # None: the default queue
    for start in range(0, len(ids), chunk):
        batch = ids[start : start + chunk]
        send = partial(current_app.send_task, PUSH_SEND_TASK, args=[batch], queue=queue)
        if not wake(send, what=f"{len(batch)} pushes", cooldown=cooldown):
            return


def notification_notify(
    *, user: User, kind: str, title: str, body: str, alert_id: str | None = None, push_here: bool = False
) -> Notification:
    """One notification now (suggestions, shares, alerts): inbox row and pushes (``push_here``: sent
    by this process after commit, for workers raising an alert; otherwise queued)."""
    with transaction.atomic(savepoint=False):  # nested: part of the caller's transaction, no savepoint
        sequence_lock(user_id=user.pk)
        (made,) = notifications_create(
            items=[
                NewNotification(
                    user_id=user.pk, kind=kind, title=title, body=body, scheduled_for=timezone.now(), alert_id=alert_id
                )
            ],
            push_here=push_here,
        )
    return made


def notification_patch(*, user: User, uid: str, data: Mapping[str, Any]) -> Notification:
    """The person's answer (REST): the same columns and effects as a sync push of the row."""
    row, _ = record_write(table=NOTIFICATIONS, user=user, uid=uid, data=data, wire=REST, mode="patch")
    return row  # type: ignore[return-value]


def notification_delete(*, user: User, uid: str) -> None:
    record_delete(table=NOTIFICATIONS, user_id=user.pk, uid=uid)
