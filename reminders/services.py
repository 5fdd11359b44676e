"""Writes of reminder rules: create, replace, change, delete, the defaults, and rescheduling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from diary.accounts.models import User
from diary.core.fields import REST
from diary.sync.sequence import new_uid, sequence_lock
from diary.sync.writes import body_uid, check_uid, record_delete, record_write
from reminders.models import ReminderRule
from reminders.selectors import adaptive_days
from reminders.tables import REMINDERS
from reminders.timing import rule_next_fire, rule_values

REST_READ_ONLY = frozenset({"id", "next_fire_at"})


def reminder_create(*, user: User, data: Mapping[str, Any], wire: str = REST) -> ReminderRule:
    uid = check_uid(data["id"]) if data.get("id") is not None else new_uid()
    row, _ = record_write(
        table=REMINDERS, user=user, uid=uid, data=data, wire=wire, mode="create", ignore=REST_READ_ONLY
    )
    return row  # type: ignore[return-value]


def reminder_put(*, user: User, uid: str, data: Mapping[str, Any], wire: str = REST) -> tuple[ReminderRule, bool]:
    check_uid(uid)
    body_uid(data, uid)
    row, created = record_write(
        table=REMINDERS, user=user, uid=uid, data=data, wire=wire, mode="put", ignore=REST_READ_ONLY
    )
    return row, created  # type: ignore[return-value]


def reminder_patch(*, user: User, uid: str, data: Mapping[str, Any], wire: str = REST) -> ReminderRule:
    body_uid(data, uid)
    row, _ = record_write(
        table=REMINDERS, user=user, uid=uid, data=data, wire=wire, mode="patch", ignore=REST_READ_ONLY
    )
    return row  # type: ignore[return-value]


def reminder_delete(*, user: User, uid: str) -> None:
    record_delete(table=REMINDERS, user_id=user.pk, uid=uid)


def reminders_delete_all(*, user: User) -> int:
    uids = list(ReminderRule.objects.filter(user_id=user.pk, deleted_at__isnull=True).values_list("uid", flat=True))
    with transaction.atomic():
        for uid in uids:
            record_delete(table=REMINDERS, user_id=user.pk, uid=uid)
    return len(uids)


def default_rules(user: User) -> list[dict[str, Any]]:
    """What a new person starts with: water every two hours while awake (more often on hot or
    hard-exercise days), and a calf and hamstring stretch an hour before bed."""
    bedtime = dt.datetime.combine(dt.date(2000, 1, 1), user.sleep_time) - dt.timedelta(hours=1)
    return [
        {"kind": "hydration", "label": "Drink a glass of water", "schedule": "interval", "interval_min": 120,
         "adaptive": True},
        {"kind": "stretching", "label": "Evening calf and hamstring stretch", "schedule": "times",
         "times": [bedtime.strftime("%H:%M")]},
    ]  # fmt: skip


def reminders_create_defaults(*, user: User) -> list[ReminderRule]:
    with transaction.atomic():
        return [reminder_create(user=user, data=data) for data in default_rules(user)]


def reminders_reschedule(*, user: User, uids: list[str] | None = None) -> int:
    """Recompute ``next_fire_at`` of the person's live rules from now: after a change of zone or
    waking hours, or of the day's check-in for adaptive ones. Server columns only: no sync stamp."""
    rules = ReminderRule.objects.filter(user_id=user.pk, deleted_at__isnull=True, enabled=True)
    if uids is not None:
        rules = rules.filter(uid__in=uids)
    now = timezone.now()
    changed = []
    with transaction.atomic():
        sequence_lock(user_id=user.pk)  # lock order: the sequence row first
        for rule in rules.select_for_update(of=("self",)):
            values = rule_values(rule)
            upcoming = rule_next_fire(
                values, user, after=now, snooze_until=rule.snooze_until, adaptive_days=adaptive_days(user, values)
            )
            if upcoming != rule.next_fire_at:
                rule.next_fire_at = upcoming
                changed.append(rule)
        ReminderRule.objects.bulk_update(changed, ["next_fire_at"])
    return len(changed)
