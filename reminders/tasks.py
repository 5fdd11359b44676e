"""Celery entry points for reminders: thin, idempotent, each calling one service."""

from __future__ import annotations

from celery import shared_task

from reminders.dispatch import dispatch_due


@shared_task(name="reminders.tasks.dispatch_reminders", ignore_result=True)
def dispatch_reminders() -> int:
    """Beat, every minute: fire what is due (several workers may run it at once)."""
    return dispatch_due().fired
