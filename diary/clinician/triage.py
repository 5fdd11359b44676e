"""The clinician's triage list: patients with open urgent, then high alerts first.

Every field stays within its share: open alert counts only of alerts in the window (``shared_alerts``),
the trend from insights over the window (``share_insights``), the last entry the newest episode in the
window. The list shows each patient's data, so reading it records one access-log entry per patient.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from diary.accounts.models import User
from diary.alerts.shared import shared_alerts
from diary.core import words
from diary.patterns.rules import TREND_DAYS
from diary.reports.insights import share_insights
from diary.sharing.models import Share
from diary.sharing.scoped import access_records, last_entry
from diary.sharing.selectors import shares_active


def _row(share: Share, reader_tz: str | None = None) -> dict[str, Any]:
    alerts: dict[str, int] = {}
    if "alerts" in share.scopes:
        alerts = (
            shared_alerts(share)
            .filter(status="open")
            .aggregate(urgent=Count("pk", filter=Q(severity="urgent")), high=Count("pk", filter=Q(severity="high")))
        )
    trend = None
    # The trend compares the last 28 days with the 28 before: only those days are analysed here.
    if "insights" in share.scopes and (insights := share_insights(share, last_days=2 * TREND_DAYS)) is not None:
        trend = (insights["report"].get("frequency") or {}).get("trend")
    last = last_entry(share) if "episodes" in share.scopes else None
    return {
        "patient_id": share.uid,
        "name": share.patient.display_name or share.patient.email,
        "scopes": share.scopes,
        "open_urgent": alerts.get("urgent") or 0,
        "open_high": alerts.get("high") or 0,
        "trend": trend,
        "last_entry": last.isoformat() if last else None,
        # The patient's local time (what the diary and the alerts say), its zone named when it is not
        # the reader's: "Fri 4 Dec 2026, 20:59" or "Fri 4 Dec 2026, 20:59 Auckland time".
        "last_entry_local": words.local_time(last, share.patient.timezone, reader_tz=reader_tz) if last else None,
    }


def triage_rows(*, clinician: User) -> list[tuple[dict[str, Any], Share]]:
    """The rows, sorted, each with the share it shows (for the access log)."""
    shares = shares_active().filter(clinician=clinician).select_related("patient")
    rows = [(_row(s, clinician.timezone), s) for s in shares]
    rows.sort(key=lambda r: (-r[0]["open_urgent"], -r[0]["open_high"], r[0]["name"]))
    return rows


def triage_read(*, clinician: User) -> list[dict[str, Any]]:
    """The triage list as the clinician reads it: one access-log entry per patient shown."""
    rows = triage_rows(clinician=clinician)
    access_records(shares=[share for _, share in rows], what="triage")
    return [row for row, _ in rows]
