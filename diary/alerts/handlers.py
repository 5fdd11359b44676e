"""What a diary write means for red flags, and the emails the ladder sends (outbox handlers,
routed in diary/outbox/routes.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from diary.accounts.models import User
from diary.alerts.models import Alert
from diary.alerts.services import alert_body, alerts_evaluate
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
    person = alert.user.display_name or "A patient who shares their diary with you"
    for clinician in clinicians_sharing(patient_id=user_id, scope="alerts"):
        send_mail(
            subject=f"[{alert.severity.upper()}] {alert.title}",
            message=(
                f"{person} logged something that crossed a red-flag threshold ({alert.rule}, {alert.severity}).\n"
                f"Why: {alert.evidence}\n\nOpen the patient page to review: {settings.PUBLIC_BASE_URL}/clinician/\n"
            ),
            from_email=None,
            recipient_list=[clinician.email],
        )


def email_contact(user_id: int, payload: dict[str, Any]) -> None:
    user = User.objects.get(pk=user_id)
    alert = Alert.objects.filter(user_id=user_id, uid=payload["alert"]).first()
    if alert is None or not user.emergency_contact_email:
        return
    who = user.display_name or user.email
    send_mail(
        subject=f"{who} has an urgent health alert that is not acknowledged",
        message=(
            f"Hello {user.emergency_contact_name or ''},\n\n{who} named you as their emergency contact in their "
            f"symptom diary. 15 minutes ago it raised an urgent alert that they have not acknowledged:\n\n"
            f"{alert_body(alert)}\n\nPlease try to reach them now. If they have difficulty breathing or you cannot "
            "reach them, call emergency services.\n"
        ),
        from_email=None,
        recipient_list=[user.emergency_contact_email],
    )


def share_revoked(user_id: int, payload: dict[str, Any]) -> None:
    """In the revoke's transaction: the clinician's red-flag thresholds stop applying to the patient."""
    thresholds_drop(patient=User.objects.get(pk=user_id), clinician=User.objects.get(pk=payload["clinician"]))
