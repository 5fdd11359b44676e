"""The escalation ladder, run by beat every minute: urgent alerts repeat every 15 minutes until
acknowledged (at most 4 repeats) and, after 15 minutes, the emergency contact is emailed.

Claims are made like the reminder dispatcher's: people's sequence rows first ``SKIP LOCKED``, then
their alerts, so several workers can run it and nothing fires twice. A missed tick fires once late,
never a burst.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from diary.accounts.models import User
from diary.alerts import texts
from diary.alerts.happened import alert_happened
from diary.alerts.models import Alert
from diary.alerts.services import LADDER_EVERY, LADDER_MAX_REPEATS
from diary.notifications.inbox import notification_notify
from diary.outbox.routes import ALERT_CONTACT
from diary.outbox.services import outbox_enqueue
from diary.sync.sequence import sequence_lock_free


def ladder_step(*, now: dt.datetime | None = None, batch_size: int = 200) -> int:
    """One pass; returns how many repeats and contact emails it queued."""
    now = now or timezone.now()
    done = 0
    while True:
        with transaction.atomic():
            due = Alert.objects.filter(Q(next_repeat_at__lte=now) | Q(contact_due_at__lte=now))
            candidates = sorted(set(due.values_list("user_id", flat=True)[:batch_size]))
            if not candidates:
                return done
            people = sequence_lock_free(user_ids=candidates)
            if not people:
                return done
            alerts = list(
                due.select_for_update(skip_locked=True, of=("self",)).filter(user_id__in=people).select_related("user")
            )
            if not alerts:
                return done
            for alert in alerts:
                done += _step(alert, now)


def _step(alert: Alert, now: dt.datetime) -> int:
    user: User = alert.user
    queued = 0
    if alert.status != "open":
        alert.next_repeat_at = alert.contact_due_at = None
    else:
        if alert.next_repeat_at is not None and alert.next_repeat_at <= now:
            alert.repeats += 1
            notification_notify(
                user=user, kind="alert", title=texts.still_urgent(alert.title)[:200],
                body=texts.notification_body(
                    alert.guidance, alert.evidence, alert_happened(alert, reader_tz=user.current_timezone)
                ),
                alert_id=alert.uid,
            )  # fmt: skip
            queued += 1
            more = alert.repeats < LADDER_MAX_REPEATS
            alert.next_repeat_at = max(alert.next_repeat_at + LADDER_EVERY, now + LADDER_EVERY) if more else None
        if alert.contact_due_at is not None and alert.contact_due_at <= now:
            if user.emergency_contact_email and alert.contact_notified_at is None:
                outbox_enqueue(user_id=user.pk, topic=ALERT_CONTACT, payloads=[{"alert": alert.uid}])
                alert.contact_notified_at = now
                queued += 1
            alert.contact_due_at = None
    Alert.objects.filter(pk=alert.pk).update(
        repeats=alert.repeats, next_repeat_at=alert.next_repeat_at, contact_due_at=alert.contact_due_at,
        contact_notified_at=alert.contact_notified_at,
    )  # fmt: skip
    return queued
