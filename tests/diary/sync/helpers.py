from __future__ import annotations

import datetime as dt
import json
from typing import Any

from rest_framework.test import APIClient

from diary.core.fields import datetime_to_ms

TABLES = ("episodes", "checkins", "reminders", "notifications", "alerts")


def ms_ago(**delta: float) -> int:
    return datetime_to_ms(dt.datetime.now(dt.UTC) - dt.timedelta(**delta)) // 1000 * 1000


def raw_episode(uid: str, **overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": uid, "kind": "cramp", "subtype": "nocturnal", "body_location": "calf", "side": "left",
        "started_at": ms_ago(hours=2), "tz": "Europe/Berlin", "duration_s": 60, "pain": 5,
        "symptoms": "[]", "triggers": '["dehydration"]', "activity": "sleep", "relief": '["stretching"]',
        "relief_score": 6, "notes": "", "created_at": ms_ago(hours=1), "updated_at": ms_ago(hours=1),
    }  # fmt: skip
    rec.update(overrides)
    return rec


def raw_checkin(day: str, **overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": day, "date": day, "water_ml": 1500, "hot_weather": False, "medications": "[]"}
    rec.update(overrides)
    return rec


def changes(**tables: dict[str, list[Any]]) -> dict[str, Any]:
    return {name: {"created": [], "updated": [], "deleted": [], **tables.get(name, {})} for name in TABLES}


def pull(api: APIClient, last: int | None, **params: Any) -> dict[str, Any]:
    query = {"last_pulled_at": "null" if last is None else last, "schema_version": 1, "migration": "null", **params}
    r = api.get("/api/v1/sync/pull", query)
    assert r.status_code == 200, r.content
    return json.loads(r.content)


def push(api: APIClient, last: int, body: Any, status: int = 200) -> dict[str, Any]:
    r = api.generic(
        "POST", f"/api/v1/sync/push?last_pulled_at={last}", json.dumps(body), content_type="application/json"
    )
    assert r.status_code == status, r.content[:2000]
    return json.loads(r.content)
