from __future__ import annotations

from django.db import models
from django.db.models import Q

from diary.sync.models import SyncedRow


class ReminderRule(SyncedRow):
    """A hydration, stretching or therapy reminder the person set (SYNC.md ``reminders``).

    ``next_fire_at`` and ``snooze_until`` are the server's: recomputed on every change of the rule,
    the person's zone or waking window, and by the dispatcher each time the rule fires. A rule that
    will not fire (disabled, deleted, a past timer) has no ``next_fire_at``, so the due index holds
    only live rules.
    """

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
    next_fire_at = models.DateTimeField(null=True, blank=True)
    snooze_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "reminders_rule"
        constraints = [models.UniqueConstraint(fields=["user", "uid"], name="reminder_uid_per_user")]
        indexes = [
            models.Index(fields=["user", "seq"], name="reminder_user_seq"),
            # The dispatcher's only way in: cost follows the number due, not the number of rules.
            models.Index(fields=["next_fire_at"], name="reminder_due", condition=Q(next_fire_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} reminder {self.uid}"
