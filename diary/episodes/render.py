"""Episode -> natural JSON (REST). Hand-written for speed: it runs for every row of every page."""

from __future__ import annotations

from typing import Any

from diary.core.fields import zone
from diary.episodes.models import Episode


def episode_to_rest(e: Episode) -> dict[str, Any]:
    local_start = e.started_at.astimezone(zone(e.tz))
    return {
        "id": e.uid,
        "kind": e.kind,
        "subtype": e.subtype,
        "body_location": e.body_location,
        "side": e.side,
        "started_at": local_start.isoformat(),
        "local_date": local_start.date().isoformat(),
        "tz": e.tz,
        "duration_s": e.duration_s,
        "pain": e.pain,
        "symptoms": e.symptoms,
        "triggers": e.triggers,
        "activity": e.activity,
        "relief": e.relief,
        "relief_score": e.relief_score,
        "notes": e.notes,
        "created_at": e.created_at.isoformat(),
        "updated_at": e.updated_at.isoformat(),
    }
