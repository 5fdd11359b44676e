"""Reminder rules and inbox notifications on the wire (SYNC.md ``reminders``, ``notifications``)."""

from __future__ import annotations

from typing import Any

from diary.core.fields import Bool, Choice, ClockTime, Instant, Int, RecordSpec, Text, ValueList

REMINDER_KINDS = ("hydration", "stretching", "therapy", "custom")
SCHEDULES = ("interval", "times", "once")


def _schedule_complete(v: dict[str, Any]) -> dict[str, str]:
    schedule = v.get("schedule")
    if schedule == "interval" and v.get("interval_min") is None:
        return {"interval_min": "an interval reminder needs interval_min"}
    if schedule == "times" and not v.get("times"):
        return {"times": "a times reminder needs at least one HH:MM"}
    if schedule == "once" and v.get("fire_at") is None:
        return {"fire_at": "a once reminder needs fire_at"}
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
    checks=(_schedule_complete,),
    required=frozenset({"kind", "schedule"}),
)

NOTIFICATION = RecordSpec(
    table="notifications",
    fields=(
        Choice("kind", read_only=True, choices=("reminder", "alert", "suggestion", "share")),
        Text("reminder_id", read_only=True, max_length=36),
        Text("alert_id", read_only=True, max_length=36),
        Text("title", read_only=True, max_length=200),
        Text("body", read_only=True, max_length=4000),
        Instant("scheduled_for", read_only=True),
        Instant("delivered_at"),
        Choice("action", choices=("done", "snoozed", "dismissed")),
        Instant("acted_at"),
        Int("snooze_min", minimum=1, maximum=24 * 60),
    ),
)
