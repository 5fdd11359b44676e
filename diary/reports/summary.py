"""The numbers a report leads with, and the bins of its charts: pure functions of a report's rows.

Local days throughout: each episode counts on the local day it started, in its own zone. Only complete
local days count for rates: "now" is the 28 complete days ending at the report's last complete day,
"before" the 28 days before them; days before the first entry of the period are not observed, so a
person who started 10 days ago has a rate over 10 days, not 28.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from diary.reports.rows import Row

RATE_DAYS = 28
WEEKLY_UP_TO_DAYS = 53 * 7  # longer periods are charted per month


@dataclass(frozen=True)
class Rate:
    n: int
    days: int  # observed days
    first: dt.date
    last: dt.date

    @property
    def per_week(self) -> float | None:
        return self.n / self.days * 7 if self.days else None


def rates(rows: Sequence[Row], *, last_day: dt.date, observed_from: dt.date) -> tuple[Rate, Rate]:
    """(now, before): episodes per observed day in the ``RATE_DAYS`` days ending ``last_day`` and the
    ``RATE_DAYS`` days before them; days before ``observed_from`` are not observed."""
    out = []
    for k in (0, 1):
        last = last_day - dt.timedelta(days=k * RATE_DAYS)
        first = last - dt.timedelta(days=RATE_DAYS - 1)
        observed = max(0, (last - max(first, observed_from)).days + 1)
        out.append(Rate(n=sum(1 for r in rows if first <= r.day <= last), days=observed, first=first, last=last))
    return out[0], out[1]


def median_pain(rows: Sequence[Row]) -> float | None:
    return statistics.median(r.pain for r in rows) if rows else None


def worst_pain(rows: Sequence[Row]) -> Row | None:
    """The most painful episode (the latest of equals)."""
    return max(rows, key=lambda r: (r.pain, r.started_at), default=None)


def longest(rows: Sequence[Row]) -> Row | None:
    """The longest finished episode (the latest of equals); ongoing ones have no length yet."""
    timed = [r for r in rows if r.duration_s is not None]
    return max(timed, key=lambda r: (r.duration_s or 0, r.started_at), default=None)


def bins(first: dt.date, last: dt.date) -> tuple[str, list[dt.date]]:
    """("week", Mondays) or, for periods longer than about a year, ("month", first days of months):
    from the bin holding ``first`` to the one holding ``last``, so a chart starts where the data does."""
    if (last - first).days < WEEKLY_UP_TO_DAYS:
        start = first - dt.timedelta(days=first.weekday())
        return "week", [start + dt.timedelta(weeks=i) for i in range((last - start).days // 7 + 1)]
    months, d = [], first.replace(day=1)
    while d <= last:
        months.append(d)
        d = (d + dt.timedelta(days=32)).replace(day=1)
    return "month", months


def bin_of(day: dt.date, unit: str, first_bin: dt.date) -> int:
    if unit == "week":
        return (day - first_bin).days // 7
    return (day.year - first_bin.year) * 12 + day.month - first_bin.month


def bin_label(start: dt.date, unit: str) -> str:
    return f"{start.day} {start:%b}" if unit == "week" else f"{start:%b %Y}"


def per_bin(
    rows: Sequence[Row], unit: str, starts: Sequence[dt.date]
) -> tuple[dict[str, list[int]], list[tuple[int, float, int] | None]]:
    """Episodes per bin by kind, and each bin's pain (lowest, median, highest) or None when it has none."""
    n = len(starts)
    counts: dict[str, list[int]] = {}
    pains: list[list[int]] = [[] for _ in range(n)]
    for r in rows:
        i = bin_of(r.day, unit, starts[0])
        if 0 <= i < n:
            counts.setdefault(r.kind, [0] * n)[i] += 1
            pains[i].append(r.pain)
    stats = [(min(p), statistics.median(p), max(p)) if p else None for p in pains]
    return dict(sorted(counts.items())), stats


def minutes_by_kind(rows: Sequence[Row]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for r in rows:
        if r.duration_s is not None:
            out.setdefault(r.kind, []).append(r.duration_s / 60)
    return dict(sorted(out.items()))


def duration_text(seconds: int) -> str:
    """45 seconds, 12 minutes, 1 hour 5 minutes."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    h, m = divmod(minutes, 60)
    hours = f"{h} hour{'s' if h != 1 else ''}"
    return hours if m == 0 else f"{hours} {m} minute{'s' if m != 1 else ''}"
