"""A report's episodes: the columns a report shows, for the local days of its period, as plain rows.

One query of plain values (no model instances, no JSON): a report of five years reads 5,000 of them,
and the summary and the charts are computed from these rows alone. The episode table's few hundred
rows then read their lists and notes (``details``); notes only when the report may show them.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from diary.core.fields import zone
from diary.episodes.models import Episode

_SLACK = dt.timedelta(days=1)  # zones: a local day reaches 14 hours either side of UTC


class Row(NamedTuple):
    uid: str
    started_at: dt.datetime  # UTC
    local: dt.datetime  # in the episode's own zone (where it happened)
    tz: str
    kind: str
    body_location: str
    side: str | None
    duration_s: int | None  # None while ongoing
    pain: int

    @property
    def day(self) -> dt.date:
        return self.local.date()


class Details(NamedTuple):
    symptoms: list[str]
    triggers: list[str]
    notes: str | None  # None unless the report shows notes


def period_rows(*, user_id: int, start: dt.date | None, end: dt.date | None) -> list[Row]:
    """The person's live episodes whose local day lies in ``start``..``end`` (open ends allowed), newest
    first."""
    rows = Episode.objects.filter(user_id=user_id, deleted_at__isnull=True)
    if start is not None:
        rows = rows.filter(started_at__gte=dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC) - _SLACK)
    if end is not None:
        rows = rows.filter(started_at__lt=dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC) + 2 * _SLACK)
    out = []
    columns = ("uid", "started_at", "tz", "kind", "body_location", "side", "duration_s", "pain")
    for uid, started_at, tz, kind, where, side, duration_s, pain in rows.order_by("-started_at", "-id").values_list(
        *columns
    ):
        local = started_at.astimezone(zone(tz))
        day = local.date()
        if (start is None or day >= start) and (end is None or day <= end):
            out.append(Row(uid, started_at, local, tz, kind, where, side, duration_s, pain))
    return out


def details(*, user_id: int, uids: list[str], notes: bool) -> dict[str, Details]:
    """uid -> the symptoms, triggers and (with ``notes``) notes of these episodes of the person."""
    columns = ("uid", "symptoms", "triggers", "notes") if notes else ("uid", "symptoms", "triggers")
    rows = Episode.objects.filter(user_id=user_id, uid__in=uids).values_list(*columns)
    return {v[0]: Details(v[1] or [], v[2] or [], v[3] if notes else None) for v in rows}
