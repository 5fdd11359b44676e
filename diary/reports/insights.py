"""Insights within one share: the pure analysis (diary/patterns) run over the share's window only.

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

from diary.core.fields import zone
from diary.patterns.analysis import ANALYSIS_VERSION, analyse
from diary.patterns.selectors import analysis_rows
from diary.sharing.models import Share
from diary.sync.models import SyncState

CACHE_SECONDS = 24 * 3600


def share_analysis_days(share: Share, today: dt.date, last_days: int | None = None) -> tuple[dt.date, dt.date] | None:
    """(first, last) local day the share's insights analyse (at most ``last_days`` of them), or None
    when the window has not begun. ``today`` is the day in progress: the last day analysed is yesterday."""
    yesterday = today - dt.timedelta(days=1)  # the last complete local day
    end = min(share.window_end, yesterday) if share.window_end else yesterday
    start = end - dt.timedelta(days=min(settings.INSIGHTS_WINDOW_DAYS, last_days or settings.INSIGHTS_WINDOW_DAYS) - 1)
    if share.window_start is not None:
        start = max(start, share.window_start)
    return (start, end) if start <= end else None


def share_insights(share: Share, *, cached_ok: bool = True, last_days: int | None = None) -> dict[str, Any] | None:
    """``{"computed_at", "report"}`` over the share's window (None if it has not begun); ``cached_ok``
    False recomputes (and re-caches) it, as the first read after a write does. ``last_days`` analyses
    only the window's last days: the triage list's trend needs 56 of them, not five years."""
    today = timezone.now().astimezone(zone(share.patient.current_timezone)).date()
    days = share_analysis_days(share, today, last_days)
    if days is None:
        return None
    start, end = days
    seq = SyncState.objects.filter(user_id=share.patient_id).values_list("seq", flat=True).first()
    key = f"share-insights:v{ANALYSIS_VERSION}:{share.pk}:{start}:{end}:{seq}"
    cached = cache.get(key) if cached_ok else None
    if cached is not None:
        return dict(cached)
    episodes, checkins = analysis_rows(user_id=share.patient_id, since=start)
    episodes = [e for e in episodes if start <= e.started_at.astimezone(zone(e.tz)).date() <= end]
    checkins = [c for c in checkins if start <= c.day <= end]
    report = analyse(episodes, checkins, today=end + dt.timedelta(days=1), window_days=(end - start).days + 1)
    body = {"computed_at": timezone.now(), "report": report}
    cache.set(key, body, CACHE_SECONDS)
    return body
