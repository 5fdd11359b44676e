"""Local-day bucketing: a person's rows as arrays indexed by the day of the window.

The unit of every comparison is the LOCAL DAY: an episode belongs to the calendar day of its start in
its own zone (``EpisodeRow.tz``), a check-in to its ``day``. The window is ``days`` local days from
``start`` to ``end`` (inclusive, the last complete day: analysis.py leaves the day in progress out);
day ``i`` is ``start + i``. Rates count only OBSERVED days: the
window, but no earlier than the person's first entry (episode or check-in) when that is inside it.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from diary.patterns.rows import CheckinRow, EpisodeRow
from diary.vocab import EPISODE_KINDS

# the check-in values as numbers, one row each of CheckinDays.values (exposures.py reads them by name)
CHECKIN_FIELDS = (
    "water_ml", "caffeine_servings", "exercise_intensity", "hot_weather", "sleep_h", "stress", "sitting_h",
    "medications",
)  # fmt: skip
INTENSITY = {"none": 0.0, "light": 1.0, "moderate": 2.0, "vigorous": 3.0}

_ZONES: dict[str, dt.tzinfo] = {}


def zone(name: str) -> dt.tzinfo:
    """The zone by IANA name (cached); UTC for a name this system does not know."""
    z = _ZONES.get(name)
    if z is None:
        try:
            z = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            z = dt.UTC
        _ZONES[name] = z
    return z


@dataclass
class EpisodeDays:
    """The window's episodes as arrays (one entry per episode)."""

    day: np.ndarray  # int, index of the local day in the window
    hour: np.ndarray  # int, local hour
    kind: np.ndarray  # int, index in EPISODE_KINDS (-1: unknown kind)
    duration: np.ndarray  # float seconds, nan while ongoing
    location: list[str]
    triggers: list[tuple[str, ...]]
    relief: list[tuple[str, ...]]
    relief_score: np.ndarray  # float, nan when not rated
    earlier: bool  # some episode lies before the window


@dataclass
class CheckinDays:
    values: np.ndarray  # (CHECKIN_FIELDS x days) float, nan = not logged
    has: np.ndarray  # (days,) bool: the days that have a check-in
    earlier: bool  # some check-in lies before the window


def episode_days(episodes: Sequence[EpisodeRow], start: dt.date, end: dt.date) -> EpisodeDays:
    """The episodes whose local day lies in ``start``..``end`` (later ones, e.g. today's, are left out)."""
    lo, hi = start - dt.timedelta(days=2), end + dt.timedelta(days=2)
    kind_index = {k: i for i, k in enumerate(EPISODE_KINDS)}
    day: list[int] = []
    hour: list[int] = []
    kind: list[int] = []
    duration: list[float] = []
    location: list[str] = []
    triggers: list[tuple[str, ...]] = []
    relief: list[tuple[str, ...]] = []
    score: list[float] = []
    earlier = False
    for e in episodes:
        at = e.started_at
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        rough = at.date()  # within a day of the local day whatever the offsets (at most 14 h each)
        if rough < lo:
            earlier = True
            continue
        if rough > hi:
            continue
        local = at.astimezone(zone(e.tz))
        d = local.date()
        if d < start:
            earlier = True
            continue
        if d > end:
            continue
        day.append((d - start).days)
        hour.append(local.hour)
        kind.append(kind_index.get(e.kind, -1))
        duration.append(math.nan if e.duration_s is None or e.duration_s < 0 else float(e.duration_s))
        location.append(e.body_location)
        triggers.append(tuple(dict.fromkeys(e.triggers)))
        relief.append(tuple(dict.fromkeys(e.relief)))
        s = e.relief_score
        score.append(float(s) if s is not None and 0 <= s <= 10 else math.nan)
    return EpisodeDays(
        day=np.asarray(day, dtype=np.int64),
        hour=np.asarray(hour, dtype=np.int64),
        kind=np.asarray(kind, dtype=np.int64),
        duration=np.asarray(duration, dtype=float),
        location=location,
        triggers=triggers,
        relief=relief,
        relief_score=np.asarray(score, dtype=float),
        earlier=earlier,
    )


def _num(v: float | bool | None) -> float:
    return math.nan if v is None else float(v)


def checkin_days(checkins: Sequence[CheckinRow], start: dt.date, days: int) -> CheckinDays:
    values = np.full((len(CHECKIN_FIELDS), days), np.nan)
    has = np.zeros(days, dtype=bool)
    earlier = False
    for c in checkins:
        i = (c.day - start).days
        if i < 0:
            earlier = True
            continue
        if i >= days:
            continue
        has[i] = True
        intensity = math.nan if c.exercise_intensity is None else INTENSITY.get(c.exercise_intensity, math.nan)
        values[:, i] = (
            _num(c.water_ml),
            _num(c.caffeine_servings),
            intensity,
            _num(c.hot_weather),
            _num(c.sleep_h),
            _num(c.stress),
            _num(c.sitting_h),
            float(len(c.medications or ())),
        )
    return CheckinDays(values=values, has=has, earlier=earlier)


def observed_from(ep: EpisodeDays, checkins: CheckinDays, days: int) -> int:
    """The first observed day: 0 when anything lies before the window, else the first entry's day
    (``days``, nothing observed, for an empty diary)."""
    if ep.earlier or checkins.earlier:
        return 0
    firsts = [int(ep.day.min())] if ep.day.size else []
    if checkins.has.any():
        firsts.append(int(np.argmax(checkins.has)))
    return min(firsts) if firsts else days


def kinds_present(ep: EpisodeDays) -> list[str]:
    """The episode kinds with at least one episode in the window, in vocabulary order."""
    return [k for i, k in enumerate(EPISODE_KINDS) if (ep.kind == i).any()]
