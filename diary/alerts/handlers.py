"""What a diary write means for red flags, and the emails the ladder sends (outbox handlers,
routed in diary/outbox/routes.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from diary.accounts.models import User
from diary.alerts import texts
from diary.alerts.models import Alert
from diary.alerts.services import alerts_evaluate
from diary.alerts.thresholds import thresholds_drop
from diary.episodes.models import Episode
from diary.notifications.email import email_send
from diary.outbox.routes import ALERT_CLINICIANS
from diary.outbox.services import outbox_enqueue
from diary.sharing.selectors import shares_covering_today


def episode_written(user_id: int, payload: dict[str, Any]) -> None:
    alerts_evaluate(user_id=user_id, episode_uids=payload.get("uids", []))


def checkin_written(user_id: int, payload: dict[str, Any]) -> None:
    alerts_evaluate(user_id=user_id)  # fluid_changes and the other window rules


def _episode_time(alert: Alert) -> str:
    """When the alert's episode happened, in the zone it happened in; a window rule (no one
    episode) says when the alert was raised, in the person's zone."""
    episode = (
        Episode.objects.filter(user_id=alert.user_id, uid=alert.episode_uid).first() if alert.episode_uid else None
    )
    if episode is not None:
        return texts.local_time(episode.started_at, episode.tz)
    return texts.local_time(alert.opened_at, alert.user.current_timezone)


def email_clinicians(user_id: int, payload: dict[str, Any]) -> None:
    """High and urgent alerts: every clinician the person shares alerts with, by email.

    ``{"alert": uid}`` fans out into one outbox row per clinician (``{"alert": uid, "clinician":
    id}``), committed with this row: each email then retries on its own, and one clinician's
    server being down neither delays nor repeats another's mail (diary/notifications/email.py).
    """
    if "clinician" not in payload:
        clinicians = [s.clinician_id for s in shares_covering_today(patient_id=user_id, scope="alerts")]
        outbox_enqueue(
            user_id=user_id, topic=ALERT_CLINICIANS, payloads=[{"alert": payload["alert"], "clinician": c} for c in clinicians]
        )  # fmt: skip
        return
    alert = Alert.objects.filter(user_id=user_id, uid=payload["alert"]).select_related("user").first()
    share = next(
        (
            s
            for s in shares_covering_today(patient_id=user_id, scope="alerts")
            if s.clinician_id == payload["clinician"]
        ),
        None,
    )
    if alert is None or share is None or share.clinician is None:
        return  # the alert is gone, or the share was revoked since: this clinician hears nothing
    # The patient page needs the episodes scope; a share of alerts alone opens the triage list.
    page = f"/clinician/patients/{share.uid}/" if "episodes" in share.scopes else "/clinician/"
    subject, text = texts.clinician_email(
        person=alert.user.display_name, severity=alert.severity, happened=_episode_time(alert),
        review_url=f"{settings.PUBLIC_BASE_URL}{page}",
    )  # fmt: skip
    email_send(
        key=f"alert.clinician:{alert.uid}", user_id=user_id, to=share.clinician.email, subject=subject, text=text
    )


def email_contact(user_id: int, payload: dict[str, Any]) -> None:
    """The emergency contact of a person whose urgent alert went unanswered (diary/alerts/ladder.py).
    Not sent if the person answered the alert while the mail waited (an SMTP outage)."""
    user = User.objects.get(pk=user_id)
    alert = Alert.objects.filter(user_id=user_id, uid=payload["alert"]).first()
    if alert is None or alert.status != "open" or not user.emergency_contact_email:
        return
    subject, text = texts.contact_email(
        who=user.display_name or user.email, contact_name=user.emergency_contact_name,
        raised=texts.local_time(alert.opened_at, user.current_timezone),
    )  # fmt: skip
    email_send(
        key=f"alert.contact:{alert.uid}", user_id=user_id, to=user.emergency_contact_email, subject=subject, text=text
    )


def share_revoked(user_id: int, payload: dict[str, Any]) -> None:
    """In the revoke's transaction: the clinician's red-flag thresholds stop applying to the patient."""
    thresholds_drop(patient=User.objects.get(pk=user_id), clinician=User.objects.get(pk=payload["clinician"]))
