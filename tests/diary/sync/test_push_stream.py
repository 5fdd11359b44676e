"""A push body is read, planned and COPYed chunk by chunk on PostgreSQL (issue 18 item 3: a 50,000-record
push held about 150 MB of parsed records and their copies). The streamed path must answer and store exactly
what the whole-body path does; bodies it cannot read that way go the whole-body way."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from diary.accounts.models import User
from diary.alerts.tables import ALERTS
from diary.episodes.models import Episode
from diary.outbox.models import OutboxEvent
from diary.sync.models import SyncState
from diary.sync.push import stream
from diary.sync.push.service import PushConflict, sync_push, sync_push_body
from diary.sync.push.shape import validate_shape
from diary.sync.push.stream import Unstreamable, chunks
from diary.sync.registry import RENDERERS, SYNCED, WIRE_TABLES
from diary.sync.writes import server_rows_create
from reminders.tables import MAX_RULES
from tests.conftest import client_for, make_user
from tests.diary.sync.helpers import changes, ms_ago, pull, push, raw_checkin, raw_episode

TABLES = frozenset(WIRE_TABLES)


def read(raw: bytes, size: int = 3, limit: int = 1000) -> dict[str, dict[str, list[Any]]]:
    """What ``chunks`` yields, put back together."""
    out: dict[str, dict[str, list[Any]]] = {}
    for table, section, items in chunks(raw, tables=TABLES, size=size, limit=limit):
        assert 0 < len(items) <= size
        out.setdefault(table, {}).setdefault(section, []).extend(items)
    return out


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
def test_chunks_read_what_orjson_reads_whatever_the_block_size(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """Records, keys and numbers cut by the end of a block (down to one byte), multi-byte UTF-8 cut in two,
    escapes, nesting and whitespace all come out as orjson reads them."""
    monkeypatch.setattr(stream, "BLOCK", block)
    body = {
        "episodes": {
            "created": [raw_episode(f"e{i}", notes='Wadenkrampf ü 💥 "quoted" \\ \n', pain=i % 11) for i in range(8)],
            "updated": [{"id": "u1", "x": [1, 2.5, {"y": None}], "big": 9223372036854775807, "f": -1.5e-7}],
            "deleted": ["d1", "d2"],
        },
        "checkins": {"created": [raw_checkin("2026-11-02", sleep_h=7.5)], "updated": [], "deleted": []},
        "alerts": {},
    }
    raw = orjson.dumps(body)
    expected = {t: {k: v for k, v in s.items() if v} for t, s in orjson.loads(raw).items() if any(s.values())}
    assert read(raw) == expected
    spaced = orjson.dumps(body, option=orjson.OPT_INDENT_2).replace(b"\n", b" \r\n\t ")
    assert read(spaced) == expected


@pytest.mark.parametrize("block", [1, 5, 1 << 20])
def test_escapes_and_numbers_read_as_orjson_reads_them(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """A surrogate pair, escapes, the edges of a double and of a 64-bit integer: what orjson reads."""
    monkeypatch.setattr(stream, "BLOCK", block)
    raw = (
        b'{"episodes": {"updated": [{"id": "a", "notes": "\\ud83d\\udca5 \\u00fc\\t\\/\\u0000", "x": [0.1, '
        b"2.2250738585072011e-308, 5e-324, 9007199254740993.0, 1.7976931348623157e308, 1e-400, -0.0, -0, 1E2, "
        b'9223372036854775807, -9223372036854775807, {"k": [true, false, null, {}, []]}]}]}}'
    )
    assert read(raw) == orjson.loads(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"[]",
        b'{"episodes": {"created": [{"id": "a"}, ]}}',  # malformed after a good record
        b'{"episodes": {"created": [{"id": "a"}]}} x',  # text after the body
        b'{"episodes": {"created": [{"id": "a"}]}',  # cut short
        b'{"nope": {}}',  # unknown table
        b'{"episodes": {"created": [], "changed": []}}',  # unknown section
        b'{"episodes": []}',
        b'{"episodes": {"created": ["a"]}}',  # a record that is not an object
        b'{"episodes": {"deleted": [{"id": "a"}]}}',  # a deleted id that is not a string
        b'{"episodes": {}, "episodes": {}}',  # a table twice: orjson keeps the last
        b'{"episodes": {"created": [{"id": "a", "pain": NaN}]}}',
        b'{"episodes": {"created": [{"id": "a", "pain": 1e999}]}}',
        b'{"episodes": {"created": [{"id": "a", "pain": 184467440737095516160}]}}',  # orjson: a float
        b'{"episodes": {"created": [{"id": "a", "notes": "\\ud800"}]}}',
        b'{"episodes": {"created": [{"id": "\xff"}]}}',  # not UTF-8
        b'{"episodes": {"created": [{"id": "a", "notes": "\xed\xa0\x80"}]}}',  # a surrogate in UTF-8
        b'{"episodes": {"created": [{"id": "a", "pain": 18446744073709551615}]}}',  # orjson: an int; yajl refuses
        b'{"episodes": {"created": [{"id": "a", "pain": -9223372036854775809}]}}',  # orjson: a float
        b'{"episodes": {"created": [{"id": "a", "pain": -9223372036854775808}]}}',  # orjson: an int; yajl refuses
        b'{"episodes": {"created": [{"id": "a", "notes": "\\ud800\\u0041"}]}}',  # yajl joins the two
        b'{"episodes": {"created": [{"id": "a", "notes": "\\udc00"}]}}',  # a lone low surrogate
        b'{"episodes": {"created": [{"id": "a"},\x0c{"id": "b"}]}}',  # \f: whitespace to yajl only
        b'{"episodes": {"created": [{"id": "a"}]}\x0b}',  # \v: the same
        b'{"episodes": {"created": [{"id": "a", "x": ' + b"[" * 1100 + b"]" * 1100 + b"}]}}",  # orjson: too deep
        b'{"episodes": {"created": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}}',  # past the limit of 2
    ],
)
def test_what_chunks_cannot_read_as_orjson_does_is_unstreamable(raw: bytes) -> None:
    with pytest.raises(Unstreamable):
        read(raw, limit=2)


# --- the streamed push against the whole-body push -------------------------------------------------------------


T = ms_ago(hours=1)  # every client time is fixed: the two people's pushes run apart, and replays must match


def _ep(uid: str, hours: int, **overrides: Any) -> dict[str, Any]:
    return raw_episode(uid, **{"started_at": T - hours * 3_600_000, "created_at": T, "updated_at": T, **overrides})


def _ci(day: str, **overrides: Any) -> dict[str, Any]:
    return raw_checkin(day, **{"created_at": T, "updated_at": T, **overrides})


def _prepare(user: User) -> int:
    """The same stored state for each person: rows to update, replay, delete, conflict with; an open alert."""
    api = client_for(user)
    seed = changes(
        episodes={"created": [_ep(f"old{i}", 100 + i) for i in range(30)]},
        checkins={"created": [_ci(f"2026-10-{d:02d}") for d in range(1, 11)]},
        reminders={"created": [{**RULE, "id": f"r{i}"} for i in range(MAX_RULES - 2)]},
    )
    push(api, 0, seed)
    alert = server_rows_create(table=ALERTS, user_id=user.pk, rows=[{**ALERT, "opened_at": dt.datetime.now(dt.UTC)}])[0]
    alert.uid = "alert1"
    alert.save()
    return int(pull(api, None)["timestamp"])


RULE = {"kind": "hydration", "schedule": "interval", "interval_min": 60, "tz_mode": "device", "adaptive": False,
        "enabled": True}  # fmt: skip
ALERT = {"rule": "severe_pain", "severity": "high", "title": "Severe pain", "guidance": "See a clinician.",
         "episode_uid": "old1", "status": "open", "opened_at": None}  # fmt: skip


def _body(*, conflict: bool = False) -> bytes:
    t = T + 60_000
    created = [_ep(f"new{i}", 2 + i) for i in range(250)]
    created[17] = {**created[17], "pain": 42}  # out of range: rejected by id
    created[130] = {**created[130], "id": "not an id!"}
    created[200] = {**created[200], "kind": "nope"}
    updated = [_ep(f"old{i}", 100 + i, pain=9, updated_at=t) for i in range(0, 20)]
    updated.append({**_ep("old25", 125), "created_at": None})  # a replay: stored as it is
    body = changes(
        episodes={"created": created, "updated": updated, "deleted": ["old20", "old21", "missing", "bad id"]},
        checkins={
            "created": [_ci(f"2026-11-{d:02d}", water_ml=d * 100) for d in range(1, 25)]
            + [_ci("2026-11-29", date="2026-11-30")],  # its id is its date: rejected
            "updated": [_ci("2026-10-03", water_ml=2500)],
            "deleted": ["2026-10-04"],
        },
        reminders={"created": [{**RULE, "id": f"n{i}"} for i in range(5)], "deleted": ["r0"]},  # 3 over the cap
        alerts={"created": [{"id": "mine"}], "updated": [{"id": "alert1", "acknowledged_at": t, "title": "x"}]},
    )
    if conflict:
        body["episodes"]["updated"].append(_ep("old29", 129, pain=1))
    return orjson.dumps(body)


def _stored(user: User, base: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every synced row of the person: its values, its stamp relative to ``base``, live or tombstone.
    A time stamped by the server during the test (a write's "now") reads "now": the two pushes ran apart."""
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)

    def same(value: Any) -> Any:
        return "now" if isinstance(value, dt.datetime) and value > recent else value

    out = {}
    for name in WIRE_TABLES:
        columns = RENDERERS[name].columns
        rows = SYNCED[name].model._default_manager.filter(user=user).order_by("seq").values_list(*columns)
        out[name] = [(uid, seq - base, deleted_at is None, *map(same, rest)) for uid, seq, deleted_at, *rest in rows]
    return out


def _outbox(user: User) -> list[tuple[str, str, Any]]:
    return list(OutboxEvent.objects.filter(user=user).order_by("pk").values_list("topic", "handler", "payload"))


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_large_push_streamed_chunk_by_chunk_answers_and_stores_what_the_whole_body_push_does(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small chunks and blocks: many COPYs and block ends inside records. New, updated, replayed, deleted,
    rejected (bad id, bad value, id and date disagree, over the reminders cap, a create in a server-owned
    table) and server-owned changes: the same answer, rows, stamps and outbox rows as the old path."""
    settings.SYNC_PUSH_CHUNK, settings.SYNC_STREAM_ABOVE_BYTES = 40, 0
    monkeypatch.setattr(stream, "BLOCK", 4096)
    streamed, whole = make_user(), make_user()
    bases = {u.pk: _prepare(u) for u in (streamed, whole)}
    old_outbox = {u.pk: len(_outbox(u)) for u in (streamed, whole)}
    raw = _body()
    with CaptureQueriesContext(connection) as ctx:
        answer = sync_push_body(user=streamed, last_pulled_at=bases[streamed.pk], raw=raw)
    copies = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("COPY")]
    assert len(copies) >= 7, copies  # 247 new episodes in chunks of 40, check-ins, reminders: streamed
    expected = sync_push(user=whole, last_pulled_at=bases[whole.pk], changes=validate_shape(orjson.loads(raw)))
    assert orjson.dumps(answer) == orjson.dumps(expected)  # the same, in the same order
    assert set(answer["rejected"]["episodes"]) == {"new17", "not an id!", "new200"}
    assert answer["experimentalRejectedIds"]["reminders"] == ["n3", "n4"]
    mine, theirs = _stored(streamed, bases[streamed.pk]), _stored(whole, bases[whole.pk])
    assert mine == theirs, _diff(mine, theirs)
    assert SyncState.objects.get(user=streamed).seq - bases[streamed.pk] == (
        SyncState.objects.get(user=whole).seq - bases[whole.pk]
    )
    new_streamed, new_whole = _outbox(streamed)[old_outbox[streamed.pk] :], _outbox(whole)[old_outbox[whole.pk] :]
    assert new_streamed == new_whole and new_streamed  # one intent per table and handler, as one write makes


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_conflict_in_a_later_chunk_applies_nothing_and_names_every_conflict(settings: Any) -> None:
    settings.SYNC_PUSH_CHUNK, settings.SYNC_STREAM_ABOVE_BYTES = 40, 0
    user = make_user()
    base = _prepare(user)
    push(client_for(user), base, changes(episodes={"updated": [_ep("old29", 129, pain=3)]}))  # after the cursor
    before = _stored(user, 0)
    with pytest.raises(PushConflict) as caught:
        sync_push_body(user=user, last_pulled_at=base, raw=_body(conflict=True))
    assert caught.value.conflicts == {"episodes": ["old29"]}
    assert _stored(user, 0) == before


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "tail, status",
    [(b'"deleted": [1]', 400), (b'"deleted": ["x"], "nope": []', 400), (b'"deleted": [', 400)],
)
def test_a_body_found_bad_after_chunks_were_written_stores_nothing(settings: Any, tail: bytes, status: int) -> None:
    settings.SYNC_PUSH_CHUNK, settings.SYNC_STREAM_ABOVE_BYTES = 10, 0
    user = make_user()
    api = client_for(user)
    good = orjson.dumps([raw_episode(f"e{i}", started_at=ms_ago(hours=2 + i)) for i in range(50)])
    raw = b'{"episodes": {"created": ' + good + b", " + tail + b"}}"
    r = api.generic("POST", "/api/v1/sync/push?last_pulled_at=1", raw.decode(), content_type="application/json")
    assert r.status_code == status, r.content
    assert orjson.loads(r.content)["error"] == "invalid"
    assert SYNCED["episodes"].model._default_manager.filter(user=user).count() == 0


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_number_yajl_refuses_and_orjson_reads_goes_the_whole_body_way(settings: Any) -> None:
    """2**64 - 1 in the last record, after chunks were written: orjson reads it (an integer out of the pain
    range: that record rejected by id), so the answer is the whole-body path's and every other record is stored
    once."""
    settings.SYNC_PUSH_CHUNK, settings.SYNC_STREAM_ABOVE_BYTES = 10, 0
    user = make_user()
    good = orjson.dumps([raw_episode(f"e{i}", started_at=ms_ago(hours=2 + i)) for i in range(50)])
    raw = b'{"episodes": {"created": ' + good[:-1] + b', {"id": "big", "pain": 18446744073709551615}]}}'
    answer = sync_push_body(user=user, last_pulled_at=0, raw=raw)
    assert set(answer["rejected"]["episodes"]) == {"big"}
    assert Episode.objects.filter(user=user).count() == 50


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_an_id_twice_in_a_table_goes_the_whole_body_way(settings: Any) -> None:
    """Created, then updated, then deleted in one push: the last record wins and the delete loses, as one
    plan of the whole table decides; streamed in chunks the second record would conflict with the first."""
    settings.SYNC_PUSH_CHUNK, settings.SYNC_STREAM_ABOVE_BYTES = 1, 0
    user = make_user()
    api = client_for(user)
    body = changes(
        episodes={
            "created": [raw_episode("a", pain=1), raw_episode("b")],
            "updated": [raw_episode("a", pain=7)],
            "deleted": ["a"],
        }
    )
    answer = push(api, pull(api, None)["timestamp"], body)
    assert answer["rejected"] == {}
    rows = dict(Episode.objects.filter(user=user).values_list("uid", "pain"))
    assert rows == {"a": 7, "b": 5}


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limit, streamed", [(0, True), (10**6, False)])
def test_only_a_body_larger_than_the_stream_limit_is_streamed(settings: Any, limit: int, streamed: bool) -> None:
    """Up to SYNC_STREAM_ABOVE_BYTES the body is parsed whole (orjson is the cheaper read): one COPY of its
    episodes; past it, one COPY per chunk."""
    settings.SYNC_PUSH_CHUNK, settings.SYNC_STREAM_ABOVE_BYTES = 10, limit
    user = make_user()
    raw = orjson.dumps(
        changes(episodes={"created": [raw_episode(f"e{i}", started_at=ms_ago(hours=2 + i)) for i in range(30)]})
    )
    with CaptureQueriesContext(connection) as ctx:
        answer = sync_push_body(user=user, last_pulled_at=0, raw=raw)
    assert answer["rejected"] == {}
    assert Episode.objects.filter(user=user).count() == 30
    copies = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("COPY")]
    assert len(copies) == (3 if streamed else 1), copies


def _diff(a: dict[str, list[tuple[Any, ...]]], b: dict[str, list[tuple[Any, ...]]]) -> list[Any]:
    return [(name, x, y) for name in a for x, y in zip(a[name], b[name], strict=False) if x != y][:4] + [
        (name, len(a[name]), len(b[name])) for name in a if len(a[name]) != len(b[name])
    ]
