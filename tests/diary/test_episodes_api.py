from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.episodes.models import Episode
from diary.outbox import routes
from diary.outbox.models import OutboxEvent
from diary.sync.models import SyncState
from tests.conftest import assert_error, episode_body, iso_ago

pytestmark = pytest.mark.django_db


def create(api: APIClient, **overrides: Any) -> dict[str, Any]:
    r = api.post("/api/v1/episodes/", episode_body(**overrides), format="json")
    assert r.status_code == 201, r.json()
    return r.json()


class TestCreate:
    def test_server_makes_an_id_and_answers_natural_json(self, api: APIClient, owner: User) -> None:
        started = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)  # 01:30 CET, the night clocks go forward
        r = api.post("/api/v1/episodes", episode_body(started_at=started.isoformat()), format="json")
        assert r.status_code == 201
        body = r.json()
        assert len(body["id"]) == 16 and body["id"].isalnum()
        assert r["Location"] == f"/api/v1/episodes/{body['id']}"
        assert body["started_at"] == "2026-03-29T01:30:00+01:00"  # in the episode's own zone
        assert body["local_date"] == "2026-03-29"
        assert body["symptoms"] == ["lingering_pain"] and isinstance(body["triggers"], list)
        stored = Episode.objects.get(uid=body["id"])
        assert stored.started_at == started and stored.user == owner

    def test_client_id_is_kept_and_a_repeat_post_is_409(self, api: APIClient) -> None:
        create(api, id="abcDEF_123-x")
        r = api.post("/api/v1/episodes/", episode_body(id="abcDEF_123-x"), format="json")
        assert_error(r, 409, "id")
        assert Episode.objects.filter(uid="abcDEF_123-x").count() == 1

    def test_zone_defaults_to_where_the_device_is(self, api: APIClient, owner: User) -> None:
        owner.device_timezone = "Asia/Kolkata"
        owner.save()
        body = episode_body()
        del body["tz"]
        r = api.post("/api/v1/episodes/", body, format="json")
        assert r.json()["tz"] == "Asia/Kolkata"
        assert r.json()["started_at"].endswith("+05:30")

    def test_a_write_stamps_the_sequence_and_commits_an_outbox_intent(self, api: APIClient, owner: User) -> None:
        before = SyncState.objects.get(user=owner).seq
        assert before == 1
        body = create(api)
        row = Episode.objects.get(uid=body["id"])
        assert row.seq == before + 1 == SyncState.objects.get(user=owner).seq
        events = OutboxEvent.objects.filter(user=owner, topic="episode.written").order_by("pk")
        # One row per routed handler, red-flag evaluation first.
        assert [e.handler for e in events] == list(routes.paths_for("episode.written"))
        assert events[0].handler == "diary.alerts.handlers.episode_written"
        assert all(e.payload["uids"] == [body["id"]] and e.processed_at is None for e in events)

    def test_custom_triggers_and_deduplication(self, api: APIClient) -> None:
        body = create(api, triggers=["heat", "custom: new shoes ", "heat"])
        assert body["triggers"] == ["heat", "custom:new shoes"]


BAD_EPISODES = [
    ({"pain": 11}, "pain"),
    ({"pain": -1}, "pain"),
    ({"pain": "6"}, "pain"),
    ({"pain": 6.5}, "pain"),
    ({"pain": True}, "pain"),
    ({"body_location": "elbow"}, "body_location"),
    ({"kind": "seizure"}, "kind"),
    ({"kind": "twitch", "subtype": "nocturnal"}, "subtype"),
    ({"started_at": "2999-01-01T00:00:00+00:00"}, "started_at"),
    ({"started_at": "yesterday"}, "started_at"),
    ({"started_at": "2026-01-01T10:00:00"}, "started_at"),  # no offset: ambiguous
    ({"duration_s": -5}, "duration_s"),
    ({"duration_s": 10**9}, "duration_s"),
    ({"tz": "Europe/Atlantis"}, "tz"),
    ({"tz": "../../etc/passwd"}, "tz"),
    ({"symptoms": ["hiccups"]}, "symptoms"),
    ({"symptoms": "weakness"}, "symptoms"),
    ({"triggers": ["custom:" + "x" * 61]}, "triggers"),
    ({"relief": [1, 2]}, "relief"),
    ({"relief_score": 12}, "relief_score"),
    ({"side": "top"}, "side"),
    ({"activity": "flying"}, "activity"),
    ({"notes": "x" * 2001}, "notes"),
    ({"id": "has space"}, "id"),
    ({"id": "x" * 37}, "id"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_EPISODES)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    api: APIClient, owner: User, overrides: dict[str, Any], field: str
) -> None:
    r = api.post("/api/v1/episodes/", episode_body(**overrides), format="json")
    assert_error(r, 400, field)
    assert not Episode.objects.exists()
    assert not OutboxEvent.objects.exists()
    assert SyncState.objects.get(user=owner).seq == 1


@pytest.mark.parametrize("missing", ["kind", "body_location", "started_at", "pain"])
def test_required_fields(api: APIClient, missing: str) -> None:
    body = episode_body()
    del body[missing]
    assert_error(api.post("/api/v1/episodes/", body, format="json"), 400, missing)


def test_malformed_json_and_non_objects(api: APIClient) -> None:
    r = api.generic("POST", "/api/v1/episodes/", '{"kind": "cramp",', content_type="application/json")
    body = assert_error(r, 400, "body")
    assert body["error"] == "malformed_json"
    assert_error(api.post("/api/v1/episodes/", [episode_body()], format="json"), 400, "body")
    assert not Episode.objects.exists()


@pytest.mark.parametrize("started_at", ["0001-01-01T00:00:00+05:00", "2026-03-01T07:30:00+23:30"])
def test_instants_are_stored_in_utc_or_refused(api: APIClient, started_at: str) -> None:
    """Found by the fuzzer: an instant before year 1 in UTC was a 500 (OverflowError)."""
    r = api.post("/api/v1/episodes/", episode_body(started_at=started_at), format="json")
    if started_at.startswith("0001"):
        assert_error(r, 400, "started_at")
    else:
        assert r.status_code == 201
        assert dt.datetime.fromisoformat(r.json()["started_at"]) == dt.datetime(2026, 2, 28, 8, tzinfo=dt.UTC)


def test_clock_skew_is_tolerated(api: APIClient) -> None:
    ahead = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)).isoformat()
    create(api, started_at=ahead)


class TestPutPatchDelete:
    def test_put_creates_then_replaces_idempotently(self, api: APIClient) -> None:
        body = episode_body(pain=4)
        r1 = api.put("/api/v1/episodes/night-1", body, format="json")
        assert r1.status_code == 201
        r2 = api.put("/api/v1/episodes/night-1/", body, format="json")
        assert r2.status_code == 200
        assert Episode.objects.filter(uid="night-1").count() == 1
        r3 = api.put("/api/v1/episodes/night-1", episode_body(pain=8, notes=None), format="json")
        assert r3.json()["pain"] == 8 and r3.json()["notes"] is None
        assert r3.json()["created_at"] == r1.json()["created_at"]

    def test_put_body_id_must_match_url(self, api: APIClient) -> None:
        assert_error(api.put("/api/v1/episodes/a1", episode_body(id="b2"), format="json"), 400, "id")
        assert_error(api.put("/api/v1/episodes/bad%20id", episode_body(), format="json"), 400, "id")

    def test_a_get_body_can_be_put_back(self, api: APIClient) -> None:
        got = create(api)
        r = api.put(f"/api/v1/episodes/{got['id']}", got, format="json")
        assert r.status_code == 200, r.json()

    def test_patch_changes_only_given_fields_and_validates_against_the_rest(self, api: APIClient) -> None:
        got = create(api, kind="cramp", subtype="nocturnal")
        r = api.patch(f"/api/v1/episodes/{got['id']}", {"pain": 3, "duration_s": 300}, format="json")
        assert r.status_code == 200
        assert (r.json()["pain"], r.json()["duration_s"], r.json()["subtype"]) == (3, 300, "nocturnal")
        # subtype must still fit the stored kind
        assert_error(api.patch(f"/api/v1/episodes/{got['id']}", {"subtype": "tonic"}, format="json"), 400, "subtype")
        assert_error(api.patch(f"/api/v1/episodes/{got['id']}", {"pain": 99}, format="json"), 400, "pain")
        assert Episode.objects.get(uid=got["id"]).pain == 3

    def test_a_patch_with_a_null_update_time_is_stamped_now(self, api: APIClient) -> None:
        """Found by the fuzzer: ``"updated_at": null`` in a PATCH reached the NOT NULL column (a 500)."""
        got = create(api)
        r = api.patch(f"/api/v1/episodes/{got['id']}", {"pain": 2, "updated_at": None}, format="json")
        assert r.status_code == 200, r.json()
        assert dt.datetime.fromisoformat(r.json()["updated_at"]) >= dt.datetime.fromisoformat(got["updated_at"])
        # a time the client gives is kept, as before
        r = api.patch(f"/api/v1/episodes/{got['id']}", {"updated_at": "2026-03-01T10:00:00+00:00"}, format="json")
        assert dt.datetime.fromisoformat(r.json()["updated_at"]) == dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)

    def test_delete_leaves_a_tombstone_without_the_persons_words(self, api: APIClient, owner: User) -> None:
        got = create(api, notes="private words")
        assert api.delete(f"/api/v1/episodes/{got['id']}").status_code == 204
        assert api.get(f"/api/v1/episodes/{got['id']}").status_code == 404
        assert api.delete(f"/api/v1/episodes/{got['id']}").status_code == 404
        row = Episode.objects.get(uid=got["id"])
        assert row.deleted_at is not None and row.notes is None and row.symptoms == []
        assert row.seq == SyncState.objects.get(user=owner).seq
        # logging the same id again recreates it
        assert api.put(f"/api/v1/episodes/{got['id']}", episode_body(), format="json").status_code == 201
        assert api.post("/api/v1/episodes/", episode_body(id="fresh-1"), format="json").status_code == 201
        api.delete("/api/v1/episodes/fresh-1")
        assert api.post("/api/v1/episodes/", episode_body(id="fresh-1"), format="json").status_code == 201

    def test_patch_of_missing_is_404(self, api: APIClient) -> None:
        assert_error(api.patch("/api/v1/episodes/nope", {"pain": 1}, format="json"), 404)


class TestList:
    def test_newest_first_with_cursor_pages(self, api: APIClient) -> None:
        for i in range(7):
            create(api, id=f"e{i}", started_at=iso_ago(hours=10 - i))
        r = api.get("/api/v1/episodes?page_size=3")
        ids = [e["id"] for e in r.json()["results"]]
        assert ids == ["e6", "e5", "e4"]
        seen = list(ids)
        nxt = r.json()["next"]
        while nxt:
            page = api.get(nxt).json()
            seen += [e["id"] for e in page["results"]]
            nxt = page["next"]
        assert seen == [f"e{i}" for i in range(6, -1, -1)]

    def test_filters(self, api: APIClient) -> None:
        create(
            api, id="a", kind="cramp", body_location="calf", pain=8, symptoms=["weakness"], started_at=iso_ago(days=3)
        )
        create(
            api,
            id="b",
            kind="spasm",
            subtype="tonic",
            body_location="neck",
            pain=3,
            symptoms=[],
            started_at=iso_ago(days=2),
        )
        create(
            api,
            id="c",
            kind="twitch",
            subtype=None,
            body_location="eyelid",
            pain=0,
            symptoms=["numbness"],
            started_at=iso_ago(days=1),
        )

        def ids(query: str) -> list[str]:
            r = api.get(f"/api/v1/episodes/?{query}")
            assert r.status_code == 200, r.json()
            return sorted(e["id"] for e in r.json()["results"])

        assert ids("kind=cramp") == ["a"]
        assert ids("body_location=neck") == ["b"]
        assert ids("min_pain=3") == ["a", "b"]
        assert ids("has_symptom=weakness") == ["a"]
        start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2, hours=1)).isoformat().replace("+00:00", "Z")
        assert ids(f"from={start}") == ["b", "c"]
        assert ids(f"to={start}") == ["a"]

    def test_date_filters_compare_in_utc(self, api: APIClient) -> None:
        """Found by the fuzzer: an offset past 15:59 reached PostgreSQL as is (a 500 DataError)."""
        create(api, id="a", started_at="2026-03-01T00:00:00+00:00")
        assert [
            e["id"] for e in api.get("/api/v1/episodes/", {"to": "2026-03-01T23:31:00+23:30"}).json()["results"]
        ] == ["a"]
        assert api.get("/api/v1/episodes/", {"from": "2026-03-01T23:31:00+23:30"}).json()["results"] == []

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("from=0001-01-01T00:00:00%2B05:00", "from"),  # before year 1 in UTC
            ("to=9999-12-31T23:59:59-05:00", "to"),  # after year 9999 in UTC
            ("kind=seizure", "kind"),
            ("body_location=elbow", "body_location"),
            ("min_pain=11", "min_pain"),
            ("min_pain=lots", "min_pain"),
            ("has_symptom=hiccups", "has_symptom"),
            ("from=last-week", "from"),
            ("page_size=0", "page_size"),
            ("page_size=1000", "page_size"),
            ("cursor=garbage", "cursor"),
        ],
    )
    def test_bad_filters_are_400(self, api: APIClient, query: str, field: str) -> None:
        assert_error(api.get(f"/api/v1/episodes/?{query}"), 400, field)

    def test_query_count_does_not_grow_with_the_page(self, api: APIClient, owner: User) -> None:
        def count_queries() -> int:
            with CaptureQueriesContext(connection) as ctx:
                assert api.get("/api/v1/episodes/?page_size=50").status_code == 200
            return len(ctx.captured_queries)

        create(api)
        few = count_queries()
        for i in range(60):
            create(api, id=f"n{i}", started_at=iso_ago(minutes=i + 5))
        assert count_queries() == few <= 2  # the user (JWT) and the page


class TestIsolation:
    """Nobody reads or changes another person's data; a foreign id is a plain 404."""

    def test_another_persons_episode_is_not_found_for_every_method(self, api: APIClient, other_api: APIClient) -> None:
        mine = create(api, id="shared-id")
        url = f"/api/v1/episodes/{mine['id']}"
        assert_error(other_api.get(url), 404)
        assert_error(other_api.patch(url, {"pain": 0}, format="json"), 404)
        assert_error(other_api.delete(url), 404)
        assert other_api.get("/api/v1/episodes/").json()["results"] == []
        assert other_api.get("/api/v1/episodes/?has_symptom=lingering_pain").json()["results"] == []
        # The other person may use the same id for their own episode without touching mine.
        assert other_api.put(url, episode_body(pain=1), format="json").status_code == 201
        assert other_api.post("/api/v1/episodes/", episode_body(id="shared-id"), format="json").status_code == 409
        assert api.get(url).json()["pain"] == mine["pain"]
        assert Episode.objects.filter(uid="shared-id").count() == 2

    def test_anonymous_and_bad_tokens_are_401(self, anon: APIClient) -> None:
        assert_error(anon.get("/api/v1/episodes/"), 401)
        assert_error(anon.post("/api/v1/episodes/", episode_body(), format="json"), 401)
        anon.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        assert_error(anon.get("/api/v1/episodes/"), 401)

    def test_clinician_accounts_do_not_keep_a_diary(self, clinician_api: APIClient) -> None:
        assert_error(clinician_api.post("/api/v1/episodes/", episode_body(), format="json"), 403)
        assert_error(clinician_api.get("/api/v1/episodes/"), 403)
        assert not Episode.objects.exists()
