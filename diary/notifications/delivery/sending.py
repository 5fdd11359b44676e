"""Sending pending pushes: claim with a lease, send outside any transaction, record the outcome.

At least once: a worker killed mid-send leaves the lease to run out, and the sweeper sends again.
Every push carries the notification id, so the app shows a notification once however often it
arrives. A transient failure backs off (30 s doubling to an hour, eight tries); a dead token
deactivates its device; the inbox row is never touched, so the app still shows it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from diary.core.backoff import backoff_delay
from diary.core.fields import datetime_to_ms
from diary.notifications.delivery.base import PermanentPushError, PushMessage, PushTarget, TransientPushError
from diary.notifications.delivery.registry import transport_for
from diary.notifications.devices import device_deactivate
from diary.notifications.models import Device, Notification, PushDelivery

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


@dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def message_for(notification: Notification) -> PushMessage:
    data = {"notification_id": notification.uid}
    for key in ("reminder_id", "alert_id"):
        value = getattr(notification, key)
        if value:
            data[key] = value
    if notification.scheduled_for is not None:
        data["scheduled_for"] = str(datetime_to_ms(notification.scheduled_for))
    return PushMessage(
        notification_id=notification.uid,
        kind=notification.kind,
        title=notification.title,
        body=notification.body,
        data=data,
        urgent=notification.kind == "alert",
    )


def _claim(ids: list[int]) -> list[PushDelivery]:
    """Lease to this worker the pending ones among ``ids`` never tried, or whose back-off or lease ran out."""
    now = timezone.now()
    lease = now + dt.timedelta(seconds=settings.PUSH_LEASE_SECONDS)
    with transaction.atomic():
        rows = list(
            PushDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(Q(attempts=0) | Q(next_attempt_at__lte=now), pk__in=ids, status=PushDelivery.PENDING)
            .select_related("notification", "device")
        )
        for row in rows:
            row.attempts += 1
        PushDelivery.objects.filter(pk__in=[r.pk for r in rows]).update(
            next_attempt_at=lease, attempts=F("attempts") + 1
        )
    return rows


def deliveries_send(*, ids: list[int]) -> SendResult:
    result = SendResult()
    for row in _claim(ids):
        _send_one(row, result)
    return result


def _send_one(row: PushDelivery, result: SendResult) -> None:
    device: Device = row.device
    now = timezone.now()
    transport = transport_for(device.platform) if device.active else None
    if transport is None:
        reason = "device removed" if not device.active else f"{device.platform} push is not configured"
        _finish(row, status=PushDelivery.FAILED, error=reason)
        result.failed += 1
        return
    target = PushTarget(platform=device.platform, token=device.token, keys=device.keys or {})
    try:
        transport.send(target, message_for(row.notification))
    except PermanentPushError as exc:
        _finish(row, status=PushDelivery.FAILED, error=str(exc))
        device_deactivate(device=device, reason=str(exc))
        log.info("push token dead, device deactivated: device=%s platform=%s", device.uid, device.platform)
        result.failed += 1
    except TransientPushError as exc:
        if row.attempts >= MAX_ATTEMPTS:
            _finish(row, status=PushDelivery.FAILED, error=f"gave up after {row.attempts} tries: {exc}")
            result.failed += 1
            return
        # ``attempts`` was counted at the claim, so it is the number of failures so far.
        server_wait = dt.timedelta(seconds=exc.retry_after) if exc.retry_after is not None else None
        backoff = backoff_delay(row.attempts, at_least=server_wait)
        PushDelivery.objects.filter(pk=row.pk).update(next_attempt_at=now + backoff, last_error=str(exc)[:2000])
        result.retrying += 1
    except Exception as exc:  # a bug or an unexpected library error: retry later, never lose it
        log.exception("push transport failed unexpectedly: delivery=%s", row.pk)
        PushDelivery.objects.filter(pk=row.pk).update(
            next_attempt_at=now + dt.timedelta(minutes=5), last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        result.retrying += 1
    else:
        _finish(row, status=PushDelivery.SENT, error="")
        Device.objects.filter(pk=device.pk).update(last_success_at=now)
        result.sent += 1


def _finish(row: PushDelivery, *, status: str, error: str) -> None:
    PushDelivery.objects.filter(pk=row.pk).update(
        status=status, sent_at=timezone.now() if status == PushDelivery.SENT else None, last_error=error[:2000]
    )


def deliveries_due(*, limit: int = 5000) -> list[int]:
    """Pending pushes whose wake-up was lost, whose lease ran out, or whose back-off has passed."""
    return list(
        PushDelivery.objects.filter(status=PushDelivery.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
