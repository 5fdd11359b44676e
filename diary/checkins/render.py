from __future__ import annotations

from typing import Any

from diary.checkins.models import CheckIn
from diary.checkins.spec import CHECKIN

_VALUE_COLUMNS = tuple(f.name for f in CHECKIN.fields if f.name not in {"date", "created_at", "updated_at"})


def checkin_to_rest(c: CheckIn) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.uid, "date": c.date.isoformat()}
    for name in _VALUE_COLUMNS:
        out[name] = getattr(c, name)
    out["created_at"] = c.created_at.isoformat()
    out["updated_at"] = c.updated_at.isoformat()
    return out
