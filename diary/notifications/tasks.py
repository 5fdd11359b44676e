"""Celery entry points for the notifications layer: thin, idempotent, each calling one service."""

from __future__ import annotations

from celery import shared_task

from diary.notifications import housekeeping
from diary.notifications.delivery import sending
from diary.notifications.inbox import PUSH_SEND_TASK, publish_deliveries


@shared_task(name=PUSH_SEND_TASK, ignore_result=True)
def push_send(delivery_ids: list[int]) -> int:
    return sending.deliveries_send(ids=delivery_ids).sent


@shared_task(name="diary.notifications.tasks.push_sweep", ignore_result=True)
def push_sweep() -> int:
    """Beat, every minute: pushes whose wake-up was lost, whose worker died, or whose back-off passed."""
    ids = sending.deliveries_due()
    publish_deliveries(ids, cooldown=False)
    return len(ids)


@shared_task(name="diary.notifications.tasks.prune_notifications", ignore_result=True)
def prune_notifications() -> int:
    return housekeeping.notifications_prune()
