from __future__ import annotations

from celery import shared_task

from diary.sync.purge import sync_purge_tombstones


@shared_task(name="diary.sync.tasks.sync_purge_tombstones", ignore_result=True)
def purge_tombstones() -> int:
    return sync_purge_tombstones()
