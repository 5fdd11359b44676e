"""Episode -> natural JSON (REST). Hand-written for speed: it runs for every row of every page.

Lists render rows straight from ``values(*REST_COLUMNS)`` (``episode_row_to_rest``): no model instance
per row; a single episode renders the same way from its instance (``episode_to_rest``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diary.core.fields import zone
from diary.episodes.models import Episode

REST_COLUMNS = (
    "uid", "kind", "subtype", "body_location", "side", "started_at", "tz", "duration_s", "pain", "symptoms",
    "triggers", "activity", "relief", "relief_score", "notes", "created_at", "updated_at",
)  # fmt: skip


def episode_row_to_rest(r: Mapping[str, Any]) -> dict[str, Any]:
    """One row of ``values(*REST_COLUMNS)``."""
    local_start = r["started_at"].astimezone(zone(r["tz"]))
    return {
        "id": r["uid"],
        "kind": r["kind"],
        "subtype": r["subtype"],
        "body_location": r["body_location"],
        "side": r["side"],
        "started_at": local_start.isoformat(),
        "local_date": local_start.date().isoformat(),
        "tz": r["tz"],
        "duration_s": r["duration_s"],
        "pain": r["pain"],
        "symptoms": r["symptoms"],
        "triggers": r["triggers"],
        "activity": r["activity"],
        "relief": r["relief"],
        "relief_score": r["relief_score"],
        "notes": r["notes"],
        "created_at": r["created_at"].isoformat(),
        "updated_at": r["updated_at"].isoformat(),
    }


def episode_to_rest(e: Episode) -> dict[str, Any]:
    return episode_row_to_rest({name: getattr(e, name) for name in REST_COLUMNS})
