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


def _in_window(share: Share, day: dt.date) -> bool:
    return (share.window_start is None or day >= share.window_start) and (
        share.window_end is None or day <= share.window_end
    )


def scoped_episodes(share: Share) -> list[Episode]:
    """Live episodes whose local day lies in the share's window, newest first."""
    rows: QuerySet[Episode] = Episode.objects.filter(user_id=share.patient_id, deleted_at__isnull=True)
    if share.window_start:
        rows = rows.filter(started_at__gte=dt.datetime.combine(share.window_start, dt.time(), tzinfo=dt.UTC) - _SLACK)
    if share.window_end:
        rows = rows.filter(started_at__lt=dt.datetime.combine(share.window_end, dt.time(), tzinfo=dt.UTC) + 2 * _SLACK)
    return [
        e for e in rows.order_by("-started_at", "-id") if _in_window(share, e.started_at.astimezone(zone(e.tz)).date())
    ]


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
