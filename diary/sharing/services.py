"""Consent records: invite, redeem, revoke. The person decides; revocation bites on the next request."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from diary.accounts.models import User
from diary.core.errors import DomainValidationError
from diary.notifications.inbox import notification_notify
from diary.outbox.routes import SHARE_REVOKED
from diary.outbox.services import topic_run
from diary.sharing.models import Share
from diary.sync.sequence import new_uid, sequence_lock

# Crockford's base32: no I, L, O or U, so a code read aloud or typed from paper survives.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_CHARS = 12  # 60 bits: guessing is hopeless at the redeem throttle's rate
CODE_DAYS = 7
DEFAULT_SCOPES = ("episodes", "checkins", "insights", "alerts")  # notes (free text) only when asked
MAX_SHARE = dt.timedelta(days=3650)


def _normalise(code: str) -> str:
    cleaned = code.upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans("ILO", "110"))


def code_hash(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_CHARS))
    return "-".join(raw[i : i + 4] for i in range(0, _CODE_CHARS, 4))


def _validate(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    for key in sorted(set(data) - {"scopes", "window_start", "window_end", "ends_at"}):
        errors[key] = ["unknown field"]
    scopes = data.get("scopes", list(DEFAULT_SCOPES))
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
        errors["scopes"] = [f"must be a non-empty list of: {', '.join(Share.SCOPES)}"]
    elif unknown := sorted(set(scopes) - set(Share.SCOPES)):
        errors["scopes"] = [f"unknown scope {', '.join(unknown)}; expected: {', '.join(Share.SCOPES)}"]
    out: dict[str, Any] = {"scopes": sorted(set(scopes)) if "scopes" not in errors else []}
    for key in ("window_start", "window_end"):
        value = data.get(key)
        try:
            out[key] = dt.date.fromisoformat(value) if value is not None else None
        except (TypeError, ValueError):
            errors[key] = ["must be a date YYYY-MM-DD"]
    if out.get("window_start") and out.get("window_end") and out["window_end"] < out["window_start"]:
        errors["window_end"] = ["must not be before window_start"]
    ends_at = data.get("ends_at")
    try:
        out["ends_at"] = dt.datetime.fromisoformat(ends_at) if ends_at is not None else None
    except (TypeError, ValueError):
        errors["ends_at"] = ["must be an ISO 8601 date-time with an offset"]
    else:
        if out["ends_at"] is not None and out["ends_at"].tzinfo is None:
            errors["ends_at"] = ["must include a UTC offset"]
        elif out["ends_at"] is not None and out["ends_at"] <= timezone.now():
            errors["ends_at"] = ["must be in the future"]
        elif out["ends_at"] is not None and out["ends_at"] > timezone.now() + MAX_SHARE:
            errors["ends_at"] = ["must be within 10 years (leave it out for no end date)"]
        elif out["ends_at"] is not None:
            out["ends_at"] = out["ends_at"].astimezone(dt.UTC)  # PostgreSQL refuses offsets past 15:59
    if errors:
        raise DomainValidationError(errors)
    return out


def share_invite(*, patient: User, data: Mapping[str, Any]) -> tuple[Share, str]:
    """A new invitation; the code is returned once and only its hash is kept."""
    values = _validate(data)
    code = _new_code()
    share = Share.objects.create(
        uid=new_uid(), patient=patient, code_hash=code_hash(code),
        code_expires_at=timezone.now() + dt.timedelta(days=CODE_DAYS), **values,
    )  # fmt: skip
    return share, code


def share_link(code: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/clinician/redeem?code={code}"


def share_redeem(*, clinician: User, code: object) -> Share:
    """Bind the clinician to an invitation. Unknown, used, expired or revoked codes all answer 404.

    ``code`` is whatever the request body held (maybe not a string): checked here, a 404 like any
    unknown code.
    """
    if not isinstance(code, str) or not 8 <= len(code) <= 32:
        raise Http404

    live = Share.objects.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=timezone.now()), code_hash=code_hash(code),
        redeemed_at__isnull=True, revoked_at__isnull=True, code_expires_at__gt=timezone.now(),
    )  # fmt: skip
    patient_id = live.values_list("patient_id", flat=True).first()
    if patient_id is None:
        raise Http404
    with transaction.atomic():
        # Lock order of every write: the person's sequence row first, then their rows. Only the share
        # row is locked (``of=("self",)``): a FOR UPDATE through select_related would lock the
        # patient's user row too, which the worker's inserts for that person wait on (a deadlock).
        sequence_lock(user_id=patient_id)
        share = live.select_for_update(of=("self",)).select_related("patient").first()
        if share is None or share.patient_id == clinician.pk:
            raise Http404
        share.clinician = clinician
        share.redeemed_at = timezone.now()
        share.save(update_fields=["clinician", "redeemed_at"])
        who = clinician.display_name or clinician.email
        notification_notify(
            user=share.patient, kind="share", title=f"{who} can now see your diary",
            body=f"{who} redeemed your sharing code and can see: {', '.join(share.scopes)}. "
                 "You can stop sharing at any time under Sharing.",
        )  # fmt: skip
    return share


def share_revoke(*, patient: User, uid: str) -> Share:
    with transaction.atomic():
        sequence_lock(user_id=patient.pk)  # lock order: the person's sequence row first
        share = Share.objects.select_for_update().filter(patient=patient, uid=uid).first()
        if share is None:
            raise Http404
        if share.revoked_at is None:
            share.revoked_at = timezone.now()
            share.save(update_fields=["revoked_at"])
            if share.clinician is not None:  # e.g. their red-flag thresholds stop applying
                topic_run(user_id=patient.pk, topic=SHARE_REVOKED, payload={"clinician": share.clinician.pk})
    return share
