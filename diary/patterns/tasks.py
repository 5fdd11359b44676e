"""Celery entry points for pattern detection (thin)."""

from __future__ import annotations

from celery import shared_task

from diary.accounts.models import User
from diary.patterns import services

CHUNK = 100


@shared_task(name="diary.patterns.tasks.insights_due", ignore_result=True)
def insights_due() -> int:
    """Beat, every 30 s: run the refreshes whose minute of debounce has passed."""
    return services.insights_run_due()


@shared_task(name="diary.patterns.tasks.insights_nightly", ignore_result=True)
def insights_nightly() -> int:
    """Beat, nightly: everyone active in the last 90 days, fanned out in chunks of 100 people."""
    people = services.insights_people()
    for start in range(0, len(people), CHUNK):
        insights_chunk.delay(people[start : start + CHUNK])
    return len(people)


@shared_task(name="diary.patterns.tasks.insights_chunk", ignore_result=True)
def insights_chunk(user_ids: list[int]) -> int:
    ran = 0
    for user in User.objects.filter(pk__in=user_ids, is_active=True, is_clinician=False):
        services.insights_run(user=user)
        ran += 1
    return ran
