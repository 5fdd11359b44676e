"""A large push on SQLite commits in chunks (issue 18 item 7; ``SYNC_SQLITE_PUSH_CHUNK``): the file has one
write lock, and a 50,000-record push held it past other writers' busy timeout. PostgreSQL keeps every
push one transaction. Runs in both passes of the suite: each asserts its own database's behaviour.
``tests/smoke/test_sqlite_under_load.py`` shows the effect on 16 writers against a live server."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from diary.episodes.models import Episode
from diary.outbox import routes
from diary.outbox.models import OutboxEvent
from diary.sync.push.service import _chunks
from tests.conftest import client_for, make_user
from tests.diary.sync.helpers import changes, ms_ago, pull, push, raw_episode

CHUNK = 2


def test_chunks_keep_every_record_of_one_id_together_and_each_near_the_size() -> None:
    body: dict[str, dict[str, list[Any]]] = {
        "episodes": {
            "created": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
            "updated": [{"id": "a"}, {"id": "d"}],
            "deleted": ["b", "e"],
        },
        "checkins": {"created": [{"id": "2026-11-02"}], "updated": [], "deleted": []},
    }
    parts = list(_chunks(body, CHUNK))
    where: dict[tuple[str, str], set[int]] = {}
    for i, part in enumerate(parts):
        for table, sections in part.items():
            for key, items in sections.items():
                for item in items:
                    where.setdefault((table, item if key == "deleted" else item["id"]), set()).add(i)
    assert all(len(chunks) == 1 for chunks in where.values()), where  # an id never spans two chunks
    assert len(where) == 6
    assert [sum(len(v) for s in p.values() for v in s.values()) for p in parts] == [
        2,
        2,
        2,
        2,
    ]  # a+a, b+b, c d, e 2026-11-02
    assert [list(s) for s in parts[0].values()] == [["created", "updated", "deleted"]]  # the full shape
    assert list(_chunks({}, CHUNK)) == [{}]  # an empty push is still one (empty) transaction


@pytest.mark.django_db(transaction=True)
def test_a_large_push_commits_in_chunks_on_sqlite_and_in_one_transaction_on_postgresql(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SYNC_SQLITE_PUSH_CHUNK = CHUNK
    user = make_user()
    api = client_for(user)
    records = [raw_episode(f"e{i}", started_at=ms_ago(hours=2 + i)) for i in range(5)]
    answer = push(api, pull(api, None)["timestamp"], changes(episodes={"created": records}))
    assert answer["rejected"] == {}
    assert Episode.objects.filter(user=user).count() == 5
    handler = routes.AFTER_COMMIT[routes.EPISODE_WRITTEN][0]
    intents = list(OutboxEvent.objects.filter(user=user, handler=handler).values_list("payload", flat=True))
    # One intent per transaction: each chunk is a push of its own on SQLite.
    expected = 3 if connection.vendor == "sqlite" else 1
    assert len(intents) == expected, intents
    assert sorted(uid for p in intents for uid in p["uids"]) == [f"e{i}" for i in range(5)]


@pytest.mark.django_db(transaction=True)
def test_a_conflict_in_a_later_chunk_then_pull_and_push_again_converges(settings) -> None:  # type: ignore[no-untyped-def]
    """SQLite stores the chunks before the conflicting one (PostgreSQL nothing); either way the app's
    next sync (pull, then the same push from the new cursor) stores everything once."""
    settings.SYNC_SQLITE_PUSH_CHUNK = CHUNK
    user = make_user()
    phone, tablet = client_for(user), client_for(user)
    push(phone, pull(phone, None)["timestamp"], changes(episodes={"created": [raw_episode("x")]}))
    t0 = pull(phone, None)["timestamp"]
    push(tablet, t0, changes(episodes={"updated": [raw_episode("x", pain=9)]}))  # changed since the phone pulled
    new = [raw_episode(f"e{i}", started_at=ms_ago(hours=3 + i)) for i in range(4)]
    body = changes(episodes={"created": new, "updated": [raw_episode("x", pain=2)]})  # x: the last chunk
    answer = push(phone, t0, body, status=409)
    assert answer["conflicts"] == {"episodes": ["x"]}
    stored_first = Episode.objects.filter(user=user, uid__startswith="e").count()
    assert stored_first == (4 if connection.vendor == "sqlite" else 0)
    t1 = pull(phone, t0)["timestamp"]
    push(phone, t1, body)
    assert sorted(Episode.objects.filter(user=user).values_list("uid", flat=True)) == ["e0", "e1", "e2", "e3", "x"]
    assert Episode.objects.get(user=user, uid="x").pain == 2
