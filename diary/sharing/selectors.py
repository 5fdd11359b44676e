"""Who may see what: every clinician read asks here first."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from diary.accounts.models import User
from diary.sharing.models import Share


def shares_active() -> QuerySet[Share]:
    now = timezone.now()
    return Share.objects.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now), redeemed_at__isnull=False, revoked_at__isnull=True
    )


def share_for_clinician(*, clinician: User, uid: str, scope: str | None = None) -> Share | None:
    """The clinician's active share ``uid`` (with ``scope`` if given), else None (the caller answers 404)."""
    share = shares_active().filter(clinician=clinician, uid=uid).select_related("patient").first()
    if share is None or (scope is not None and scope not in share.scopes):
        return None
    return share


def shares_covering_today(*, patient_id: int, scope: str) -> list[Share]:
    """Active shares of this person's ``scope`` (e.g. alerts) with a clinician that cover today (a
    share limited to a past date window does not hear about what happens now)."""
    today = timezone.now().date()
    shares = shares_active().filter(patient_id=patient_id).select_related("clinician")
    return [
        s
        for s in shares
        if scope in s.scopes and s.clinician is not None and (s.window_end is None or s.window_end >= today)
    ]


def shares_of_patient(*, patient: User) -> QuerySet[Share]:
    return Share.objects.filter(patient=patient).select_related("clinician").order_by("-created_at")
