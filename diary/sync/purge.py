"""Tombstone retention (SYNC.md rule 7): purge old tombstones and raise each person's watermark.

A device whose cursor is older than the watermark may have missed a purged deletion, so its next
pull is a full ``replacement`` answer instead of an incremental one.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from diary.sync.models import SyncState
from diary.sync.registry import SYNCED


def sync_purge_tombstones(*, now: dt.datetime | None = None) -> int:
    """Delete tombstones older than ``SYNC_TOMBSTONE_DAYS``; returns how many rows went.

    Per person, in one transaction with their sequence row locked (the lock order of every
    write), so a pull sees either the rows and the old watermark or neither and the new one.
    """
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.SYNC_TOMBSTONE_DAYS)
    user_ids: set[int] = set()
    for table in SYNCED.values():
        user_ids |= set(
            table.model._default_manager.filter(deleted_at__lt=cutoff).values_list("user_id", flat=True).distinct()
        )
    purged = 0
    for user_id in sorted(user_ids):
        with transaction.atomic():
            state = SyncState.objects.select_for_update().get(user_id=user_id)
            highest = state.purge_watermark
            for table in SYNCED.values():
                old = table.model._default_manager.filter(user_id=user_id, deleted_at__lt=cutoff)
                top = old.aggregate(top=Max("seq"))["top"]
                if top is not None:
                    highest = max(highest, top)
                    purged += old.delete()[0]
            if highest != state.purge_watermark:
                state.purge_watermark = highest
                state.save(update_fields=["purge_watermark"])
    return purged
