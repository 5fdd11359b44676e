"""What other parts' events mean for reminders: diary writes, answers to notifications, new
insights, account changes. Routed by name in diary/outbox/routes.py; after-commit handlers are
idempotent, in-transaction ones run inside the caller's write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from diary.accounts.models import User
from diary.checkins.water import water_log
from diary.notifications.models import Notification
from diary.sync.sequence import sequence_lock
from reminders.models import ReminderRule
from reminders.services import reminders_create_defaults, reminders_delete_all, reminders_reschedule
from reminders.suggestions import night_stretch_suggest
from reminders.timing import rule_next_fire, rule_values


def checkin_written(user_id: int, payload: dict[str, Any]) -> None:
    """A check-in saying hot weather or hard exercise shortens adaptive hydration intervals (and
    correcting it lengthens them again)."""
    adaptive_reschedule(user_id=user_id)


def adaptive_reschedule(*, user_id: int) -> None:
    """Recompute the person's adaptive hydration rules (their check-in or their insights changed)."""
    adaptive = list(
        ReminderRule.objects.filter(
            user_id=user_id, deleted_at__isnull=True, enabled=True, adaptive=True, kind="hydration",
            schedule="interval",
        ).values_list("uid", flat=True)
    )  # fmt: skip
    if adaptive:
        reminders_reschedule(user=User.objects.get(pk=user_id), uids=adaptive)


def episode_written(user_id: int, payload: dict[str, Any]) -> None:
    if payload.get("deleted"):
        return
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        night_stretch_suggest(user=user)


def insights_changed(user_id: int, payload: dict[str, Any]) -> None:
    """A new insights snapshot changed whether low water is linked to the person's episodes."""
    adaptive_reschedule(user_id=user_id)


def notification_answered(user_id: int, payload: dict[str, Any]) -> None:
    """Act on what the person answered: "done" on a hydration reminder logs a glass; "snoozed"
    brings the reminder back after ``snooze_min``. Idempotent (a glass per notification; the snooze
    instant comes from ``acted_at``)."""
    if payload.get("deleted"):
        return
    rows = Notification.objects.filter(
        user_id=user_id, uid__in=payload.get("uids", []), deleted_at__isnull=True, kind="reminder", action__isnull=False
    )
    answered = list(rows)
    rules = ReminderRule.objects.filter(user_id=user_id, uid__in=[n.reminder_id for n in answered])
    rule_of = {r.uid: r for r in rules}
    for n in answered:
        rule = rule_of.get(n.reminder_id or "")
        if rule is None:
            continue
        acted_at = n.acted_at or n.server_updated_at
        if n.action == "done" and rule.kind == "hydration":
            water_log(
                user=User.objects.get(pk=user_id),
                data={"id": f"n-{n.uid}", "logged_at": acted_at.isoformat(), "amount_ml": settings.GLASS_ML},
                source="reminder",
                notification_uid=n.uid,
            )
        elif n.action == "snoozed" and n.snooze_min:
            reminder_snooze(rule=rule, until=acted_at + dt.timedelta(minutes=n.snooze_min))


def reminder_snooze(*, rule: ReminderRule, until: dt.datetime) -> bool:
    """Bring the rule back at ``until`` (a server column: no sync stamp). A snooze in the past is void."""
    if until <= timezone.now():
        return False
    with transaction.atomic():
        sequence_lock(user_id=rule.user_id)
        fresh = ReminderRule.objects.select_for_update().select_related("user").get(pk=rule.pk)
        if fresh.deleted_at is not None or not fresh.enabled:
            return False
        fresh.snooze_until = until
        fresh.next_fire_at = rule_next_fire(rule_values(fresh), fresh.user, after=timezone.now(), snooze_until=until)
        fresh.save(update_fields=["snooze_until", "next_fire_at"])
    return True


def account_registered(user_id: int, payload: dict[str, Any]) -> None:
    """In the registration's transaction: the default reminders, unless the caller opted out."""
    if payload.get("defaults", True):
        reminders_create_defaults(user=User.objects.get(pk=user_id))


def account_schedule_changed(user_id: int, payload: dict[str, Any]) -> None:
    """In the profile change's transaction: reminders follow the person's zone and waking hours."""
    reminders_reschedule(user=User.objects.get(pk=user_id))


def account_became_clinician(user_id: int, payload: dict[str, Any]) -> None:
    """A clinician account gets no water or stretch reminders."""
    reminders_delete_all(user=User.objects.get(pk=user_id))
