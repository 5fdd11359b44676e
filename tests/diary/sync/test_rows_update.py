"""Stored rows a push changes are saved with one ``UPDATE ... FROM (VALUES ...)`` per batch on PostgreSQL
(diary/sync/bulk.py, issue 18): every column type the synced tables use, NULLs (a VALUES list would
type a lone NULL as text), several batches, and tombstones in the same push, read back through pull."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from diary.episodes.models import Episode
from diary.sync import bulk
from tests.conftest import client_for, make_user
from tests.diary.sync.helpers import changes, ms_ago, pull, push, raw_checkin, raw_episode

pytestmark = pytest.mark.django_db


def test_updates_in_batches_store_what_was_pushed(monkeypatch: pytest.MonkeyPatch) -> None:
    api = client_for(make_user())
    uids = [f"e{i}" for i in range(5)]
    push(api, 1, changes(
        episodes={"created": [raw_episode(u) for u in uids]},
        checkins={"created": [raw_checkin("2026-12-01", water_ml=900)]},
    ))  # fmt: skip
    cursor = pull(api, None)["timestamp"]
    monkeypatch.setattr(bulk, "UPDATE_BATCH", 2)
    amended = [
        raw_episode(
            u,
            duration_s=None if i % 2 else 300 + i,
            side=None,
            subtype=None if i == 0 else "nocturnal",
            symptoms='["lingering_pain"]' if i < 2 else "[]",
            pain=i,
            notes=f"note {i} 'quoted'",
            started_at=ms_ago(hours=3 + i),
            updated_at=ms_ago(minutes=5),
        )
        for i, u in enumerate(uids[:4])
    ]
    sent: list[str] = []  # every statement the push sends

    def record(execute: Any, sql: str, *rest: Any) -> Any:
        sent.append(sql)
        return execute(sql, *rest)

    with connection.execute_wrapper(record):
        push(api, cursor, changes(
            episodes={"updated": amended, "deleted": [uids[4]]},
            checkins={"updated": [raw_checkin("2026-12-01", water_ml=None, hot_weather=True)]},
        ))  # fmt: skip
    got = pull(api, cursor)["changes"]
    by_id = {r["id"]: r for r in got["episodes"]["updated"]}
    for amend in amended:
        row = by_id[amend["id"]]
        for key in ("duration_s", "side", "subtype", "symptoms", "pain", "notes", "started_at"):
            assert row[key] == amend[key], (amend["id"], key)
    assert got["episodes"]["deleted"] == [uids[4]]
    (checkin,) = got["checkins"]["updated"]
    assert checkin["water_ml"] is None and checkin["hot_weather"] is True
    assert Episode.objects.filter(uid=uids[4]).get().deleted_at is not None
    if connection.vendor == "postgresql":
        updates = [sql for sql in sent if sql.startswith('UPDATE "diary_episode"')]
        assert len(updates) == 3  # four amended in batches of two, one tombstone
        assert all("FROM (VALUES" in sql for sql in updates)
