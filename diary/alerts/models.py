from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from diary.sync.models import SyncedRow


class Alert(SyncedRow):
    """A red flag raised by the server (SYNC.md ``alerts``); the client may set only acknowledged_at.

    Per-episode rules: one row per episode and rule (reopened, never duplicated, if the cause comes
    back after an edit removed it). Window rules: at most one per rule per rolling 7 days.
    """

    rule = models.CharField(max_length=32)
    severity = models.CharField(max_length=8)  # urgent | high | watch
    title = models.CharField(max_length=200)
    guidance = models.TextField()
    # The uid of the episode that raised it (None for window rules); ``episode_id`` on the wire.
    episode_uid = models.CharField(max_length=36, null=True, blank=True)
    status = models.CharField(max_length=14, default="open")  # open | acknowledged | resolved
    opened_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # Why: the rule-set version that decided, and the numbers that crossed ("pain 9 >= 8").
    ruleset_version = models.CharField(max_length=16, default="1")
    evidence = models.TextField(blank=True, default="")
    numbers = models.JSONField(default=dict, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The escalation ladder: urgent alerts repeat until acknowledged; the emergency contact is emailed.
    next_repeat_at = models.DateTimeField(null=True, blank=True)
    repeats = models.PositiveSmallIntegerField(default=0)
    contact_due_at = models.DateTimeField(null=True, blank=True)
    contact_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "diary_alert"
        constraints = [
            models.UniqueConstraint(fields=["user", "uid"], name="alert_uid_per_user"),
            models.UniqueConstraint(
                fields=["user", "episode_uid", "rule"], name="alert_once_per_episode_rule",
                condition=Q(episode_uid__isnull=False),
            ),
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["user", "seq"], name="alert_user_seq"),
            models.Index(fields=["user", "rule", "opened_at"], name="alert_user_rule_time"),
            models.Index(fields=["next_repeat_at"], name="alert_ladder_due", condition=Q(next_repeat_at__isnull=False)),
            models.Index(
                fields=["contact_due_at"], name="alert_contact_due", condition=Q(contact_due_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} alert {self.uid}"


class ThresholdOverride(models.Model):
    """One clinician's number for one patient; with several clinicians the most sensitive applies."""

    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=32)
    value = models.IntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "diary_alert_threshold"
        constraints = [
            models.UniqueConstraint(fields=["patient", "clinician", "name"], name="threshold_once_per_clinician")
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value} for {self.patient_id}"


class ThresholdChange(models.Model):
    """The audit trail: every change, who made it, and the patient's rule-set revision it started."""

    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=32)
    old_value = models.IntegerField(null=True)
    new_value = models.IntegerField(null=True)  # null: the clinician went back to the default
    revision = models.PositiveIntegerField()
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "diary_alert_threshold_change"
        indexes = [models.Index(fields=["patient", "revision"], name="threshold_change_rev")]

    def __str__(self) -> str:
        return f"{self.name}: {self.old_value} -> {self.new_value} (rev {self.revision})"
