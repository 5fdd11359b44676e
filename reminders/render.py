"""Reminder rows -> natural JSON (REST)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from reminders.models import ReminderRule


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _clock(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def reminder_to_rest(r: ReminderRule) -> dict[str, Any]:
    return {
        "id": r.uid,
        "kind": r.kind,
        "label": r.label,
        "schedule": r.schedule,
        "interval_min": r.interval_min,
        "window_start": _clock(r.window_start),
        "window_end": _clock(r.window_end),
        "times": r.times,
        "weekdays": r.weekdays,
        "quiet_start": _clock(r.quiet_start),
        "quiet_end": _clock(r.quiet_end),
        "fire_at": _iso(r.fire_at),
        "tz_mode": r.tz_mode,
        "adaptive": r.adaptive,
        "enabled": r.enabled,
        "next_fire_at": _iso(r.next_fire_at),
    }
