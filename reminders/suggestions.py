"""Suggestions drawn from the diary: an evening stretch for people whose episodes come at night."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from diary.accounts.models import User
from diary.core.fields import zone
from diary.episodes.models import Episode
from diary.notifications.inbox import notification_notify
from diary.notifications.models import Notification
from reminders.content import NIGHT_STRETCH_SUGGESTION
from reminders.models import ReminderRule

LOOKBACK = dt.timedelta(days=30)
MIN_EPISODES = 5
NIGHT_SHARE = 0.5
NIGHT_START, NIGHT_END = 22, 6  # local hours: 22:00-05:59
EVENING = (dt.time(17, 0), dt.time(23, 59))


def is_night(started_at: dt.datetime, tz: str) -> bool:
    hour = started_at.astimezone(zone(tz)).hour
    return hour >= NIGHT_START or hour < NIGHT_END


def mostly_at_night(episodes: Iterable[tuple[dt.datetime, str]]) -> bool:
    """At least five episodes, more than half of them starting at night in their own local time."""
    flags = [is_night(started_at, tz) for started_at, tz in episodes]
    return len(flags) >= MIN_EPISODES and sum(flags) / len(flags) > NIGHT_SHARE


def _has_evening_stretch(user: User) -> bool:
    rules = ReminderRule.objects.filter(user_id=user.pk, deleted_at__isnull=True, enabled=True, kind="stretching")
    for times in rules.filter(schedule="times").values_list("times", flat=True):
        if any(EVENING[0] <= dt.time.fromisoformat(t) <= EVENING[1] for t in times):
            return True
    return False


def night_stretch_suggest(*, user: User) -> Notification | None:
    """Suggest an evening stretch once a month at most, and only to someone without one."""
    now = timezone.now()
    episodes = Episode.objects.filter(user_id=user.pk, deleted_at__isnull=True, started_at__gte=now - LOOKBACK)
    if not mostly_at_night(episodes.values_list("started_at", "tz")):
        return None
    recent = Notification.objects.filter(
        user_id=user.pk, kind="suggestion", title=NIGHT_STRETCH_SUGGESTION.title, scheduled_for__gte=now - LOOKBACK
    )
    if recent.exists() or _has_evening_stretch(user):
        return None
    return notification_notify(
        user=user, kind="suggestion", title=NIGHT_STRETCH_SUGGESTION.title, body=NIGHT_STRETCH_SUGGESTION.body
    )
