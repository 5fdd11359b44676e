"""Reads for red-flag evaluation: diary rows turned into the plain facts ``evaluation`` takes.

How far back the window rules look (``history_start``) and which day is the person's today are
decided here, so a rule that needs a longer history, or another notion of a local day, starts here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from diary.accounts.models import User
from diary.alerts.catalogue import Thresholds
from diary.alerts.evaluation import CheckinFacts, EpisodeFacts, history_start
from diary.checkins.models import CheckIn
from diary.core.fields import zone
from diary.episodes.models import Episode


def episode_facts(e: Episode) -> EpisodeFacts:
    return EpisodeFacts(
        uid=e.uid, kind=e.kind, body_location=e.body_location, started_at=e.started_at, tz=e.tz,
        duration_s=e.duration_s, pain=e.pain, symptoms=frozenset(e.symptoms or ()),
    )  # fmt: skip


@dataclass(frozen=True)
class WindowFacts:
    today: dt.date  # the person's local today (their current zone)
    episodes: list[EpisodeFacts]  # live episodes from history_start (and a day of slack) on
    checkins: list[CheckinFacts]  # live check-ins of the last 7 local days


def window_facts(user: User, thresholds: Thresholds, now: dt.datetime) -> WindowFacts:
    """What ``window_findings`` needs as of ``now``: two queries, bounded by the history it reads."""
    today = now.astimezone(zone(user.current_timezone)).date()
    first = history_start(thresholds, today)
    since = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)  # zones: a day of slack
    episodes = [
        episode_facts(e)
        for e in Episode.objects.filter(user_id=user.pk, deleted_at__isnull=True, started_at__gte=since)
    ]
    checkins = [
        CheckinFacts(day=c.date, fluid_changes=c.fluid_changes)
        for c in CheckIn.objects.filter(
            user_id=user.pk, deleted_at__isnull=True, date__gte=today - dt.timedelta(days=6)
        )
    ]
    return WindowFacts(today=today, episodes=episodes, checkins=checkins)
