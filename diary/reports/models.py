from __future__ import annotations

from django.conf import settings
from django.db import models


class ReportLink(models.Model):
    """A read-only link to the person's report (its page and PDF) for a doctor without an account.

    The link's secret (``secrets.token_urlsafe(32)``: 256 bits) is shown once when it is made; only its
    SHA-256 is stored. It works until ``expires_at`` (at most 30 days) or until the person revokes it.
    """

    uid = models.CharField(max_length=16, unique=True)  # names the link in the person's list (not its secret)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    # The report's local days: fixed (first and last day), or the last ``last_days`` days up to the day
    # the link is opened (the default: the last 90 days, so a link made a week before the visit still
    # shows that week).
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    last_days = models.PositiveSmallIntegerField(null=True, blank=True)
    notes = models.BooleanField(default=False)  # free-text notes in the report
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "diary_report_link"
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="report_link_patient"),
        ]

    def __str__(self) -> str:
        return f"report link {self.uid} of {self.patient_id}"


class ReportLinkView(models.Model):
    """One view of a report link (its page or its PDF): the person sees every one."""

    link = models.ForeignKey(ReportLink, on_delete=models.CASCADE, related_name="views")
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    what = models.CharField(max_length=8)  # "page" or "pdf"
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "diary_report_link_view"
        indexes = [models.Index(fields=["link", "-at"], name="report_link_view_link")]

    def __str__(self) -> str:
        return f"view of {self.link_id}: {self.what}"
