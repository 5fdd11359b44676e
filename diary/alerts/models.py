from __future__ import annotations

from django.db import models

from diary.sync.models import SyncedRow


class Alert(SyncedRow):
    """A red flag raised by the server (SYNC.md ``alerts``); the client may set only acknowledged_at."""

    rule = models.CharField(max_length=32)
    severity = models.CharField(max_length=8)  # urgent | high | watch
    title = models.CharField(max_length=200)
    guidance = models.TextField()
    episode_id = models.CharField(max_length=36, null=True, blank=True)
    status = models.CharField(max_length=14, default="open")  # open | acknowledged | resolved
    opened_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "diary_alert"
        constraints = [models.UniqueConstraint(fields=["user", "uid"], name="alert_uid_per_user")]
        indexes = [models.Index(fields=["user", "seq"], name="alert_user_seq")]

    def __str__(self) -> str:
        return f"{self.rule} alert {self.uid}"
