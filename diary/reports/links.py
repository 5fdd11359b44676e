"""Doctor links: the person's report for a doctor without an account, read-only, for a few days.

A link is made with ``secrets.token_urlsafe(32)`` (256 bits) and shown once; the database keeps only
its SHA-256, so a copy of the database opens no report. It opens the report's page and its PDF and
nothing else; it stops at ``expires_at`` (at most ``MAX_DAYS`` days) or the moment the person revokes
it, and every view is recorded for the person to see (``ReportLinkView``).

The report's period is fixed (``from``/``to``) or rolling (the last ``last_days`` days up to the day
the link is opened; the default is the last ``DEFAULT_PERIOD_DAYS``), in the person's zone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from diary.accounts.models import User
from diary.core.errors import DomainValidationError
from diary.core.fields import zone
from diary.reports.models import ReportLink, ReportLinkView
from diary.sync.sequence import new_uid

MAX_DAYS = 30  # a link works at most this many days
DEFAULT_DAYS = 7
DEFAULT_PERIOD_DAYS = 90
MAX_PERIOD_DAYS = 3660  # ten years: any diary this service has kept
MAX_LIVE_LINKS = 20
VIEWS_LISTED = 100  # per link, newest first
_FIELDS = {"days", "from", "to", "last_days", "notes"}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/r/{token}/"


def today_of(user: User) -> dt.date:
    return timezone.now().astimezone(zone(user.current_timezone)).date()


def _date(value: Any, field: str, errors: dict[str, list[str]]) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    errors[field] = ["must be a date, YYYY-MM-DD"]
    return None


def _int(value: Any, field: str, low: int, high: int, errors: dict[str, list[str]]) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[field] = [f"must be a whole number from {low} to {high}"]
        return None
    return value


def flag(value: Any, field: str, errors: dict[str, list[str]]) -> bool:
    """A JSON boolean, or in a query string 1/0, true/false, yes/no."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no", ""):
        return value.lower() in ("1", "true", "yes")
    errors[field] = ["must be true or false"]
    return False


def period_from(
    values: Mapping[str, Any], errors: dict[str, list[str]]
) -> tuple[dt.date | None, dt.date | None, int | None]:
    """``(from, to, last_days)`` from a request: fixed days, or the last days (``DEFAULT_PERIOD_DAYS``
    when nothing is given). Reasons go into ``errors`` by field."""
    start, end = _date(values.get("from"), "from", errors), _date(values.get("to"), "to", errors)
    last = _int(values.get("last_days"), "last_days", 1, MAX_PERIOD_DAYS, errors)
    if last is not None and (start or end):
        errors["last_days"] = ["give either last_days or from/to, not both"]
    if start and end:
        if start > end:
            errors["to"] = ["must not be before from"]
        elif (end - start).days + 1 > MAX_PERIOD_DAYS:
            errors["from"] = [f"the period may cover at most {MAX_PERIOD_DAYS} days"]
    if start is None and end is None and last is None:
        last = DEFAULT_PERIOD_DAYS
    return start, end, last


def resolve_period(
    start: dt.date | None, end: dt.date | None, last_days: int | None, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The first and last local day a report covers, ``today`` being the person's day in progress."""
    if last_days is not None:
        return today - dt.timedelta(days=last_days - 1), today
    last = end or today
    return (start or last - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)), last


def link_create(*, patient: User, data: Mapping[str, Any]) -> tuple[ReportLink, str]:
    """A new link and its token (shown once). 400 naming each bad field; nothing is written then."""
    errors: dict[str, list[str]] = {key: ["unknown field"] for key in sorted(set(data) - _FIELDS)}
    days = _int(data.get("days", DEFAULT_DAYS), "days", 1, MAX_DAYS, errors)
    start, end, last = period_from(data, errors)
    notes = flag(data.get("notes"), "notes", errors)
    if links_live(patient=patient).count() >= MAX_LIVE_LINKS:
        errors["links"] = [f"at most {MAX_LIVE_LINKS} links work at once: revoke one first"]
    if errors:
        raise DomainValidationError(errors)
    token = secrets.token_urlsafe(32)
    link = ReportLink.objects.create(
        uid=new_uid(), patient=patient, token_hash=token_hash(token), period_start=start, period_end=end,
        last_days=last, notes=notes, expires_at=timezone.now() + dt.timedelta(days=days or DEFAULT_DAYS),
    )  # fmt: skip
    return link, token


def links_live(*, patient: User) -> QuerySet[ReportLink]:
    return ReportLink.objects.filter(patient=patient, revoked_at__isnull=True, expires_at__gt=timezone.now())


def links_of(*, patient: User) -> list[ReportLink]:
    """The person's links, newest first, each with its views (newest first) in ``recent_views``."""
    views = ReportLinkView.objects.order_by("-at", "-pk")
    rows = ReportLink.objects.filter(patient=patient).order_by("-created_at", "-pk")
    return list(rows.prefetch_related(Prefetch("views", queryset=views, to_attr="recent_views")))


def link_revoke(*, patient: User, uid: str) -> ReportLink:
    """Stop the link now (the next request is refused); revoking twice keeps the first time."""
    link = ReportLink.objects.filter(patient=patient, uid=uid).first()
    if link is None:
        raise Http404
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
    return link


def link_by_token(token: str) -> ReportLink | None:
    """The live link with this token, or None (unknown, expired, revoked, or its person is gone)."""
    if not token or len(token) > 100:
        return None
    link = (
        ReportLink.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("patient")
        .first()
    )
    if link is None or not link.patient.is_active:
        return None
    return link


def link_view_record(*, link: ReportLink, what: str) -> ReportLinkView:
    return ReportLinkView.objects.create(link=link, patient_id=link.patient_id, what=what)
