from __future__ import annotations

from django.db import models

from diary.sync.models import SyncedRow


class ReminderRule(SyncedRow):
    """A hydration, stretching or therapy reminder the person set (SYNC.md ``reminders``)."""

    kind = models.CharField(max_length=16)
    label = models.CharField(max_length=120, null=True, blank=True)
    schedule = models.CharField(max_length=8)  # interval | times | once
    interval_min = models.PositiveIntegerField(null=True, blank=True)
    window_start = models.TimeField(null=True, blank=True)
    window_end = models.TimeField(null=True, blank=True)
    times = models.JSONField(default=list)
    weekdays = models.JSONField(default=list)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    fire_at = models.DateTimeField(null=True, blank=True)
    tz_mode = models.CharField(max_length=8, default="device")
    adaptive = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)

    class Meta:
        db_table = "reminders_rule"
        constraints = [models.UniqueConstraint(fields=["user", "uid"], name="reminder_uid_per_user")]
        indexes = [models.Index(fields=["user", "seq"], name="reminder_user_seq")]

    def __str__(self) -> str:
        return f"{self.kind} reminder {self.uid}"


class Notification(SyncedRow):
    """The in-app inbox (server-owned; the client may set only the action columns)."""

    kind = models.CharField(max_length=16)  # reminder | alert | suggestion | share
    reminder_id = models.CharField(max_length=36, null=True, blank=True)
    alert_id = models.CharField(max_length=36, null=True, blank=True)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    scheduled_for = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    action = models.CharField(max_length=12, null=True, blank=True)
    acted_at = models.DateTimeField(null=True, blank=True)
    snooze_min = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        db_table = "reminders_notification"
        constraints = [models.UniqueConstraint(fields=["user", "uid"], name="notification_uid_per_user")]
        indexes = [models.Index(fields=["user", "seq"], name="notification_user_seq")]

    def __str__(self) -> str:
        return f"{self.kind} notification {self.uid}"
