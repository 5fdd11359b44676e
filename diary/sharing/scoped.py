"""A patient's data as one share allows it: scopes, date window, and notes only with the notes scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from diary.checkins.models import CheckIn
from diary.core.fields import zone
from diary.episodes.models import Episode
from diary.sharing.models import AccessLog, Share

_SLACK = dt.timedelta(days=1)  # zones: a local day reaches 14 hours either side of UTC


def access_record(*, share: Share, what: str) -> AccessLog:
    """One entry per clinician read (API call, page, export)."""
    return AccessLog.objects.create(
        patient_id=share.patient_id, clinician_id=share.clinician_id, share=share, what=what
    )


def access_records(*, shares: list[Share], what: str) -> None:
    """One entry per share read at once (the triage list shows several patients in one read)."""
    AccessLog.objects.bulk_create(
        [AccessLog(patient_id=s.patient_id, clinician_id=s.clinician_id, share=s, what=what) for s in shares]
    )


def in_window(share: Share, day: dt.date) -> bool:
    """Whether the local ``day`` lies in the share's date window (open ends allow everything)."""
    return (share.window_start is None or day >= share.window_start) and (
        share.window_end is None or day <= share.window_end
    )


def _window_rows(share: Share) -> QuerySet[Episode]:
    """Live episodes whose UTC start can fall on a local day of the window (a day of slack either side)."""
    rows: QuerySet[Episode] = Episode.objects.filter(user_id=share.patient_id, deleted_at__isnull=True)
    if share.window_start:
        rows = rows.filter(started_at__gte=dt.datetime.combine(share.window_start, dt.time(), tzinfo=dt.UTC) - _SLACK)
    if share.window_end:
        rows = rows.filter(started_at__lt=dt.datetime.combine(share.window_end, dt.time(), tzinfo=dt.UTC) + 2 * _SLACK)
    return rows


def scoped_episodes(share: Share) -> list[Episode]:
    """Live episodes whose local day lies in the share's window, newest first."""
    rows = _window_rows(share).order_by("-started_at", "-id")
    return [e for e in rows if in_window(share, e.started_at.astimezone(zone(e.tz)).date())]


def last_entry(share: Share) -> dt.datetime | None:
    """When the newest live episode within the window started (the triage list's ``last_entry``).

    Reads newest first and stops at the first row in the window: only the slack rows just past the
    window's end (at most a day of them) can come before it."""
    rows = _window_rows(share).order_by("-started_at", "-id").values_list("started_at", "tz")
    for started_at, tz in rows.iterator(chunk_size=50):
        if in_window(share, started_at.astimezone(zone(tz)).date()):
            return started_at
    return None


def scoped_checkins(share: Share) -> list[CheckIn]:
    rows = CheckIn.objects.filter(user_id=share.patient_id, deleted_at__isnull=True)
    if share.window_start:
        rows = rows.filter(date__gte=share.window_start)
    if share.window_end:
        rows = rows.filter(date__lte=share.window_end)
    return list(rows.order_by("-date"))


def redact(record: dict[str, Any], share: Share) -> dict[str, Any]:
    """Free-text notes leave the server only under the ``notes`` scope."""
    if "notes" not in share.scopes and "notes" in record:
        record = {k: v for k, v in record.items() if k != "notes"}
    return record
