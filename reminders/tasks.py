"""Celery entry points for reminders: thin, idempotent, each calling one service."""

from __future__ import annotations

from celery import shared_task

from reminders import housekeeping
from reminders.delivery import sending
from reminders.dispatch import dispatch_due
from reminders.inbox import publish_deliveries


@shared_task(name="reminders.tasks.dispatch_reminders", ignore_result=True)
def dispatch_reminders() -> int:
    """Beat, every minute: fire what is due (several workers may run it at once)."""
    return dispatch_due().fired


@shared_task(name="reminders.tasks.push_send", ignore_result=True)
def push_send(delivery_ids: list[int]) -> int:
    return sending.deliveries_send(ids=delivery_ids).sent


@shared_task(name="reminders.tasks.push_sweep", ignore_result=True)
def push_sweep() -> int:
    """Beat, every minute: pushes whose wake-up was lost, whose worker died, or whose back-off passed."""
    ids = sending.deliveries_due()
    publish_deliveries(ids, cooldown=False)
    return len(ids)


@shared_task(name="reminders.tasks.prune_notifications", ignore_result=True)
def prune_notifications() -> int:
    return housekeeping.notifications_prune()
