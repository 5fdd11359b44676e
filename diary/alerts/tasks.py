"""Celery entry points for red flags (thin; each calls one service)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from diary.alerts.ladder import ladder_step
from diary.alerts.selectors import sweep_people
from diary.alerts.services import alerts_evaluate
from diary.episodes.models import Episode

SWEEP_CHUNK = 500
# Elapsed time, not local days: an ongoing episode's long_episode alert can rise until the episode is
# as old as the longest tunable long_high_min (8 hours); a day leaves room for missed beats.
ONGOING_LOOKBACK = dt.timedelta(days=1)


@shared_task(name="diary.alerts.tasks.alerts_ladder", ignore_result=True)
def alerts_ladder() -> int:
    """Beat, every minute: urgent repeats and emergency-contact emails."""
    return ladder_step()


@shared_task(name="diary.alerts.tasks.alerts_ongoing", ignore_result=True)
def alerts_ongoing() -> int:
    """Beat, every 5 minutes: episodes still going on are flagged while they last (long_episode)."""
    since = timezone.now() - ONGOING_LOOKBACK
    rows = Episode.objects.filter(duration_s__isnull=True, deleted_at__isnull=True, started_at__gte=since)
    by_user: dict[int, list[str]] = {}
    for user_id, uid in rows.values_list("user_id", "uid"):
        by_user.setdefault(user_id, []).append(uid)
    for user_id, uids in by_user.items():
        alerts_evaluate(user_id=user_id, episode_uids=uids)
    return len(by_user)


@shared_task(name="diary.alerts.tasks.alerts_sweep", ignore_result=True)
def alerts_sweep() -> int:
    """Beat, daily: window rules for everyone with entries the rules read, fanned out in chunks."""
    people = sweep_people(timezone.now())
    for start in range(0, len(people), SWEEP_CHUNK):
        alerts_sweep_chunk.delay(people[start : start + SWEEP_CHUNK])
    return len(people)


@shared_task(name="diary.alerts.tasks.alerts_sweep_chunk", ignore_result=True)
def alerts_sweep_chunk(user_ids: list[int]) -> int:
    for user_id in user_ids:
        alerts_evaluate(user_id=user_id)
    return len(user_ids)
