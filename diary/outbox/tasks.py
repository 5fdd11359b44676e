from __future__ import annotations

from typing import Any

from celery import shared_task

from diary.outbox import services


@shared_task(name=services.DELIVER_TASK, ignore_result=True)
def outbox_deliver(event_id: int | list[int], then: list[list[Any]] | None = None) -> bool:
    """One row, or several rows of one write and queue in order (services._publish_together)."""
    ids = event_id if isinstance(event_id, list) else [event_id]
    return services.outbox_deliver_each(event_ids=ids, then=then or ())


@shared_task(name="diary.outbox.tasks.outbox_sweep", ignore_result=True)
def outbox_sweep() -> int:
    return services.outbox_requeue()
