from __future__ import annotations

from django.conf import settings
from django.db import models

from diary import vocab
from diary.sync.models import SyncedRow


class CheckIn(SyncedRow):
    """The daily exposures (DOMAIN.md section 3); one per local day, ``uid`` is the date."""

    date = models.DateField()
    water_ml = models.PositiveIntegerField(null=True, blank=True)
    caffeine_servings = models.PositiveSmallIntegerField(null=True, blank=True)
    alcohol_units = models.FloatField(null=True, blank=True)
    exercise_min = models.PositiveSmallIntegerField(null=True, blank=True)
    exercise_intensity = models.CharField(
        max_length=10, null=True, blank=True, choices=[(c, c) for c in vocab.EXERCISE_INTENSITIES]
    )
    hot_weather = models.BooleanField(null=True, blank=True)
    sleep_h = models.FloatField(null=True, blank=True)
    stress = models.PositiveSmallIntegerField(null=True, blank=True)
    sitting_h = models.FloatField(null=True, blank=True)
    stretched = models.BooleanField(null=True, blank=True)
    medications = models.JSONField(default=list)
    menstruating = models.BooleanField(null=True, blank=True)
    fluid_changes = models.BooleanField(null=True, blank=True)
    notes = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "diary_checkin"
        constraints = [
            models.UniqueConstraint(fields=["user", "uid"], name="checkin_uid_per_user"),
            models.UniqueConstraint(fields=["user", "date"], name="checkin_date_per_user"),
            models.CheckConstraint(
                condition=models.Q(stress__isnull=True) | models.Q(stress__lte=10), name="checkin_stress_0_10"
            ),
        ]
        indexes = [models.Index(fields=["user", "seq"], name="checkin_user_seq")]

    def __str__(self) -> str:
        return f"check-in {self.date}"


class WaterIntake(models.Model):
    """One glass (or bottle) of water, kept with its time; the day's check-in ``water_ml`` is their sum."""

    SOURCES = ("app", "reminder")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    uid = models.CharField(max_length=36)  # client id, so a retried POST logs one glass
    logged_at = models.DateTimeField()
    day = models.DateField()  # the local day in the person's zone at the time
    amount_ml = models.PositiveIntegerField()
    source = models.CharField(max_length=8, default="app")
    # The hydration notification answered "done", if that is how it was logged (one glass per answer).
    notification_uid = models.CharField(max_length=36, null=True, blank=True)

    class Meta:
        db_table = "diary_water_intake"
        constraints = [
            models.UniqueConstraint(fields=["user", "uid"], name="water_uid_per_user"),
            models.UniqueConstraint(
                fields=["user", "notification_uid"],
                name="water_once_per_notification",
                condition=models.Q(notification_uid__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["user", "logged_at"], name="water_user_time")]

    def __str__(self) -> str:
        return f"{self.amount_ml} ml at {self.logged_at}"
