"""What a pull costs and that the cheap paths answer byte for byte what the full path answers (issue 18
item 2): an up-to-date pull is one statement, small pulls use no server-side cursor, and the rows
PostgreSQL renders for the wire are exactly what the generic renderer makes of the stored values."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.sync import pull as pull_module
from diary.sync.raw import _compact_list
from diary.sync.registry import RENDERERS, SYNCED
from tests.conftest import client_for, make_user
from tests.diary.sync.helpers import changes, push, raw_checkin, raw_episode

pytestmark = pytest.mark.django_db

PULL = "/api/v1/sync/pull"
TRICKY = ["custom:a, b", 'custom:say "hi", ok', "custom:back\\slash", "custom:ünïcode ✓", "custom:tab\there"]


def pull_bytes(api: APIClient, last: int | None, **params: Any) -> bytes:
    query = {"last_pulled_at": "null" if last is None else last, "schema_version": 1, "migration": "null", **params}
    r = api.get(PULL, query)
    assert r.status_code == 200, r.content
    return bytes(r.content)


def seed(api: APIClient) -> int:
    """A diary with tricky code lists, a check-in and a deletion; returns the cursor after it."""
    episodes = [
        raw_episode("plain1"),
        raw_episode("tricky", triggers=orjson.dumps(TRICKY).decode()),
        raw_episode("gone"),
    ]
    push(api, 1, changes(episodes={"created": episodes}, checkins={"created": [raw_checkin("2026-11-30")]}))
    push(api, int(orjson.loads(pull_bytes(api, None))["timestamp"]), changes(episodes={"deleted": ["gone"]}))
    return int(orjson.loads(pull_bytes(api, None))["timestamp"])


def generic_first_pull(user: User) -> dict[str, Any]:
    """The first pull's records as the generic renderer (SQLite's path) makes them from Django's values."""
    out = {}
    for name, table in SYNCED.items():
        renderer = RENDERERS[name]
        rows = (
            table.model._default_manager.filter(user_id=user.pk, deleted_at__isnull=True)
            .order_by("seq")
            .values_list(*renderer.columns)
        )
        out[name] = [renderer.record(row) for row in rows]
    return out


@pytest.mark.redis  # without Redis every request reads the account row as well
def test_an_up_to_date_pull_is_one_statement(api: APIClient, owner: User) -> None:
    cursor = seed(api)
    pull_bytes(api, cursor)  # the account is read once per process; then it is kept
    with CaptureQueriesContext(connection) as queries:
        answer = orjson.loads(pull_bytes(api, cursor))
    assert len(queries.captured_queries) == 1, [q["sql"] for q in queries.captured_queries]
    assert answer == {"changes": changes(), "timestamp": cursor}


def test_the_up_to_date_answer_is_the_snapshots_answer_byte_for_byte(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cursor = seed(api)
    fast = pull_bytes(api, cursor)
    ahead = pull_bytes(api, cursor + 5)  # a cursor from the future gets the same answer as before
    monkeypatch.setattr(pull_module, "_current", lambda user_id: None)  # the full snapshot path
    assert pull_bytes(api, cursor) == fast
    assert pull_bytes(api, cursor + 5) == ahead


def test_small_pulls_use_no_server_side_cursor(api: APIClient) -> None:
    seed(api)
    for last in (None, 2):
        with CaptureQueriesContext(connection) as queries:
            pull_bytes(api, last)
        assert not [q for q in queries.captured_queries if "DECLARE" in q["sql"] or "CURSOR" in q["sql"]]


@pytest.mark.parametrize("last", [None, 2])
@pytest.mark.parametrize("limit", [None, 2])
def test_large_and_small_pulls_answer_the_same(
    api: APIClient, monkeypatch: pytest.MonkeyPatch, last: int | None, limit: int | None
) -> None:
    seed(api)
    params = {} if limit is None else {"limit": limit}
    small = pull_bytes(api, last, **params)
    monkeypatch.setattr(pull_module, "SMALL_PULL", 0)  # every table streamed through a server-side cursor
    monkeypatch.setattr(pull_module, "_current", lambda user_id: None)
    assert pull_bytes(api, last, **params) == small


def test_postgresql_renders_the_wire_as_the_generic_renderer_does(api: APIClient, owner: User) -> None:
    seed(api)
    pulled = orjson.loads(pull_bytes(api, None))["changes"]
    expected = generic_first_pull(owner)
    assert {name: pulled[name]["created"] for name in SYNCED} == expected
    tricky = next(r for r in expected["episodes"] if r["id"] == "tricky")
    assert orjson.loads(tricky["triggers"]) == TRICKY


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "stored",
    [[], ["a"], ["a", "b"], [0, 1, 6], [", "], ["x", ", ", "y"], ["a, b", "c"], ['q"uote', "z"], ["back\\slash"],
     ["ü", "✓"], ["a", 1], ["09:00", "21:30"], ["tab\there", "new\nline"]],
)  # fmt: skip
def test_compacting_postgresqls_json_text_equals_parsing_it(stored: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb::text", [orjson.dumps(stored).decode()])
        text = cursor.fetchone()[0]
    assert _compact_list(text) == orjson.dumps(stored).decode()


@pytest.mark.postgresql
@pytest.mark.parametrize("first_sync", [True, False])
def test_the_pull_sql_compiled_once_answers_what_the_queryset_answers(
    api: APIClient, owner: User, first_sync: bool
) -> None:
    """PostgreSQL pulls run each table's SQL compiled once (``pull._select``) with this pull's cursor and
    user: the rows must be the queryset's, for this person only, from after the cursor."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    seed(client_for(make_user()))  # someone else's rows, never in this person's answer
    cursor = seed(api)
    push(api, cursor, changes(episodes={"created": [raw_episode("later")], "deleted": ["plain1"]}))
    for since in (0, cursor):
        for name in SYNCED:
            sql, fixed = pull_module._select(name, first_sync)
            with connection.cursor() as c:
                c.execute(sql, [*fixed, since, owner.pk])
                got = c.fetchall()
            expected = list(pull_module._queryset(name, first_sync, owner.pk, since, None))
            assert got == expected, (name, since)
