"""What a diary write means for red flags, and the emails the ladder sends (outbox handlers,
routed in diary/outbox/routes.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from diary.accounts.models import User
from diary.alerts import texts
from diary.alerts.models import Alert
from diary.alerts.services import CONTACT_AFTER, alerts_evaluate
from diary.alerts.thresholds import thresholds_drop
from diary.sharing.selectors import clinicians_sharing


def episode_written(user_id: int, payload: dict[str, Any]) -> None:
    alerts_evaluate(user_id=user_id, episode_uids=payload.get("uids", []))


def checkin_written(user_id: int, payload: dict[str, Any]) -> None:
    alerts_evaluate(user_id=user_id)  # fluid_changes and the other window rules


def email_clinicians(user_id: int, payload: dict[str, Any]) -> None:
    """High and urgent alerts: every clinician the person shares alerts with, by email. (Sending
    twice after a crash is possible; losing it is not.)"""
    alert = Alert.objects.filter(user_id=user_id, uid=payload["alert"]).select_related("user").first()
    if alert is None:
        return
    subject, message = texts.clinician_email(
        person=alert.user.display_name, title=alert.title, rule=alert.rule, severity=alert.severity,
        evidence=alert.evidence, review_url=f"{settings.PUBLIC_BASE_URL}/clinician/",
    )  # fmt: skip
    for clinician in clinicians_sharing(patient_id=user_id, scope="alerts"):
        send_mail(subject=subject, message=message, from_email=None, recipient_list=[clinician.email])


def email_contact(user_id: int, payload: dict[str, Any]) -> None:
    user = User.objects.get(pk=user_id)
    alert = Alert.objects.filter(user_id=user_id, uid=payload["alert"]).first()
    if alert is None or not user.emergency_contact_email:
        return
    subject, message = texts.contact_email(
        who=user.display_name or user.email, contact_name=user.emergency_contact_name or "",
        minutes=CONTACT_AFTER // dt.timedelta(minutes=1), body=texts.notification_body(alert.guidance, alert.evidence),
    )  # fmt: skip
    send_mail(subject=subject, message=message, from_email=None, recipient_list=[user.emergency_contact_email])


def share_revoked(user_id: int, payload: dict[str, Any]) -> None:
    """In the revoke's transaction: the clinician's red-flag thresholds stop applying to the patient."""
    thresholds_drop(patient=User.objects.get(pk=user_id), clinician=User.objects.get(pk=payload["clinician"]))
