"""Reminder rows -> natural JSON (REST)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from reminders.models import Device, Notification, ReminderRule


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


def notification_to_rest(n: Notification) -> dict[str, Any]:
    return {
        "id": n.uid,
        "kind": n.kind,
        "reminder_id": n.reminder_id,
        "alert_id": n.alert_id,
        "title": n.title,
        "body": n.body,
        "scheduled_for": _iso(n.scheduled_for),
        "delivered_at": _iso(n.delivered_at),
        "action": n.action,
        "acted_at": _iso(n.acted_at),
        "snooze_min": n.snooze_min,
    }


def device_to_rest(d: Device) -> dict[str, Any]:
    return {
        "id": d.uid,
        "platform": d.platform,
        "label": d.label,
        "active": d.active,
        "created_at": d.created_at.isoformat(),
        "last_success_at": _iso(d.last_success_at),
        "deactivated_at": _iso(d.deactivated_at),
    }
