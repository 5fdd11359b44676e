from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """Work a write asks one handler to do, committed in the same transaction as the write.

    A row is the durable intent; the Celery message is only a wake-up call. If the broker is down
    or a worker dies, the sweeper finds the row again, so work is delayed but never lost.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    topic = models.CharField(max_length=64)
    # The one handler this row runs (a dotted path of routes.AFTER_COMMIT): one row per handler and
    # write, so each handler runs, retries and fails on its own. Blank on rows written before
    # handlers had rows of their own: processing such a row splits it into one row per handler.
    handler = models.CharField(max_length=200, blank=True, default="", db_default="")
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    # When the sweeper may (re)send it: after the on-commit publish had its chance, or after a
    # failure's back-off.
    available_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "diary_outbox_event"
        indexes = [
            # The sweeper only ever looks at unprocessed rows: keep that index small.
            models.Index(
                fields=["available_at"], name="outbox_pending_idx", condition=models.Q(processed_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic}#{self.pk} {self.handler}".rstrip()
