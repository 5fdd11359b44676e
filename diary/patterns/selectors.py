"""Reads for pattern detection: a person's rows as plain data, and their latest snapshot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import connection

from diary.checkins.models import CheckIn
from diary.episodes.models import Episode
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
