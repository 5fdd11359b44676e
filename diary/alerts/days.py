"""Whose day: which local days are "today" for a person's window rules, which episodes are a backlog,
and how far back the diary must reach for a trend (DOMAIN.md section 4, "How alerts count"). Pure.

**Today.** An episode's local day is its day in its own zone (``tz``). A person's "today" is not
only the account zone's today: someone whose account says Honolulu but who logs five days in
Auckland is living Auckland's days, and Honolulu's today is a day behind them, so "the last 7 days"
judged from Honolulu drops the first of the five (issue 14). Nor is it only the newest entry's zone:
a person who logged in Honolulu but whose account says Auckland would lose the oldest Honolulu day.
So the window rules are judged as of every day that is *today in a zone the person is known to be
in* (``window_todays``): the account's zone, the home zone and the device's zone, the zone recorded
with each episode the evaluation reads, and the newest check-in's date when that date is today
somewhere on Earth. A rule holds if it holds as of any of them. The latest of these days is the
latest local day the person's data or devices imply; none is ever later than today at UTC+14 (the
most advanced real zone) nor earlier than today at UTC-12, so at most three distinct days, and in
practice one or two.

Why this never invents an alarm: the days differ by a day at most, and for the count rules
(``frequent``, ``persistent_pain``, ``fluid_changes``, widespread twitching) judging as of a later
day is what tomorrow's evaluation says with the same entries, judging as of an earlier day is what
yesterday's said had the entries been synced then. Each is an honest "last 7 days" of a zone the
person was in.

**Backlog.** Per-episode rules alarm only on episodes of the last ``BACKLOG_DAYS`` local days, in
the episode's own zone (``is_backlog``); older ones arriving from an offline backlog still count in
the window rules. Counted in local days, not 7 x 24 hours: a week with a DST change is 167 or 169
hours long, and an episode from the first hour of its first day is still "this week".

**Trend history.** Whether a diary reaches back far enough for a trend: ``evaluation.diary_covers``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

EARLIEST_OFFSET: Final = dt.timedelta(hours=-12)  # the furthest-behind real zone (Baker Island)
LATEST_OFFSET: Final = dt.timedelta(hours=14)  # the furthest-ahead real zone (Line Islands)
BACKLOG_DAYS: Final = 7


@lru_cache(maxsize=256)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def today_in(zone_name: str, now: dt.datetime) -> dt.date | None:
    """``now``'s date in the zone, or None for a name that is not an IANA zone."""
    z = _zone(zone_name) if zone_name else None
    return now.astimezone(z).date() if z is not None else None


def earth_days(now: dt.datetime) -> tuple[dt.date, dt.date]:
    """(earliest, latest): the dates it is somewhere on Earth at ``now`` (UTC-12 .. UTC+14)."""
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, got {now!r}")
    utc = now.astimezone(dt.UTC)
    return (utc + EARLIEST_OFFSET).date(), (utc + LATEST_OFFSET).date()


def window_todays(now: dt.datetime, zones: Iterable[str], checkin_days: Iterable[dt.date] = ()) -> tuple[dt.date, ...]:
    """The days the window rules are judged as of, oldest first (see the module docstring).

    ``zones``: the account's, home and device zones and the zones of the episodes read (blank and
    unknown names are skipped). ``checkin_days``: the dates of the check-ins read; only the newest
    counts, and only if it is today somewhere on Earth (a check-in dated ahead of every real zone
    moves nothing). If no zone is usable, today in UTC.
    """
    earliest, latest = earth_days(now)
    days = {d for d in (today_in(z, now) for z in set(zones)) if d is not None}
    newest_checkin = max(checkin_days, default=None)
    if newest_checkin is not None and earliest <= newest_checkin <= latest:
        days.add(newest_checkin)
    return tuple(sorted(days)) or (now.astimezone(dt.UTC).date(),)


def is_backlog(started_at: dt.datetime, tz: str, now: dt.datetime) -> bool:
    """An episode before the last ``BACKLOG_DAYS`` local days of its own zone: history, not an emergency."""
    z = _zone(tz) or dt.UTC
    today = now.astimezone(z).date()
    return started_at.astimezone(z).date() < today - dt.timedelta(days=BACKLOG_DAYS - 1)
