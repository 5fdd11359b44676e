from __future__ import annotations

from django.conf import settings
from django.db import models


class InsightSnapshot(models.Model):
    """One run of pattern detection for a person: the whole report as computed, never edited."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()  # analysis.ANALYSIS_VERSION that produced it
    computed_at = models.DateTimeField()
    window_start = models.DateField()
    window_end = models.DateField()
    episodes = models.PositiveIntegerField()  # the data behind it
    checkins = models.PositiveIntegerField()
    report = models.JSONField()

    class Meta:
        db_table = "diary_insight_snapshot"
        indexes = [models.Index(fields=["user", "-computed_at"], name="insight_latest")]

    def __str__(self) -> str:
        return f"insights of {self.user_id} at {self.computed_at}"


class InsightsDue(models.Model):
    """A pending refresh: the first write schedules it a minute ahead, later writes fold into it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    due_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "diary_insights_due"

    def __str__(self) -> str:
        return f"insights of {self.user_id} due {self.due_at}"
