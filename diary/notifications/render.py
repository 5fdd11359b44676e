"""Inbox and device rows -> natural JSON (REST)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from diary.notifications.models import Device, Notification


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


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
