"""CheckIn -> natural JSON (REST). Lists render rows straight from ``values(*REST_COLUMNS)``
(``checkin_row_to_rest``): no model instance per row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diary.checkins.models import CheckIn
from diary.checkins.spec import CHECKIN

_VALUE_COLUMNS = tuple(f.name for f in CHECKIN.fields if f.name not in {"date", "created_at", "updated_at"})
REST_COLUMNS = ("uid", "date", *_VALUE_COLUMNS, "created_at", "updated_at")


def checkin_row_to_rest(r: Mapping[str, Any]) -> dict[str, Any]:
    """One row of ``values(*REST_COLUMNS)``."""
    out: dict[str, Any] = {"id": r["uid"], "date": r["date"].isoformat()}
    for name in _VALUE_COLUMNS:
        out[name] = r[name]
    out["created_at"] = r["created_at"].isoformat()
    out["updated_at"] = r["updated_at"].isoformat()
    return out


def checkin_to_rest(c: CheckIn) -> dict[str, Any]:
    return checkin_row_to_rest({name: getattr(c, name) for name in REST_COLUMNS})
