"""The due-reminder dispatcher: claim due rules, create their inbox rows once, advance them.

One pass loops over batches. Each batch, in one transaction:

1. reads up to ``batch_size`` due rules by the partial index on ``next_fire_at`` (cost follows what is
   due, not how many rules exist) and the people they belong to;
2. locks those people's sequence rows ``FOR UPDATE SKIP LOCKED`` (the lock order of every write: the
   sequence row first), so a second dispatcher, or a person's sync push in flight, is stepped around;
3. locks those people's due rules, creates ``Notification(reminder_id, scheduled_for)`` for each (unique
   per person: a re-run creates nothing twice) with its pending pushes, and moves ``next_fire_at`` to the first
   fire after *now*: after downtime a rule fires one catch-up, never a burst.

A killed worker rolls its batch back; the rules stay due and the next tick takes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from diary.checkins.models import WaterIntake
from diary.notifications.inbox import NewNotification, notifications_create
from diary.sync.sequence import sequence_lock_free
from reminders.content import reminder_text
from reminders.models import ReminderRule
from reminders.selectors import adaptive_days_for
from reminders.timing import adaptive_interval, is_adaptive, rule_next_fire, rule_values, rule_zone


@dataclass
class DispatchResult:
    fired: int = 0  # inbox rows created
    skipped: int = 0  # hydration reminders skipped because water was logged within the interval


def dispatch_due(
    *, now: dt.datetime | None = None, batch_size: int = 1000, max_batches: int = 10_000
) -> DispatchResult:
    """Run one pass over every rule due at ``now``."""
    now = now or timezone.now()
    result = DispatchResult()
    for _ in range(max_batches):
        claimed = _dispatch_batch(now=now, batch_size=batch_size, result=result)
        if claimed == 0:
            break
    return result


def _dispatch_batch(*, now: dt.datetime, batch_size: int, result: DispatchResult) -> int:
    with transaction.atomic():
        due = ReminderRule.objects.filter(next_fire_at__lte=now).order_by("next_fire_at")
        candidates = sorted(set(due.values_list("user_id", flat=True)[:batch_size]))
        if not candidates:
            return 0
        people = sequence_lock_free(user_ids=candidates)
        if not people:
            return 0  # everyone due is being written to: the next tick comes back for them
        rules = list(
            ReminderRule.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(user_id__in=people, next_fire_at__lte=now)
            .select_related("user")
            .order_by("user_id", "next_fire_at")
        )
        if not rules:
            return 0
        _fire(rules, now=now, result=result)
        return len(rules)


def _fire(rules: list[ReminderRule], *, now: dt.datetime, result: DispatchResult) -> None:
    values_of = {r.pk: rule_values(r) for r in rules}
    thirsty = adaptive_days_for(
        {r.user_id for r in rules if is_adaptive(values_of[r.pk])},
        ((now - dt.timedelta(days=2)).date(), (now + dt.timedelta(days=2)).date()),
    )
    last_water = _last_water({r.user_id for r in rules if r.kind == "hydration" and r.schedule == "interval"}, now=now)
    items: list[NewNotification] = []
    for rule in rules:
        scheduled = rule.next_fire_at
        assert scheduled is not None
        values = values_of[rule.pk]
        snoozed = rule.snooze_until is not None and rule.snooze_until <= now
        days = thirsty.get(rule.user_id, frozenset())
        is_thirsty = is_adaptive(values) and scheduled.astimezone(rule_zone(rule.tz_mode, rule.user)).date() in days
        if not snoozed and _drank_recently(rule, scheduled, last_water.get(rule.user_id), is_thirsty):
            result.skipped += 1
        else:
            text = reminder_text(kind=rule.kind, label=rule.label, thirsty=is_thirsty, snoozed=snoozed)
            items.append(
                NewNotification(
                    user_id=rule.user_id, kind="reminder", title=text.title, body=text.body, scheduled_for=scheduled,
                    reminder_id=rule.uid,
                )
            )  # fmt: skip
        rule.snooze_until = None if snoozed else rule.snooze_until
        rule.next_fire_at = rule_next_fire(
            values, rule.user, after=max(now, scheduled), snooze_until=rule.snooze_until, adaptive_days=days
        )
    made = notifications_create(items=items)
    result.fired += len(made)
    _save_schedule(rules)


def _last_water(user_ids: set[int], *, now: dt.datetime) -> dict[int, dt.datetime]:
    if not user_ids:
        return {}
    rows = (
        WaterIntake.objects.filter(user_id__in=list(user_ids), logged_at__gt=now - dt.timedelta(days=1))
        .values("user_id")
        .annotate(last=Max("logged_at"))
    )
    return {r["user_id"]: r["last"] for r in rows}


def _drank_recently(rule: ReminderRule, scheduled: dt.datetime, last: dt.datetime | None, thirsty: bool) -> bool:
    """A hydration reminder is skipped when the person logged water within the last interval."""
    if last is None or rule.kind != "hydration" or rule.schedule != "interval" or rule.interval_min is None:
        return False
    interval = adaptive_interval(rule.interval_min) if thirsty else rule.interval_min
    return scheduled - dt.timedelta(minutes=interval) < last <= scheduled


def _save_schedule(rules: list[ReminderRule]) -> None:
    if connection.vendor != "postgresql":
        ReminderRule.objects.bulk_update(rules, ["next_fire_at", "snooze_until"], batch_size=500)
        return
    table = ReminderRule._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} AS r SET next_fire_at = v.next_fire_at, snooze_until = v.snooze_until
                FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::timestamptz[]) AS next_fire_at,
                             unnest(%s::timestamptz[]) AS snooze_until) AS v
                WHERE r.id = v.id""",
            [[r.pk for r in rules], [r.next_fire_at for r in rules], [r.snooze_until for r in rules]],
        )
