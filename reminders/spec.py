"""Reminder rules on the wire (SYNC.md ``reminders``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from diary.core.fields import Bool, Choice, ClockTime, Instant, Int, RecordSpec, Text, ValueList
from reminders.schedule import in_quiet_hours

REMINDER_KINDS = ("hydration", "stretching", "therapy", "custom")
SCHEDULES = ("interval", "times", "once")


def _schedule_complete(v: dict[str, Any]) -> dict[str, str]:
    schedule = v.get("schedule")
    if schedule == "interval" and v.get("interval_min") is None:
        return {"interval_min": "an interval reminder needs interval_min (minutes, 15-1440)"}
    if schedule == "times" and not v.get("times"):
        return {"times": "a times reminder needs at least one HH:MM"}
    if schedule == "once" and v.get("fire_at") is None:
        return {"fire_at": "a once reminder (a timer) needs fire_at"}
    return {}


def _window(v: dict[str, Any]) -> dict[str, str]:
    """The waking window is one stretch of a day; only quiet hours may run past midnight."""
    start, end = v.get("window_start"), v.get("window_end")
    if (start is None) != (end is None):
        missing = "window_end" if end is None else "window_start"
        return {missing: "give both window_start and window_end, or neither to use your waking hours"}
    if start is not None and end <= start:
        return {"window_end": "must be after window_start; to pause overnight use quiet_start/quiet_end"}
    return {}


def _quiet(v: dict[str, Any]) -> dict[str, str]:
    start, end = v.get("quiet_start"), v.get("quiet_end")
    if (start is None) != (end is None):
        missing = "quiet_end" if end is None else "quiet_start"
        return {missing: "give both quiet_start and quiet_end, or neither"}
    times = v.get("times") if v.get("schedule") == "times" else None
    if times and start is not None and all(in_quiet_hours(dt.time.fromisoformat(t), start, end) for t in times):
        return {"times": "every time falls in the quiet hours, so this reminder would never fire"}
    return {}


REMINDER = RecordSpec(
    table="reminders",
    fields=(
        Choice("kind", nullable=False, choices=REMINDER_KINDS),
        Text("label", max_length=120),
        Choice("schedule", nullable=False, choices=SCHEDULES),
        Int("interval_min", minimum=15, maximum=24 * 60),
        ClockTime("window_start"),
        ClockTime("window_end"),
        ValueList("times", item=ClockTime("time"), max_items=48),
        ValueList("weekdays", item=Int("weekday", minimum=0, maximum=6), max_items=7),
        ClockTime("quiet_start"),
        ClockTime("quiet_end"),
        Instant("fire_at"),
        Choice("tz_mode", nullable=False, default="device", choices=("device", "home")),
        Bool("adaptive", nullable=False, default=False),
        Bool("enabled", nullable=False, default=True),
    ),
    checks=(_schedule_complete, _window, _quiet),
    required=frozenset({"kind", "schedule"}),
)
