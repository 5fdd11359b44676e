from __future__ import annotations

from typing import Any

from celery import shared_task

from diary.outbox import services


@shared_task(name=services.DELIVER_TASK, ignore_result=True)
def outbox_deliver(event_id: int, then: list[list[Any]] | None = None) -> bool:
    return services.outbox_deliver_then(event_id=event_id, then=then or ())


@shared_task(name="diary.outbox.tasks.outbox_sweep", ignore_result=True)
def outbox_sweep() -> int:
    return services.outbox_requeue()
