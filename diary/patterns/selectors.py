"""Reads for pattern detection: a person's rows as plain data, and their latest snapshot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from diary.accounts.models import User, current_zone
from diary.checkins.models import CheckIn
from diary.episodes.models import Episode
from diary.patterns.days import zone
from diary.patterns.models import InsightSnapshot
from diary.patterns.rows import CheckinRow, EpisodeRow


def analysis_rows(*, user_id: int, since: dt.date) -> tuple[list[EpisodeRow], list[CheckinRow]]:
    """Live episodes and check-ins from ``since`` (a day of slack for zones), only the columns analysed."""
    start = dt.datetime.combine(since - dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    episodes = [
        EpisodeRow(
            started_at=started_at, tz=tz, kind=kind, body_location=location, duration_s=duration, pain=pain,
            triggers=tuple(triggers or ()), relief=tuple(relief or ()), relief_score=relief_score,
        )
        for started_at, tz, kind, location, duration, pain, triggers, relief, relief_score in Episode.objects.filter(
            user_id=user_id, deleted_at__isnull=True, started_at__gte=start
        ).values_list(
            "started_at", "tz", "kind", "body_location", "duration_s", "pain", "triggers", "relief", "relief_score"
        )
    ]  # fmt: skip
    checkins = [
        CheckinRow(
            day=day, water_ml=water, caffeine_servings=caffeine, exercise_intensity=intensity, hot_weather=hot,
            sleep_h=sleep, stress=stress, sitting_h=sitting, medications=tuple(medications or ()),
        )
        for day, water, caffeine, intensity, hot, sleep, stress, sitting, medications in CheckIn.objects.filter(
            user_id=user_id, deleted_at__isnull=True, date__gte=since
        ).values_list(
            "date", "water_ml", "caffeine_servings", "exercise_intensity", "hot_weather", "sleep_h", "stress",
            "sitting_h", "medications",
        )
    ]  # fmt: skip
    return episodes, checkins


REFRESH_CHECK_MAX = 500


def insights_need_refresh(
    *, user_id: int, episodes: Sequence[str] | None = None, checkins: Sequence[str] | None = None
) -> bool:
    """Could the written rows (``uids`` of episodes or check-ins, deleted ones included) change what the
    person's insights say? The analysis reads only complete local days (analysis.py), so a row that is,
    and always was, on the day in progress changes nothing until that day ends, and the refresh at
    the next write or the nightly run picks it up. True (a refresh is needed) when:

    - there is no snapshot yet, or a local day has ended since the latest one (its window ends before
      yesterday in the person's zone now);
    - a row's local day is before today (an episode on the day of its start in its own zone, as
      days.py counts it; a check-in on its date): a backfill, an edit or a deletion of a past day;
    - a row was created (by the client's clock) before the latest snapshot was computed: the snapshot
      may hold its earlier
      values (an edit that moved an episode from yesterday to today); rows pushed as soon as they are
      made (the app online) are newer than the snapshot;
    - the write names no rows (nothing to judge by), or more than ``REFRESH_CHECK_MAX`` (a large push
      is not read back row by row: it is refreshed).
    """
    latest, current_zone = _latest_and_zone(user_id)
    named = len(episodes or ()) + len(checkins or ())
    if latest is None or current_zone is None or (episodes is None and checkins is None) or named > REFRESH_CHECK_MAX:
        return True
    window_end, computed_at = latest
    today = timezone.now().astimezone(zone(current_zone)).date()
    if window_end < today - dt.timedelta(days=1):
        return True
    for started_at, tz, created_at in _episodes_named(user_id, list(episodes or ())):
        if created_at <= computed_at or started_at.astimezone(zone(tz)).date() < today:
            return True
    return (
        CheckIn.objects.filter(user_id=user_id, uid__in=checkins or ())
        .filter(Q(date__lt=today) | Q(created_at__lte=computed_at))
        .exists()
    )


# On PostgreSQL ``insights_need_refresh``'s reads are statements written once: it runs for every diary write,
# and the ORM built three querysets each time (two thirds of the handler's CPU). Elsewhere (SQLite stores
# datetimes as text) the querysets convert the values.
_LATEST_AND_ZONE = (
    "SELECT s.window_end, s.computed_at, u.device_timezone, u.timezone FROM accounts_user u"
    " LEFT JOIN LATERAL (SELECT window_end, computed_at FROM diary_insight_snapshot WHERE user_id = u.id"
    " ORDER BY computed_at DESC, id DESC LIMIT 1) s ON true WHERE u.id = %s"
)
_EPISODES_NAMED = "SELECT started_at, tz, created_at FROM diary_episode WHERE user_id = %s AND uid = ANY(%s)"


def _latest_and_zone(user_id: int) -> tuple[tuple[dt.date, dt.datetime] | None, str | None]:
    """The latest snapshot's ``(window_end, computed_at)`` (None: none yet) and the zone the person is in
    now (None: no such account)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_LATEST_AND_ZONE, [user_id])
            found = cursor.fetchone()
        if found is None:
            return None, None
        window_end, computed_at, device_timezone, home = found
        now_in = current_zone(device_timezone=device_timezone, timezone=home)
        return (None if computed_at is None else (window_end, computed_at)), now_in
    latest = (
        InsightSnapshot.objects.filter(user_id=user_id)
        .order_by("-computed_at", "-pk")
        .values_list("window_end", "computed_at")
        .first()
    )
    account = User.objects.filter(pk=user_id).only("device_timezone", "timezone").first()
    return latest, None if account is None else account.current_timezone


def _episodes_named(user_id: int, uids: list[str]) -> list[tuple[dt.datetime, str, dt.datetime]]:
    """``(started_at, tz, created_at)`` of the person's episodes of these ids, deleted ones included."""
    if not uids:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_EPISODES_NAMED, [user_id, uids])
            return cursor.fetchall()
    return list(Episode.objects.filter(user_id=user_id, uid__in=uids).values_list("started_at", "tz", "created_at"))


def insights_latest(*, user_id: int) -> InsightSnapshot | None:
    return InsightSnapshot.objects.filter(user_id=user_id).order_by("-computed_at", "-pk").first()


def low_water_linked(*, user_id: int) -> bool:
    """Does the latest snapshot link low water to more episodes (significant, rate ratio above 1)?"""
    snapshot = insights_latest(user_id=user_id)
    if snapshot is None:
        return False
    return links_low_water(snapshot.report)


def low_water_linked_among(user_ids: list[int]) -> set[int]:
    """Of these people, those whose latest snapshot links low water to more episodes."""
    if not user_ids:
        return set()
    latest = (
        InsightSnapshot.objects.filter(user_id__in=user_ids)
        .order_by("user_id", "-computed_at", "-pk")
        .distinct("user_id")
        .values_list("user_id", "report")
        if connection.vendor == "postgresql"
        else [(u, s.report) for u in user_ids if (s := insights_latest(user_id=u)) is not None]
    )
    return {user_id for user_id, report in latest if links_low_water(report)}


def links_low_water(report: Mapping[str, Any]) -> bool:
    # "more": more episodes when exposed (the rate ratio is None when unexposed days had none at all).
    return any(
        t.get("exposure") == "low_water" and t.get("significant") and t.get("direction") == "more"
        for t in report.get("triggers", [])
    )
