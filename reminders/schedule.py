"""When a reminder fires: pure schedule maths over local wall-clock times (no Django).

A rule names local clock times; the person's IANA zone turns them into instants:

- ``interval``: every ``interval_min`` minutes of wall-clock time from ``window_start`` up to and
  including ``window_end`` on each local day (a window whose end is before its start runs past
  midnight into the next day and belongs to the day it starts on);
- ``times``: each clock time in ``times``;
- ``once``: the instant ``fire_at``, whatever the zone, quiet hours or weekdays (a timer).

``weekdays`` (Monday = 0; empty means every day) filter the local day a window or time belongs to.
Quiet hours ``[quiet_start, quiet_end)`` drop any wall-clock time inside them; they may cross
midnight, and equal ends mean no quiet hours.

Daylight saving time: a wall-clock time that does not exist that day (the clocks jump over it)
fires at the first instant after it that exists, the moment of the jump; a wall-clock time that
happens twice (clocks go back) fires once, at its first occurrence. Several wall-clock times that
land on the same instant fire once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

UTC = dt.UTC
DAY_MIN = 24 * 60
# Longest stretch without a fire for a rule that fires at all: a weekly rule, plus a day either side.
_HORIZON_DAYS = 9


@dataclass(frozen=True)
class Schedule:
    kind: Literal["interval", "times", "once"]
    interval_min: int | None = None
    window_start: dt.time | None = None
    window_end: dt.time | None = None
    times: tuple[dt.time, ...] = ()
    weekdays: frozenset[int] = field(default_factory=frozenset)
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None
    fire_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("interval", "times", "once"):
            raise ValueError(f"unknown schedule kind {self.kind!r}")
        if self.kind == "interval":
            if not self.interval_min or self.interval_min < 1:
                raise ValueError("an interval schedule needs interval_min >= 1")
            if self.window_start is None or self.window_end is None:
                raise ValueError("an interval schedule needs a window")
        elif self.kind == "times" and not self.times:
            raise ValueError("a times schedule needs at least one time")
        elif self.kind == "once" and (self.fire_at is None or self.fire_at.tzinfo is None):
            raise ValueError("a once schedule needs an aware fire_at")


IntervalFor = Callable[[dt.date], int]


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def in_quiet_hours(t: dt.time, quiet_start: dt.time | None, quiet_end: dt.time | None) -> bool:
    if quiet_start is None or quiet_end is None or quiet_start == quiet_end:
        return False
    m, qs, qe = _minutes(t), _minutes(quiet_start), _minutes(quiet_end)
    if qs < qe:
        return qs <= m < qe
    return m >= qs or m < qe  # crosses midnight


def local_to_utc(day: dt.date, clock: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The instant a local wall-clock time happens: its first occurrence, or the jump over it."""
    naive = dt.datetime.combine(day, clock)
    first = naive.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant  # exists (fold=0 is the first of two occurrences)
    # In a gap: fold=0 reads the time with the offset before the jump (an instant after the jump),
    # fold=1 with the offset after it (an instant before). The jump lies between; find it.
    lo = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    hi = instant
    if lo > hi:
        lo, hi = hi, lo
    while hi - lo > dt.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi


def day_clock_times(schedule: Schedule, day: dt.date, interval_for: IntervalFor | None = None) -> list[dt.datetime]:
    """The naive local date-times a rule names for the local day ``day`` (before DST resolution)."""
    if schedule.weekdays and day.weekday() not in schedule.weekdays:
        return []
    midnight = dt.datetime.combine(day, dt.time())
    if schedule.kind == "times":
        wanted = sorted(set(schedule.times))
        return [
            dt.datetime.combine(day, t)
            for t in wanted
            if not in_quiet_hours(t, schedule.quiet_start, schedule.quiet_end)
        ]
    if schedule.kind != "interval":
        return []
    assert schedule.window_start is not None and schedule.window_end is not None
    step = interval_for(day) if interval_for else schedule.interval_min
    assert step is not None and step >= 1
    start, end = _minutes(schedule.window_start), _minutes(schedule.window_end)
    if end < start:
        end += DAY_MIN  # the window runs past midnight
    out: list[dt.datetime] = []
    for m in range(start, end + 1, step):
        local = midnight + dt.timedelta(minutes=m)
        if not in_quiet_hours(local.time(), schedule.quiet_start, schedule.quiet_end):
            out.append(local)
    return out


def next_fire(
    schedule: Schedule, after: dt.datetime, zone: ZoneInfo, interval_for: IntervalFor | None = None
) -> dt.datetime | None:
    """The first fire instant strictly after ``after`` (aware), in UTC; None if it never fires again."""
    if after.tzinfo is None:
        raise ValueError("after must be aware")
    # Compare instants in UTC: two datetimes of one zone compare wall clocks and ignore ``fold``.
    after = after.astimezone(UTC)
    if schedule.kind == "once":
        assert schedule.fire_at is not None
        fire_at = schedule.fire_at.astimezone(UTC)
        return fire_at if fire_at > after else None
    # Yesterday's window may run past midnight into today; otherwise today is the place to start.
    crosses = schedule.kind == "interval" and schedule.window_end < schedule.window_start  # type: ignore[operator]
    day = after.astimezone(zone).date() - dt.timedelta(days=1 if crosses else 0)
    for _ in range(_HORIZON_DAYS):
        # Wall-clock order is instant order (first occurrences; a gap maps to its jump), so the first
        # candidate after ``after`` is the answer and the rest of the day need not be converted.
        for local in day_clock_times(schedule, day, interval_for):
            instant = local_to_utc(local.date(), local.time(), zone)
            if instant > after:
                return instant
        day += dt.timedelta(days=1)
    return None
