from __future__ import annotations

from django.conf import settings
from django.db import models


class SyncState(models.Model):
    """A person's change sequence (SYNC.md rule 1) and tombstone purge watermark.

    Every write to the person's synced rows advances ``seq`` under this row's lock and stamps each
    row with its own value, so the sequence order is the commit order for that person.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="sync_state"
    )
    # A new person's sequence starts at 1: the WatermelonDB client refuses a timestamp of 0.
    seq = models.BigIntegerField(default=1)
    purge_watermark = models.BigIntegerField(default=0)

    class Meta:
        db_table = "diary_sync_state"

    def __str__(self) -> str:
        return f"sync state of user {self.user_id}: seq {self.seq}"


class SyncedRow(models.Model):
    """Columns every synced table carries: the owner, the client id, the stamp and the tombstone."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Client-generated id (SYNC.md rule 5), unique per person, never globally.
    uid = models.CharField(max_length=36)
    seq = models.BigIntegerField()
    deleted_at = models.DateTimeField(null=True, blank=True)
    server_updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
