from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Share(models.Model):
    """A person's consent for one clinician to see parts of their diary (scopes, optional window).

    Created as an invitation holding only the hash of a short single-use code; redeeming it binds
    the clinician. Active while redeemed, not revoked and not past ``ends_at``.
    """

    SCOPES = ("episodes", "checkins", "notes", "insights", "alerts")

    uid = models.CharField(max_length=16, unique=True)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shares_given")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="shares_received"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    code_expires_at = models.DateTimeField()
    scopes = models.JSONField(default=list)
    window_start = models.DateField(null=True, blank=True)  # only diary days from ... to ...
    window_end = models.DateField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)  # access stops then
    created_at = models.DateTimeField(auto_now_add=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "diary_share"
        indexes = [
            models.Index(fields=["clinician", "patient"], name="share_active", condition=Q(revoked_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"share {self.uid} of {self.patient_id}"


class AccessLog(models.Model):
    """Every clinician read of a patient's data: who, whose, what, when. The person can read it all."""

    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    share = models.ForeignKey(Share, null=True, on_delete=models.SET_NULL, related_name="+")
    what = models.CharField(max_length=40)  # e.g. "episodes", "alerts", "thresholds", "page", "pdf"
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "diary_share_access_log"
        indexes = [models.Index(fields=["patient", "-at"], name="access_log_patient")]

    def __str__(self) -> str:
        return f"{self.clinician_id} read {self.what} of {self.patient_id}"
