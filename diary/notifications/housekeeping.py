"""Keeping the inbox small: notifications older than 90 days leave every device."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from diary.notifications.models import Notification
from diary.sync.sequence import sequence_claim, sequence_lock


def notifications_prune(*, now: dt.datetime | None = None, chunk: int = 5000) -> int:
    """Tombstone old notifications (so synced devices drop them too); the tombstone purge removes
    them for good later. One transaction per person, in the sequence's lock order."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.NOTIFICATION_RETENTION_DAYS)
    old = Notification.objects.filter(deleted_at__isnull=True, scheduled_for__lt=cutoff)
    done = 0
    while True:
        people = sorted(set(old.values_list("user_id", flat=True)[:chunk]))
        if not people:
            return done
        for user_id in people:
            with transaction.atomic():
                sequence_lock(user_id=user_id)
                ids = list(old.filter(user_id=user_id).values_list("pk", flat=True))
                if not ids:
                    continue
                first = sequence_claim(user_id=user_id, count=len(ids))
                stamp = timezone.now()
                rows = [Notification(pk=pk, seq=first + i, deleted_at=stamp) for i, pk in enumerate(ids)]
                Notification.objects.bulk_update(rows, ["seq", "deleted_at"], batch_size=1000)
                done += len(ids)
