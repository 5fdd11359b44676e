"""Reads for red-flag evaluation: diary rows turned into the plain facts ``evaluation`` takes.

How far back the window rules look (``history_start``), which days are the person's today
(``days.window_todays``) and whether the diary reaches back far enough for a trend
(``evaluation.diary_covers``) are decided here, so a rule that needs a longer history, or another
notion of a local day, starts here.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import orjson
from django.db import connection
from django.db.models import QuerySet, Subquery

from diary.accounts.models import User
from diary.alerts.catalogue import BOUNDS, Thresholds
from diary.alerts.days import earth_days, window_todays
from diary.alerts.evaluation import CheckinFacts, EpisodeFacts, history_start, local_day, trend_earlier_start
from diary.checkins.models import CheckIn
from diary.core.fields import zone
from diary.episodes.models import Episode

# The longest history any clinician's thresholds can make the window rules read.
LONGEST_HISTORY: Final = Thresholds(persistent_days=BOUNDS["persistent_days"][1])


# EpisodeFacts' fields, in order
_FACTS = ("uid", "kind", "body_location", "started_at", "tz", "duration_s", "pain", "symptoms", "side")


def episode_facts(episodes: QuerySet[Episode]) -> list[EpisodeFacts]:
    """What the rules read of each episode, as plain values (a model instance per episode was a fifth of
    an evaluation's CPU)."""
    return [
        EpisodeFacts(uid, kind, location, started_at, tz, duration_s, pain, frozenset(symptoms or ()), side)
        for uid, kind, location, started_at, tz, duration_s, pain, symptoms, side in episodes.values_list(*_FACTS)
    ]


def live_episode_facts(*, user_id: int, uids: list[str]) -> dict[str, EpisodeFacts]:
    """The person's live episodes of these ids, by id."""
    if connection.vendor == "postgresql":
        facts = _facts_pg("uid = ANY(%s)", [user_id, uids])
    else:
        facts = episode_facts(Episode.objects.filter(user_id=user_id, uid__in=uids, deleted_at__isnull=True))
    return {f.uid: f for f in facts}


# On PostgreSQL the reads of an evaluation are statements written once: built by the ORM for every
# write, they were about a fifth of the red-flag worker's CPU under bench/load.py's crowd. Elsewhere
# (SQLite stores datetimes as text) the ORM's querysets convert the values.


@functools.cache
def _facts_select() -> str:
    qn = connection.ops.quote_name
    columns = ", ".join(qn(str(getattr(Episode._meta.get_field(name), "column", name))) for name in _FACTS)
    return f"SELECT {columns} FROM {qn(Episode._meta.db_table)} WHERE user_id = %s AND deleted_at IS NULL AND "


def _facts_pg(condition: str, params: list[Any]) -> list[EpisodeFacts]:
    """``episode_facts`` of the person's live episodes matching ``condition`` (``params``: the user id, then
    the condition's)."""
    with connection.cursor() as cursor:
        cursor.execute(_facts_select() + condition, params)
        rows = cursor.fetchall()
    # jsonb arrives as text (Django's JSONField parses it itself)
    return [
        EpisodeFacts(uid, kind, location, started_at, tz, duration_s, pain,
                     frozenset((orjson.loads(symptoms) if isinstance(symptoms, str) else symptoms) or ()), side)
        for uid, kind, location, started_at, tz, duration_s, pain, symptoms, side in rows
    ]  # fmt: skip


@dataclass(frozen=True)
class WindowFacts:
    todays: tuple[dt.date, ...]  # the days the rules are judged as of (days.window_todays), oldest first
    episodes: list[EpisodeFacts]  # live episodes from history_start of the earliest today (and a day of slack) on
    checkins: list[CheckinFacts]  # live check-ins of the last 7 local days of the earliest today on
    diary_start: dt.date | None  # the diary's first day, or a day proven early enough (None: empty diary)


def window_reads_since(thresholds: Thresholds, now: dt.datetime) -> tuple[dt.datetime, dt.date]:
    """(episodes from this instant, check-ins from this date): what the window rules read as of ``now``
    for any day that is today somewhere on Earth. The instant is a day before the first local day at
    UTC midnight: an episode's local day is at most 14 hours from its UTC date."""
    earliest, _ = earth_days(now)
    first = history_start(thresholds, earliest)
    since = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return since, earliest - dt.timedelta(days=6)


def window_facts(user: User, thresholds: Thresholds, now: dt.datetime) -> WindowFacts:
    """What ``window_findings_as_of`` needs as of ``now``: two queries bounded by the history it reads,
    and a third only when those do not show that the diary reaches back far enough for a trend."""
    since, checkins_from = window_reads_since(thresholds, now)
    checkin_rows: Iterable[tuple[dt.date, bool | None]]
    if connection.vendor == "postgresql":
        episodes = _facts_pg("started_at >= %s", [user.pk, since])
        with connection.cursor() as cursor:
            cursor.execute(_CHECKINS_SINCE, [user.pk, checkins_from])
            checkin_rows = cursor.fetchall()
    else:
        episodes = episode_facts(
            Episode.objects.filter(user_id=user.pk, deleted_at__isnull=True, started_at__gte=since)
        )
        checkin_rows = CheckIn.objects.filter(
            user_id=user.pk, deleted_at__isnull=True, date__gte=checkins_from
        ).values_list("date", "fluid_changes")
    checkins = [CheckinFacts(day=day, fluid_changes=fluid_changes) for day, fluid_changes in checkin_rows]
    zones = [user.timezone, user.home_timezone, user.device_timezone, *{e.tz for e in episodes}]
    todays = window_todays(now, zones, [c.day for c in checkins])
    return WindowFacts(
        todays=todays, episodes=episodes, checkins=checkins, diary_start=_diary_start(user, episodes, checkins, todays)
    )


def sweep_people(now: dt.datetime) -> list[int]:
    """Who the daily sweep re-evaluates: everyone with a live entry the window rules could read as of
    ``now`` under the longest history any clinician can set (34 local days for ``persistent`` held
    28 days; the sweep used to stop at 28 x 24 hours), as of every day that is today somewhere."""
    since, checkins_from = window_reads_since(LONGEST_HISTORY, now)
    episodes = Episode.objects.filter(started_at__gte=since, deleted_at__isnull=True)
    checkins = CheckIn.objects.filter(date__gte=checkins_from, deleted_at__isnull=True)
    return sorted(set(episodes.values_list("user_id", flat=True)) | set(checkins.values_list("user_id", flat=True)))


_CHECKINS_SINCE = (
    "SELECT date, fluid_changes FROM diary_checkin WHERE user_id = %s AND deleted_at IS NULL AND date >= %s"
)
_FIRSTS = (
    "SELECT (SELECT started_at FROM diary_episode WHERE user_id = %s AND deleted_at IS NULL ORDER BY started_at LIMIT 1),"
    " (SELECT tz FROM diary_episode WHERE user_id = %s AND deleted_at IS NULL ORDER BY started_at LIMIT 1),"
    " (SELECT date FROM diary_checkin WHERE user_id = %s AND deleted_at IS NULL ORDER BY date LIMIT 1)"
)


def _firsts(user_id: int) -> tuple[dt.datetime | None, str | None, dt.date | None]:
    """The person's first live episode's start and zone, and first live check-in's date: one round trip,
    each an index scan."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_FIRSTS, [user_id, user_id, user_id])
            found = cursor.fetchone()
        assert found is not None
        return found[0], found[1], found[2]
    by_start = Episode.objects.filter(user_id=user_id, deleted_at__isnull=True).order_by("started_at")
    by_date = CheckIn.objects.filter(user_id=user_id, deleted_at__isnull=True).order_by("date")
    first: tuple[dt.datetime | None, str | None, dt.date | None] = (
        User.objects.filter(pk=user_id)
        .values_list(
            Subquery(by_start.values("started_at")[:1]),
            Subquery(by_start.values("tz")[:1]),
            Subquery(by_date.values("date")[:1]),
        )
        .get()
    )
    return first


def _diary_start(
    user: User, episodes: list[EpisodeFacts], checkins: list[CheckinFacts], todays: tuple[dt.date, ...]
) -> dt.date | None:
    """The first local day of the person's diary (live episodes by their own local day, check-ins by
    date), read only as far as needed: if what is loaded already reaches the earliest trend's earlier
    period, that day is early enough and nothing more is read."""
    loaded = min([local_day(e) for e in episodes] + [c.day for c in checkins], default=None)
    if loaded is not None and loaded <= trend_earlier_start(todays[0]):
        return loaded
    first_started, first_tz, first_checkin = _firsts(user.pk)
    days = [d for d in (loaded, first_checkin) if d is not None]
    if first_started is not None:
        days.append(first_started.astimezone(zone(first_tz)).date())
    return min(days, default=None)
