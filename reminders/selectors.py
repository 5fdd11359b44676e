"""Reads for reminders: adaptive days, the person's rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from diary.accounts.models import User
from diary.checkins.models import CheckIn
from diary.core.fields import zone
from diary.patterns.selectors import low_water_linked_among
from reminders.models import ReminderRule
from reminders.timing import is_adaptive

# A check-in that calls for more water: heat, or hard exercise.
THIRSTY = Q(hot_weather=True) | Q(exercise_intensity="vigorous")


def _recent_days(user: User) -> tuple[dt.date, dt.date]:
    today = timezone.now().astimezone(zone(user.current_timezone)).date()
    return today - dt.timedelta(days=1), today + dt.timedelta(days=1)


def adaptive_days(user: User, values: Mapping[str, Any]) -> frozenset[dt.date]:
    """Local days (around today) on which an adaptive hydration rule fires more often."""
    if not is_adaptive(values):
        return frozenset()
    return adaptive_days_for([user.pk], _recent_days(user)).get(user.pk, frozenset())


def adaptive_days_for(user_ids: Iterable[int], span: tuple[dt.date, dt.date]) -> dict[int, frozenset[dt.date]]:
    """Thirsty days per person in one query each (the dispatcher asks for a whole batch): check-ins
    saying hot weather or vigorous exercise, and every day for people whose insights link low water
    to their episodes."""

    user_ids = list(user_ids)
    found: dict[int, set[dt.date]] = {}
    every_day = {span[0] + dt.timedelta(days=i) for i in range((span[1] - span[0]).days + 1)}
    for user_id in low_water_linked_among(user_ids):
        found[user_id] = set(every_day)
    rows = CheckIn.objects.filter(
        THIRSTY, user_id__in=list(user_ids), deleted_at__isnull=True, date__gte=span[0], date__lte=span[1]
    ).values_list("user_id", "date")
    for user_id, day in rows:
        found.setdefault(user_id, set()).add(day)
    return {k: frozenset(v) for k, v in found.items()}


def reminder_list(*, user: User) -> QuerySet[ReminderRule]:
    return ReminderRule.objects.filter(user_id=user.pk, deleted_at__isnull=True).order_by("kind", "uid")


def reminder_get(*, user: User, uid: str) -> ReminderRule | None:
    return ReminderRule.objects.filter(user_id=user.pk, uid=uid, deleted_at__isnull=True).first()
