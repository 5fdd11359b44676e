"""From a stored rule and its person to the schedule maths: zone, waking window, adaptive interval."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from diary.core.fields import zone
from reminders.schedule import Schedule, next_fire

if TYPE_CHECKING:
    from diary.accounts.models import User

# Adaptive hydration: on a hot or hard-exercise day the interval shrinks to two thirds, never
# below 45 minutes (nor below the rule's own interval when that is already shorter).
ADAPTIVE_FACTOR = 2 / 3
ADAPTIVE_FLOOR_MIN = 45


def rule_zone(tz_mode: str, user: User) -> ZoneInfo:
    """``device``: where the phone says the person is now; ``home``: home time while travelling."""
    return zone(user.home_zone if tz_mode == "home" else user.current_timezone)


def adaptive_interval(interval_min: int) -> int:
    return min(interval_min, max(ADAPTIVE_FLOOR_MIN, round(interval_min * ADAPTIVE_FACTOR)))


def rule_schedule(values: Mapping[str, Any], user: User) -> Schedule | None:
    """The rule as pure schedule data, or None when it is switched off. An interval rule without a
    window of its own follows the person's waking hours."""
    if not values.get("enabled", True):
        return None
    kind = values["schedule"]
    if kind == "once":
        return Schedule("once", fire_at=values["fire_at"])
    weekdays = frozenset(values.get("weekdays") or ())
    quiet_start, quiet_end = values.get("quiet_start"), values.get("quiet_end")
    if kind == "times":
        times = tuple(dt.time.fromisoformat(t) for t in values.get("times") or ())
        return Schedule("times", times=times, weekdays=weekdays, quiet_start=quiet_start, quiet_end=quiet_end)
    start = values.get("window_start") or user.wake_time
    end = values.get("window_end") or user.sleep_time
    return Schedule(
        "interval",
        interval_min=values["interval_min"],
        window_start=start,
        window_end=end,
        weekdays=weekdays,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
    )


def is_adaptive(values: Mapping[str, Any]) -> bool:
    return bool(values.get("adaptive")) and values.get("kind") == "hydration" and values.get("schedule") == "interval"


def rule_next_fire(
    values: Mapping[str, Any],
    user: User,
    *,
    after: dt.datetime,
    snooze_until: dt.datetime | None = None,
    adaptive_days: Collection[dt.date] = (),
) -> dt.datetime | None:
    """When the rule fires next after ``after``: its schedule, or a pending snooze if that is sooner."""
    schedule = rule_schedule(values, user)
    if schedule is None:
        return None
    interval_for = None
    if adaptive_days and is_adaptive(values):
        base = int(values["interval_min"])
        short = adaptive_interval(base)
        days = frozenset(adaptive_days)

        def interval_for(day: dt.date) -> int:
            return short if day in days else base

    upcoming = next_fire(schedule, after, rule_zone(values.get("tz_mode") or "device", user), interval_for)
    if snooze_until is not None and snooze_until > after and (upcoming is None or snooze_until < upcoming):
        return snooze_until
    return upcoming


def rule_values(rule: Any) -> dict[str, Any]:
    """The columns of a stored rule that the schedule reads."""
    names = (
        "kind", "schedule", "interval_min", "window_start", "window_end", "times", "weekdays",
        "quiet_start", "quiet_end", "fire_at", "tz_mode", "adaptive", "enabled",
    )  # fmt: skip
    return {name: getattr(rule, name) for name in names}
