"""What every transport takes (a message and a target) and the errors it raises."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

TIMEOUT_S = 10.0  # connect and read timeout of every push request


@dataclass(frozen=True)
class PushMessage:
    notification_id: str  # the inbox row id; every transport must carry it so the app shows a notification once
    kind: str  # reminder | alert | suggestion | share
    title: str
    body: str
    data: Mapping[str, str] = field(default_factory=dict)  # extra string fields (reminder_id, alert_id, scheduled_for)
    urgent: bool = False  # alerts: high priority / time-sensitive
    ttl_s: int = 3600

    def data_fields(self) -> dict[str, str]:
        """The extra fields plus notification_id and kind, all strings (what FCM ``data`` needs)."""
        fields = {str(k): str(v) for k, v in self.data.items()}
        fields.update(notification_id=self.notification_id, kind=self.kind)
        return fields

    def payload(self) -> dict[str, Any]:
        """The JSON document the app reads: notification_id, kind, title, body, data."""
        return {
            "notification_id": self.notification_id,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "data": dict(self.data),
        }


@dataclass(frozen=True)
class PushTarget:
    platform: str  # "webpush" | "fcm" | "apns"
    token: str  # FCM registration token, APNs device token (hex), or the Web Push endpoint URL
    keys: Mapping[str, str] = field(default_factory=dict)  # Web Push: {"p256dh": ..., "auth": ...}


class PushError(Exception):
    """A push was not delivered."""


class TransientPushError(PushError):
    """Retry later: network error, timeout, 429, 5xx, or a server-side credential problem."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentPushError(PushError):
    """The token or subscription is dead: the caller deactivates the device."""


class Transport(Protocol):
    platform: str

    def send(self, target: PushTarget, message: PushMessage) -> None: ...


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def json_body(text: str) -> dict[str, Any]:
    """A response body as a JSON object, or {} when it is not one."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def status_error(service: str, status: int, detail: str, retry_after: float | None = None) -> TransientPushError:
    """The TransientPushError for a non-success answer that does not mean the device is gone."""
    if status in (401, 403):
        why = "credentials rejected (server configuration, device kept)"
    elif status == 429:
        why = "rate limited"
    elif status >= 500:
        why = "service unavailable"
    else:
        why = "request rejected (device kept)"
    return TransientPushError(f"{service}: {why}: HTTP {status} {detail}".strip(), retry_after=retry_after)
