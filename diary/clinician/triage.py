"""The clinician's triage list: patients with open urgent, then high alerts first."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Q

from diary.accounts.models import User
from diary.alerts.models import Alert
from diary.episodes.models import Episode
from diary.patterns.selectors import insights_latest
from diary.sharing.selectors import shares_active


def triage_rows(*, clinician: User) -> list[dict[str, Any]]:
    shares = list(shares_active().filter(clinician=clinician).select_related("patient"))
    patients = [s.patient_id for s in shares]
    open_alerts = {
        row["user_id"]: row
        for row in Alert.objects.filter(user_id__in=patients, status="open", deleted_at__isnull=True)
        .values("user_id")
        .annotate(urgent=Count("pk", filter=Q(severity="urgent")), high=Count("pk", filter=Q(severity="high")))
    }
    last_entry = dict(
        Episode.objects.filter(user_id__in=patients, deleted_at__isnull=True)
        .values("user_id")
        .annotate(last=Max("started_at"))
        .values_list("user_id", "last")
    )
    rows = []
    for share in shares:
        alerts: Any = open_alerts.get(share.patient_id, {}) if "alerts" in share.scopes else {}
        trend = None
        if "insights" in share.scopes and (snap := insights_latest(user_id=share.patient_id)) is not None:
            trend = (snap.report.get("frequency") or {}).get("trend")
        last = last_entry.get(share.patient_id) if "episodes" in share.scopes else None
        rows.append({
            "patient_id": share.uid,
            "name": share.patient.display_name or share.patient.email,
            "scopes": share.scopes,
            "open_urgent": alerts.get("urgent", 0),
            "open_high": alerts.get("high", 0),
            "trend": trend,
            "last_entry": last.isoformat() if last else None,
        })  # fmt: skip
    rows.sort(key=lambda r: (-r["open_urgent"], -r["open_high"], r["name"]))
    return rows
