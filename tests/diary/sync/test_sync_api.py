"""Pull and push (SYNC.md): cursor, conflicts, idempotency, tombstones, rejection by id, isolation."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.checkins.models import CheckIn
from diary.episodes.models import Episode
from diary.outbox import routes
from diary.outbox.models import OutboxEvent
from diary.sync.models import SyncState
from tests.conftest import episode_body
from tests.diary.sync.helpers import TABLES, changes, pull, push, raw_checkin, raw_episode

pytestmark = pytest.mark.django_db


def test_empty_account_answers_timestamp_1_with_every_table(api: APIClient) -> None:
    answer = pull(api, None)
    assert answer["timestamp"] == 1
    assert set(answer["changes"]) == set(TABLES)
    assert all(v == {"created": [], "updated": [], "deleted": []} for v in answer["changes"].values())


def test_first_pull_sends_live_rows_as_created_in_raw_shape(api: APIClient) -> None:
    api.post("/api/v1/episodes/", episode_body(id="e1", symptoms=["weakness"]), format="json")
    api.post("/api/v1/episodes/", episode_body(id="gone"), format="json")
    api.delete("/api/v1/episodes/gone")
    api.put("/api/v1/checkins/2026-11-01", {"water_ml": 900, "medications": ["statin"]}, format="json")
    answer = pull(api, None)
    (episode,) = answer["changes"]["episodes"]["created"]
    assert episode["id"] == "e1" and episode["symptoms"] == '["weakness"]'
    assert isinstance(episode["started_at"], int) and isinstance(episode["created_at"], int)
    assert "_status" not in episode and "_changed" not in episode
    assert answer["changes"]["episodes"]["deleted"] == []  # a first sync has nothing to delete
    (checkin,) = answer["changes"]["checkins"]["created"]
    assert checkin == {**checkin, "id": "2026-11-01", "date": "2026-11-01", "medications": '["statin"]'}
    assert answer["timestamp"] == SyncState.objects.get().seq


def test_incremental_pull_sends_changes_as_updated_and_deletions_as_ids(api: APIClient) -> None:
    api.post("/api/v1/episodes/", episode_body(id="a"), format="json")
    api.post("/api/v1/episodes/", episode_body(id="b"), format="json")
    t = pull(api, None)["timestamp"]
    api.patch("/api/v1/episodes/a", {"pain": 9}, format="json")
    api.delete("/api/v1/episodes/b")
    answer = pull(api, t)
    assert [e["id"] for e in answer["changes"]["episodes"]["updated"]] == ["a"]
    assert answer["changes"]["episodes"]["created"] == []
    assert answer["changes"]["episodes"]["deleted"] == ["b"]
    assert pull(api, answer["timestamp"])["changes"]["episodes"] == {"created": [], "updated": [], "deleted": []}


def test_limit_pages_end_between_any_two_rows_and_lose_nothing(api: APIClient) -> None:
    body = changes(
        episodes={"created": [raw_episode(f"e{i}") for i in range(7)]},
        checkins={"created": [raw_checkin(f"2026-10-{d:02d}") for d in range(1, 6)]},
    )
    push(api, 1, body)
    api.delete("/api/v1/episodes/e3")
    seen: list[str] = []
    last: int | None = None
    pages = 0
    while True:
        answer = pull(api, last, limit=3)
        pages += 1
        for table in ("episodes", "checkins"):
            part = answer["changes"][table]
            seen += [r["id"] for r in part["created"] + part["updated"]] + [f"-{i}" for i in part["deleted"]]
        last = answer["timestamp"]
        if not answer.get("has_more"):
            break
    assert pages == 4
    assert sorted(seen) == sorted(
        [f"e{i}" for i in range(7) if i != 3] + ["-e3"] + [f"2026-10-{d:02d}" for d in range(1, 6)]
    )
    assert last == SyncState.objects.get().seq


def test_push_creates_updates_and_deletes_in_one_stamped_transaction(api: APIClient, owner: User) -> None:
    t = pull(api, None)["timestamp"]
    answer = push(api, t, changes(episodes={"created": [raw_episode("x1"), raw_episode("x2")]}))
    assert answer == {"ok": True, "experimentalRejectedIds": {}, "rejected": {}}
    assert SyncState.objects.get(user=owner).seq == t + 2
    assert sorted(Episode.objects.values_list("seq", flat=True)) == [t + 1, t + 2]
    events = OutboxEvent.objects.filter(topic="episode.written")
    assert {e.handler for e in events} == set(routes.AFTER_COMMIT["episode.written"])  # one row per handler
    for event in events:
        assert sorted(event.payload["uids"]) == ["x1", "x2"]  # sync writes raise the same work as REST
    t = pull(api, t)["timestamp"]
    # "created" of an existing id updates; "updated" of a missing id creates; deleting a missing id is a no-op
    push(api, t, changes(episodes={
        "created": [raw_episode("x1", pain=2)], "updated": [raw_episode("x3")], "deleted": ["x2", "never-existed"],
    }))  # fmt: skip
    assert Episode.objects.get(uid="x1").pain == 2
    assert Episode.objects.filter(uid="x3", deleted_at__isnull=True).exists()
    assert Episode.objects.get(uid="x2").deleted_at is not None
    assert not Episode.objects.filter(uid="never-existed").exists()


def test_a_push_asks_for_work_only_for_the_tables_it_changed(api: APIClient) -> None:
    """WatermelonDB names every table in a push; the ones without records must not raise intents (each
    would re-evaluate red flags and schedule an insights run for nothing)."""
    t = pull(api, None)["timestamp"]
    push(api, t, changes(checkins={"updated": [raw_checkin("2026-11-02")]}))
    assert set(OutboxEvent.objects.values_list("topic", flat=True)) == {"checkin.written"}


def test_replaying_a_push_changes_nothing(api: APIClient, owner: User) -> None:
    body = changes(episodes={"created": [raw_episode("r1")]}, checkins={"created": [raw_checkin("2026-10-10")]})
    push(api, 1, body)
    seq = SyncState.objects.get(user=owner).seq
    # the response was lost: the client sends the same push with the same cursor
    assert push(api, 1, body)["ok"] is True
    assert SyncState.objects.get(user=owner).seq == seq
    assert Episode.objects.count() == 1 and CheckIn.objects.count() == 1


def test_conflict_is_409_with_ids_and_applies_nothing(api: APIClient, owner: User) -> None:
    push(api, 1, changes(episodes={"created": [raw_episode("c1")]}))
    t = pull(api, None)["timestamp"]
    api.patch("/api/v1/episodes/c1", {"pain": 9}, format="json")  # another device, after t
    seq = SyncState.objects.get(user=owner).seq
    body = changes(episodes={"updated": [raw_episode("c1", pain=1)], "created": [raw_episode("c2")]})
    answer = push(api, t, body, status=409)
    assert answer == {"error": "conflict", "conflicts": {"episodes": ["c1"]}}
    assert not Episode.objects.filter(uid="c2").exists()
    assert Episode.objects.get(uid="c1").pain == 9 and SyncState.objects.get(user=owner).seq == seq
    # a delete of a row changed since the last pull conflicts too
    assert push(api, t, changes(episodes={"deleted": ["c1"]}), status=409)["conflicts"] == {"episodes": ["c1"]}
    # after pulling, the same push goes through
    t2 = pull(api, t)["timestamp"]
    push(api, t2, body)
    assert Episode.objects.get(uid="c1").pain == 1


def test_a_deleted_row_is_not_resurrected_by_a_stale_edit_but_may_be_logged_again(api: APIClient) -> None:
    push(api, 1, changes(episodes={"created": [raw_episode("d1")]}))
    t = pull(api, None)["timestamp"]
    api.delete("/api/v1/episodes/d1")  # another device deletes after t
    push(api, t, changes(episodes={"updated": [raw_episode("d1", pain=3)]}), status=409)
    assert Episode.objects.get(uid="d1").deleted_at is not None
    t2 = pull(api, t)["timestamp"]
    push(api, t2, changes(episodes={"created": [raw_episode("d1", pain=3)]}))  # knowingly logged again
    assert Episode.objects.get(uid="d1").deleted_at is None


def test_bad_records_are_rejected_by_id_and_the_rest_applies(api: APIClient) -> None:
    body = changes(
        episodes={"created": [
            raw_episode("ok1"), raw_episode("bad-pain", pain=11), raw_episode("bad-type", duration_s="long"),
            raw_episode("bad-code", body_location="elbow"), raw_episode("bad id!"),
        ]},
        checkins={"created": [raw_checkin("2026-10-01"), raw_checkin("2026-10-02", date="2026-10-03")]},
        notifications={"created": [{"id": "n1", "title": "forged"}]},
    )  # fmt: skip
    answer = push(api, 1, body)
    assert answer["rejected"]["episodes"] == {
        "bad-pain": {"field": "pain", "reason": "must be between 0 and 10"},
        "bad-type": {"field": "duration_s", "reason": "must be an integer"},
        "bad-code": {"field": "body_location", "reason": answer["rejected"]["episodes"]["bad-code"]["reason"]},
        "bad id!": {"field": "id", "reason": "must be 1-36 characters of A-Z a-z 0-9 _ -"},
    }
    assert "unknown code" in answer["rejected"]["episodes"]["bad-code"]["reason"]
    assert sorted(answer["experimentalRejectedIds"]["episodes"]) == sorted(answer["rejected"]["episodes"])
    assert answer["experimentalRejectedIds"]["checkins"] == ["2026-10-02"]
    assert answer["experimentalRejectedIds"]["notifications"] == ["n1"]
    assert list(Episode.objects.values_list("uid", flat=True)) == ["ok1"]
    assert list(CheckIn.objects.values_list("uid", flat=True)) == ["2026-10-01"]


def test_status_columns_are_ignored(api: APIClient) -> None:
    push(api, 1, changes(episodes={"created": [raw_episode("s1", _status="created", _changed="pain")]}))
    (row,) = pull(api, None)["changes"]["episodes"]["created"]
    assert "_status" not in row and "_changed" not in row


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "body"),
        ([], "body"),
        ({"episodes": []}, "episodes"),
        ({"moods": {"created": []}}, "moods"),
        ({"episodes": {"created": {}}}, "episodes.created"),
        ({"episodes": {"created": ["x"]}}, "episodes.created"),
        ({"episodes": {"deleted": [1]}}, "episodes.deleted"),
        ({"episodes": {"renamed": []}}, "episodes.renamed"),
    ],
)
def test_malformed_payload_is_400_and_nothing_applies(api: APIClient, body: object, field: str) -> None:
    raw = body if isinstance(body, str) else json.dumps(body)
    r = api.generic("POST", "/api/v1/sync/push?last_pulled_at=1", raw, content_type="application/json")
    assert r.status_code == 400, r.content
    answer = json.loads(r.content)
    assert answer["error"] == "invalid" and any(d["field"] == field for d in answer["details"]), answer


def test_a_malformed_table_refuses_the_whole_push(api: APIClient) -> None:
    body = {**changes(episodes={"created": [raw_episode("fine")]}), "moods": {}}
    push(api, 1, body, status=400)
    assert not Episode.objects.exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("last_pulled_at=soon&schema_version=1", "last_pulled_at"),
        ("last_pulled_at=null&schema_version=2", "schema_version"),
        ("last_pulled_at=null&schema_version=1&migration=%7Bbroken", "migration"),
        ("last_pulled_at=null&schema_version=1&limit=0", "limit"),
    ],
)
def test_bad_pull_parameters(api: APIClient, query: str, field: str) -> None:
    r = api.get(f"/api/v1/sync/pull?{query}")
    assert r.status_code == 400
    assert field in [d["field"] for d in json.loads(r.content)["details"]]
    assert "update the server" in r.content.decode() or field != "schema_version"


def test_push_needs_a_cursor(api: APIClient) -> None:
    r = api.generic("POST", "/api/v1/sync/push", json.dumps(changes()), content_type="application/json")
    assert r.status_code == 400


@override_settings(SYNC_MAX_RECORDS=5)
def test_too_many_records_is_413(api: APIClient) -> None:
    body = changes(episodes={"created": [raw_episode(f"m{i}") for i in range(6)]})
    assert push(api, 1, body, status=413)["error"] == "too_large"
    assert not Episode.objects.exists()


def test_a_large_backlog_beyond_djangos_default_body_limit_is_accepted(api: APIClient) -> None:
    big = "x" * 1900
    body = changes(episodes={"created": [raw_episode(f"big{i}", notes=big) for i in range(2000)]})
    assert len(json.dumps(body)) > 4 * 1024 * 1024
    push(api, 1, body)
    assert Episode.objects.count() == 2000


class TestIsolation:
    def test_another_person_never_pulls_or_overwrites_with_the_same_ids(
        self, api: APIClient, other_api: APIClient, owner: User, other: User
    ) -> None:
        push(api, 1, changes(episodes={"created": [raw_episode("same", pain=7)]}))
        assert pull(other_api, None)["changes"]["episodes"]["created"] == []
        push(other_api, 1, changes(episodes={"updated": [raw_episode("same", pain=1)], "deleted": []}))
        push(other_api, pull(other_api, None)["timestamp"], changes(episodes={"deleted": ["same"]}))
        mine = Episode.objects.get(user=owner, uid="same")
        assert mine.pain == 7 and mine.deleted_at is None
        assert Episode.objects.get(user=other, uid="same").deleted_at is not None

    def test_anonymous_and_clinicians_are_refused(self, anon: APIClient, clinician_api: APIClient) -> None:
        assert anon.get("/api/v1/sync/pull?last_pulled_at=null").status_code == 401
        assert anon.post("/api/v1/sync/push?last_pulled_at=1", {}, format="json").status_code == 401
        assert clinician_api.get("/api/v1/sync/pull/?last_pulled_at=null").status_code == 403


@pytest.mark.slow
def test_a_push_of_50000_records_is_accepted(api: APIClient, owner: User) -> None:
    """The client cannot split a push: the largest allowed backlog lands in one request."""
    days = [(dt.date(2020, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(1_800)]
    body = changes(
        episodes={"created": [raw_episode(f"bulk{i}") for i in range(48_200)]},
        checkins={"created": [raw_checkin(day) for day in days]},
    )
    assert sum(len(t["created"]) for t in body.values()) == 50_000
    answer = push(api, 1, body)
    assert answer["experimentalRejectedIds"] == {}
    assert Episode.objects.filter(user=owner).count() == 48_200
    assert CheckIn.objects.filter(user=owner).count() == 1_800
    assert SyncState.objects.get(user=owner).seq == 50_001
