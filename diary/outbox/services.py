"""Committing intents with the data, and turning them into work after commit."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.breaker import wake
from diary.core.backoff import backoff_delay
from diary.outbox.models import OutboxEvent
from diary.outbox.routes import handlers_for, hooks_for

log = logging.getLogger(__name__)
# The task that runs one event (diary/outbox/tasks.py), sent by name: the tasks module imports
# this one, so importing it back would be a cycle.
DELIVER_TASK = "diary.outbox.tasks.outbox_deliver"


def _publish(event_ids: list[int], *, cooldown: bool = True) -> None:
    """Wake a worker. Never raises: a broker outage leaves the rows to the sweeper."""
    for event_id in event_ids:
        send = partial(current_app.send_task, DELIVER_TASK, args=[event_id])
        if not wake(send, what=f"outbox event {event_id}", cooldown=cooldown):
            return


def topic_run(*, user_id: int, topic: str, payload: dict[str, Any]) -> None:
    """Run an in-transaction topic's handlers now, in the caller's transaction (routes.IN_TRANSACTION)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{topic} handlers must run inside the caller's transaction")
    for handler in hooks_for(topic):
        handler(user_id, payload)


def outbox_enqueue(*, user_id: int, topic: str, payloads: Iterable[dict[str, Any]]) -> list[int]:
    """Record work for ``topic`` inside the caller's transaction; publish it after commit."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_enqueue must run inside the write's transaction")
    later = timezone.now() + dt.timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    events = OutboxEvent.objects.bulk_create(
        [OutboxEvent(user_id=user_id, topic=topic, payload=p, available_at=later) for p in payloads]
    )
    ids = [e.pk for e in events]
    if ids:
        transaction.on_commit(lambda: _publish(ids))
    return ids


def outbox_process(*, event_id: int) -> bool:
    """Run the handlers of one event once. Returns False if it was already done or is being done.

    The row lock (SKIP LOCKED) means two deliveries of the same message never run it twice at
    once; ``processed_at`` means a redelivery after success does nothing.
    """
    with transaction.atomic():
        event = (
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, processed_at__isnull=True)
            .first()
        )
        if event is None:
            return False
        try:
            with transaction.atomic():
                for handler in handlers_for(event.topic):
                    handler(event.user_id, event.payload)
        except Exception as exc:
            event.attempts += 1
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            event.available_at = timezone.now() + backoff_delay(event.attempts)
            event.save(update_fields=["attempts", "last_error", "available_at"])
            log.exception("outbox handler failed: event=%s topic=%s", event.pk, event.topic)
            return False
        event.processed_at = timezone.now()
        event.attempts += 1
        event.save(update_fields=["processed_at", "attempts"])
    return True


def outbox_due(*, limit: int = 500) -> list[int]:
    """Events whose wake-up was lost (broker down, worker killed) or whose back-off has passed."""
    return list(
        OutboxEvent.objects.filter(processed_at__isnull=True, available_at__lte=timezone.now())
        .order_by("available_at")
        .values_list("pk", flat=True)[:limit]
    )


def outbox_requeue(*, limit: int = 500) -> int:
    ids = outbox_due(limit=limit)
    if ids:
        # Push the next sweep out so a slow worker is not sent the same rows every minute.
        later = timezone.now() + dt.timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
        OutboxEvent.objects.filter(pk__in=ids, processed_at__isnull=True).update(available_at=later)
        _publish(ids, cooldown=False)
    return len(ids)
