"""The statements the hot endpoints send (issue 18): a regression that adds a query fails here. Counted
after one request has made this process keep the account (diary/accounts/account_cache.py), as on a
busy server; inside the test's transaction Django writes savepoints where a request would BEGIN/COMMIT.

And the lists render rows from ``values()`` exactly as the model instances rendered them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.checkins.models import CheckIn
from diary.checkins.render import checkin_to_rest
from diary.episodes.models import Episode
from diary.episodes.render import episode_to_rest
from diary.sync.models import SyncState
from tests.conftest import episode_body, iso_ago
from tests.diary.sync.helpers import changes, pull, push, raw_episode

pytestmark = pytest.mark.django_db


def statements(action: Any) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        action()
    return [q["sql"] for q in queries.captured_queries]


def warm(api: APIClient) -> None:
    assert api.get("/api/v1/me").status_code == 200  # the account is kept from here on


def seeded(api: APIClient, n: int = 12) -> None:
    for i in range(n):
        body = episode_body(started_at=iso_ago(hours=5 * i + 1), tz=["Europe/Berlin", "Asia/Tokyo"][i % 2])
        if i % 3 == 0:
            body.update(notes=f"note {i} ✓", triggers=["dehydration", "custom:long drive"], relief_score=None)
        assert api.post("/api/v1/episodes", body, format="json").status_code == 201
    for day in ("2026-11-28", "2026-11-29", "2026-11-30"):
        r = api.put(f"/api/v1/checkins/{day}", {"date": day, "water_ml": 1500, "stress": 4}, format="json")
        assert r.status_code in (200, 201), r.content


@pytest.mark.postgresql  # the counts are PostgreSQL's, with the account copy kept under its Redis stamp
@pytest.mark.redis
class TestStatementsPerRequest:
    def test_an_up_to_date_pull(self, api: APIClient) -> None:
        seeded(api, 2)
        cursor = pull(api, None)["timestamp"]
        warm(api)
        sql = statements(lambda: pull(api, cursor))
        assert len(sql) == 1, sql  # the sequence row

    def test_a_list_page(self, api: APIClient) -> None:
        seeded(api)
        warm(api)
        sql = statements(lambda: api.get("/api/v1/episodes?page_size=5"))
        assert len(sql) == 1, sql  # the page (one row more than asked, to know there is a next)
        sql = statements(lambda: api.get("/api/v1/checkins"))
        assert len(sql) == 1, sql

    def test_a_create(self, api: APIClient) -> None:
        warm(api)
        sql = statements(lambda: api.post("/api/v1/episodes", episode_body(), format="json"))
        # savepoint, sequence claim, the insert (nothing if the id is taken: then the row is read), outbox rows,
        # release
        assert len(sql) == 5, sql

    def test_a_push_of_one(self, api: APIClient) -> None:
        warm(api)
        body = changes(episodes={"created": [raw_episode("one1")]})
        sql = statements(lambda: push(api, 1, body))
        # savepoint, the sequence claim (the lock: one stamp per record), the stored rows of the pushed ids,
        # INSERT (COPY for more than one row), outbox rows, release
        assert len(sql) == 6, sql

    def test_a_push_writing_fewer_records_than_it_carries_hands_the_unused_stamps_back(
        self, api: APIClient, owner: User
    ) -> None:
        cursor = pull(api, None)["timestamp"]
        push(api, cursor, changes(episodes={"created": [raw_episode("kept")]}))
        cursor = pull(api, cursor)["timestamp"]
        stored = Episode.objects.get(user=owner, uid="kept")
        body = changes(episodes={"created": [raw_episode("new1"), raw_episode("bad", pain=99)], "deleted": ["gone"]})
        body["episodes"]["updated"] = [pull(api, 0)["changes"]["episodes"]["created"][0]]  # a replay: no write
        sql = statements(lambda: push(api, cursor, body))
        assert sum(q.startswith("UPDATE diary_sync_state") for q in sql) == 2, sql  # the claim, the hand-back
        new = Episode.objects.get(user=owner, uid="new1")
        assert new.seq == stored.seq + 1 == SyncState.objects.get(user=owner).seq  # one stamp used, none lost
        assert pull(api, cursor)["timestamp"] == new.seq

    def test_outbox_payloads_travel_as_json_parameters_not_an_escaped_array(self, api: APIClient) -> None:
        """Django's UNNEST insert would put every payload into one jsonb[] literal, each quote escaped."""
        body = changes(episodes={"created": [raw_episode(f"many{i}") for i in range(3)]})
        sql = statements(lambda: push(api, 1, body))
        (outbox,) = [q for q in sql if q.startswith('INSERT INTO "diary_outbox_event"')]
        assert "UNNEST" not in outbox and "jsonb[]" not in outbox


class TestListsRenderAsInstancesDid:
    def test_episode_pages(self, api: APIClient, owner: User) -> None:
        seeded(api)
        r = api.get("/api/v1/episodes?page_size=5")
        first = json.loads(r.content)
        expected = [episode_to_rest(e) for e in Episode.objects.filter(user=owner).order_by("-started_at", "-id")]
        assert first["results"] == expected[:5]
        second = json.loads(api.get(first["next"]).content)
        assert second["results"] == expected[5:10]
        filtered = json.loads(api.get("/api/v1/episodes?kind=cramp&page_size=200").content)["results"]
        assert filtered == [e for e in expected if e["kind"] == "cramp"]

    def test_checkin_pages(self, api: APIClient, owner: User) -> None:
        seeded(api)
        got = json.loads(api.get("/api/v1/checkins").content)["results"]
        assert got == [checkin_to_rest(c) for c in CheckIn.objects.filter(user=owner).order_by("-date")]

    def test_another_persons_rows_never_appear(self, api: APIClient, other_api: APIClient) -> None:
        seeded(api, 3)
        assert json.loads(other_api.get("/api/v1/episodes").content)["results"] == []
        assert json.loads(other_api.get("/api/v1/checkins").content)["results"] == []
