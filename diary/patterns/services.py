"""Running pattern detection: debounced after writes, on request, and nightly for everyone."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from diary.accounts.models import User
from diary.checkins.models import CheckIn
from diary.core.fields import zone
from diary.episodes.models import Episode
from diary.outbox.routes import INSIGHTS_CHANGED
from diary.outbox.services import outbox_enqueue
from diary.patterns.analysis import ANALYSIS_VERSION, analyse
from diary.patterns.models import InsightsDue, InsightSnapshot
from diary.patterns.selectors import analysis_rows, links_low_water, low_water_linked

DEBOUNCE = dt.timedelta(seconds=60)
KEEP_SNAPSHOTS = 5
LEASE = dt.timedelta(minutes=5)


def insights_request(*, user_id: int, delay: dt.timedelta = DEBOUNCE) -> None:
    """Ask for a refresh ``delay`` from now. A refresh already pending keeps its (earlier) time, so a
    burst of writes within the minute causes one run."""
    InsightsDue.objects.bulk_create(
        [InsightsDue(user_id=user_id, due_at=timezone.now() + delay)], ignore_conflicts=True
    )
    if delay <= dt.timedelta(0):
        InsightsDue.objects.filter(user_id=user_id, due_at__gt=timezone.now()).update(due_at=timezone.now())


def insights_run(*, user: User, today: dt.date | None = None) -> InsightSnapshot:
    """Analyse the person's last ``INSIGHTS_WINDOW_DAYS`` complete local days and store the snapshot.

    ``today`` is the day in progress in the account's zone (left out of the analysis, see analysis.py)."""
    now = timezone.now()
    today = today or now.astimezone(zone(user.current_timezone)).date()
    window = settings.INSIGHTS_WINDOW_DAYS
    since = today - dt.timedelta(days=window)
    episodes, checkins = analysis_rows(user_id=user.pk, since=since)
    report = analyse(episodes, checkins, today=today, window_days=window)
    linked_before = low_water_linked(user_id=user.pk)
    with transaction.atomic():
        snapshot = InsightSnapshot.objects.create(
            user=user, version=ANALYSIS_VERSION, computed_at=now, window_start=since, window_end=today - dt.timedelta(days=1),
            episodes=len(episodes), checkins=len(checkins), report=report,
        )  # fmt: skip
        old = InsightSnapshot.objects.filter(user=user).order_by("-computed_at", "-pk").values_list("pk", flat=True)
        InsightSnapshot.objects.filter(pk__in=list(old[KEEP_SNAPSHOTS:])).delete()
        if links_low_water(report) != linked_before:  # the new snapshot's own report, not a re-read
            # Adaptive hydration follows what the data says (reminders, after commit).
            outbox_enqueue(user_id=user.pk, topic=INSIGHTS_CHANGED, payloads=[{}])
    return snapshot


def insights_run_due(*, limit: int = 200) -> int:
    """Claim due refreshes (several workers may run this) and run them; returns how many ran.

    A claim is a lease: the row's time moves 5 minutes ahead and is deleted only after the run, so a
    worker killed mid-run delays that person's refresh, never loses it.
    """
    lease = timezone.now() + LEASE
    with transaction.atomic():
        claimed = list(
            InsightsDue.objects.select_for_update(skip_locked=True)
            .filter(due_at__lte=timezone.now())
            .order_by("due_at")
            .values_list("user_id", flat=True)[:limit]
        )
        InsightsDue.objects.filter(user_id__in=claimed).update(due_at=lease)
    for user in User.objects.filter(pk__in=claimed, is_active=True):
        insights_run(user=user)
        InsightsDue.objects.filter(user_id=user.pk, due_at=lease).delete()
    InsightsDue.objects.filter(user_id__in=claimed, user__is_active=False).delete()
    return len(claimed)


def insights_people(*, active_days: int = 90) -> list[int]:
    """People with an episode or check-in in the last ``active_days``: the nightly fan-out's list."""
    since = timezone.now() - dt.timedelta(days=active_days)
    episodes = Episode.objects.filter(started_at__gte=since, deleted_at__isnull=True).values_list("user_id", flat=True)
    checkins = CheckIn.objects.filter(date__gte=since.date(), deleted_at__isnull=True).values_list("user_id", flat=True)
    return sorted(set(episodes) | set(checkins))
