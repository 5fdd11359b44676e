"""A report's episodes: the columns a report shows, for the local days of its period, as plain rows.

One query of plain values (no model instances): a report of five years reads 5,000 of them, and the
summary, the charts and the table are computed from these rows alone. Notes are read only when the
report may show them.
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
    symptoms: list[str]
    triggers: list[str]
    notes: str | None  # None unless the report shows notes

    @property
    def day(self) -> dt.date:
        return self.local.date()


_COLUMNS = ("uid", "started_at", "tz", "kind", "body_location", "side", "duration_s", "pain", "symptoms", "triggers")


def period_rows(*, user_id: int, start: dt.date | None, end: dt.date | None, notes: bool) -> list[Row]:
    """The person's live episodes whose local day lies in ``start``..``end`` (open ends allowed), newest
    first."""
    rows = Episode.objects.filter(user_id=user_id, deleted_at__isnull=True)
    if start is not None:
        rows = rows.filter(started_at__gte=dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC) - _SLACK)
    if end is not None:
        rows = rows.filter(started_at__lt=dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC) + 2 * _SLACK)
    columns = (*_COLUMNS, "notes") if notes else _COLUMNS
    out = []
    for values in rows.order_by("-started_at", "-id").values_list(*columns):
        uid, started_at, tz, kind, where, side, duration_s, pain, symptoms, triggers = values[:10]
        local = started_at.astimezone(zone(tz))
        day = local.date()
        if (start is None or day >= start) and (end is None or day <= end):
            out.append(Row(uid, started_at, local, tz, kind, where, side, duration_s, pain, symptoms or [],
                           triggers or [], values[10] if notes else None))  # fmt: skip
    return out
