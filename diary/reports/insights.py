"""Insights within one share (or one report's period): the pure analysis (diary/patterns) run over that
window only (``period_insights``; ``share_insights`` is it over a share's window).

The person's own snapshot (``InsightSnapshot``) covers their whole recent diary, so it would name body
locations, triggers and a trend from days the share does not include. A clinician's insights are
therefore computed from the window's rows: the last ``INSIGHTS_WINDOW_DAYS`` local days of the window
(ending at its end, or yesterday if that is earlier: the day in progress is never analysed), only
episodes and check-ins whose local day lies inside. The result is cached per share, window and the person's sequence number (every write to their
diary advances it), so the page, PDF and triage list pay for the analysis once per change, not per
request; a cache that is down only costs the recomputation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from diary.accounts.models import User
from diary.core.fields import zone
from diary.patterns.analysis import ANALYSIS_VERSION, analyse
from diary.patterns.selectors import analysis_rows
from diary.sharing.models import Share
from diary.sync.models import SyncState

CACHE_SECONDS = 24 * 3600


def analysis_days(
    window_start: dt.date | None, window_end: dt.date | None, today: dt.date, last_days: int | None = None
) -> tuple[dt.date, dt.date] | None:
    """(first, last) local day analysed of a window of local days (open ends allowed), at most
    ``last_days`` of them, or None when the window has not begun. ``today`` is the day in progress: the
    last day analysed is yesterday."""
    yesterday = today - dt.timedelta(days=1)  # the last complete local day
    end = min(window_end, yesterday) if window_end else yesterday
    start = end - dt.timedelta(days=min(settings.INSIGHTS_WINDOW_DAYS, last_days or settings.INSIGHTS_WINDOW_DAYS) - 1)
    if window_start is not None:
        start = max(start, window_start)
    return (start, end) if start <= end else None


def share_analysis_days(share: Share, today: dt.date, last_days: int | None = None) -> tuple[dt.date, dt.date] | None:
    """``analysis_days`` of the share's window."""
    return analysis_days(share.window_start, share.window_end, today, last_days)


def share_insights(share: Share, *, cached_ok: bool = True, last_days: int | None = None) -> dict[str, Any] | None:
    """``{"computed_at", "report"}`` over the share's window (None if it has not begun); ``cached_ok``
    False recomputes (and re-caches) it, as the first read after a write does. ``last_days`` analyses
    only the window's last days: the triage list's trend needs 56 of them, not five years."""
    return period_insights(
        share.patient, share.window_start, share.window_end, key=f"share:{share.pk}", cached_ok=cached_ok,
        last_days=last_days,
    )  # fmt: skip


def period_insights(
    patient: User,
    window_start: dt.date | None,
    window_end: dt.date | None,
    *,
    key: str,
    cached_ok: bool = True,
    last_days: int | None = None,
) -> dict[str, Any] | None:
    """``{"computed_at", "report"}``: the analysis (its public shape: ``diary.patterns.snapshot.Snapshot``)
    over the complete local days of a window of the person's diary (None if it has not begun); ``key``
    names the reader's view (a share, the person's own report) in the cache."""
    today = timezone.now().astimezone(zone(patient.current_timezone)).date()
    days = analysis_days(window_start, window_end, today, last_days)
    if days is None:
        return None
    start, end = days
    seq = SyncState.objects.filter(user_id=patient.pk).values_list("seq", flat=True).first()
    cache_key = f"period-insights:v{ANALYSIS_VERSION}:{key}:{patient.pk}:{start}:{end}:{seq}"
    cached = cache.get(cache_key) if cached_ok else None
    if cached is not None:
        return dict(cached)
    episodes, checkins = analysis_rows(user_id=patient.pk, since=start)
    episodes = [e for e in episodes if start <= e.started_at.astimezone(zone(e.tz)).date() <= end]
    checkins = [c for c in checkins if start <= c.day <= end]
    report = analyse(episodes, checkins, today=end + dt.timedelta(days=1), window_days=(end - start).days + 1)
    body = {"computed_at": timezone.now(), "report": report}
    cache.set(cache_key, body, CACHE_SECONDS)
    return body
