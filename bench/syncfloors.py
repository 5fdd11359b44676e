"""The floors bench/sync.py measures push and pull against: what PostgreSQL alone does with the same data.

- push: COPY of the same rows into a table ``LIKE diary_episode INCLUDING ALL`` plus the same foreign
  key, with each raw value stored as the push stores it;
- pull: one query building the same first-pull answer with json_agg/json_build_object, each value
  rendered as the pull renders it (diary/sync/raw.py), and a comparison of the two answers.

Django must be set up (bench/sync.py does it): the columns and tables come from the models and the
sync registry, so a new field or table is in the floor too.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from django.db import models
from psycopg import sql

from diary.accounts.models import User
from diary.core import fields as f
from diary.episodes.models import Episode
from diary.sync.models import SyncState
from diary.sync.registry import SYNCED, WIRE_TABLES

COPY_TABLE = "bench_copy_episode"
Record = dict[str, Any]


def copy_table_create(pg: psycopg.Connection[Any]) -> None:
    ep = Episode._meta.db_table
    users = User._meta.db_table
    pg.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
    pg.execute(f"CREATE TABLE {COPY_TABLE} (LIKE {ep} INCLUDING ALL)")  # columns, defaults, checks, indexes
    pg.execute(f"ALTER TABLE {COPY_TABLE} ADD CONSTRAINT {COPY_TABLE}_user_fk FOREIGN KEY (user_id) "
               f"REFERENCES {users} (id) DEFERRABLE INITIALLY DEFERRED")  # fmt: skip  # LIKE leaves out FKs


def column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column, field
    return str(field.column)


def stored(spec_field: f.Field, value: Any) -> Any:
    """A raw value as the push stores it (datetimes for ms, JSON text for code lists)."""
    if isinstance(spec_field, f.Instant):
        return None if value is None else f.ms_to_datetime(value)
    if isinstance(spec_field, f.CodeList):
        return value or "[]"
    return value


def copy_rows(records: list[Record], user_id: int, first_seq: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    spec = SYNCED["episodes"].spec
    columns = ["user_id", "uid", "seq", "deleted_at", "server_updated_at"]
    columns += [column(Episode, fl.model_attr) for fl in spec.fields]
    now = datetime.now(UTC)
    rows = [
        (user_id, r["id"], first_seq + i, None, now, *(stored(fl, r.get(fl.name)) for fl in spec.fields))
        for i, r in enumerate(records)
    ]
    return columns, rows


def copy_floor(pg: psycopg.Connection[Any], columns: list[str], rows: list[tuple[Any, ...]]) -> float:
    pg.execute(f"TRUNCATE {COPY_TABLE}")
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(COPY_TABLE), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    t0 = time.perf_counter()
    with pg.transaction(), pg.cursor() as cur, cur.copy(statement) as cp:
        for row in rows:
            cp.write_row(row)
    elapsed = time.perf_counter() - t0  # COPY and commit, the deferred foreign key checked
    count = pg.execute(f"SELECT count(*) FROM {COPY_TABLE}").fetchone()
    assert count is not None and count[0] == len(rows), count
    return elapsed


def sql_value(spec_field: f.Field, column: str) -> str:
    """The raw-record value of a column, as pull renders it (diary/sync/raw.py)."""
    if isinstance(spec_field, f.Instant):
        return f"(extract(epoch FROM {column}) * 1000)::bigint"
    if isinstance(spec_field, f.CodeList):
        return f"COALESCE({column}, '[]'::jsonb)::text"
    if isinstance(spec_field, f.LocalDate):
        return f"to_char({column}, 'YYYY-MM-DD')"
    if isinstance(spec_field, f.ClockTime):
        return f"to_char({column}, 'HH24:MI')"
    return column


def json_agg_sql() -> str:
    """One query answering a first pull: every table, live rows in seq order, and the timestamp."""
    parts = []
    for name in WIRE_TABLES:
        created = "'[]'::json"
        table = SYNCED.get(name)
        if table is not None:
            meta = table.model._meta
            cols = ", ".join(
                f"'{fl.name}', {sql_value(fl, 'r.' + column(table.model, fl.model_attr))}" for fl in table.spec.fields
            )
            created = (
                f"COALESCE((SELECT json_agg(json_build_object('id', r.uid, {cols}) ORDER BY r.seq) "
                f"FROM {meta.db_table} r WHERE r.user_id = %(user)s AND r.seq > 0 AND r.deleted_at IS NULL), "
                "'[]'::json)"
            )
        parts.append(f"'{name}', json_build_object('created', {created}, 'updated', '[]'::json, 'deleted', '[]'::json)")
    state = SyncState._meta.db_table
    return (
        f"SELECT json_build_object('changes', json_build_object({', '.join(parts)}), "
        f"'timestamp', (SELECT s.seq FROM {state} s WHERE s.user_id = %(user)s))::text"
    )


def json_agg_floor(pg: psycopg.Connection[Any], query: str, user_id: int) -> tuple[float, str]:
    t0 = time.perf_counter()
    row = pg.execute(query, {"user": user_id}).fetchone()  # type: ignore[call-overload]
    elapsed = time.perf_counter() - t0
    assert row is not None
    return elapsed, row[0]


def same_answer(pulled: bytes, floor: str) -> str | None:
    """None if the json_agg answer holds the same records as the pull (code lists compared parsed)."""
    lists = {name: {fl.name for fl in t.spec.fields if isinstance(fl, f.CodeList)} for name, t in SYNCED.items()}

    def norm(answer: Any) -> Any:
        for name, sections in answer["changes"].items():
            for rec in sections["created"]:
                for key in lists.get(name, ()):
                    rec[key] = orjson.loads(rec[key])
        return answer

    a, b = norm(orjson.loads(pulled)), norm(orjson.loads(floor))
    if a == b:
        return None
    for name in WIRE_TABLES:
        ra, rb = a["changes"][name]["created"], b["changes"][name]["created"]
        if len(ra) != len(rb):
            return f"{name}: {len(ra)} records pulled, {len(rb)} from json_agg"
        for x, y in zip(ra, rb, strict=True):
            if x != y:
                return f"{name}: first difference {x} vs {y}"
    return f"timestamps {a['timestamp']} vs {b['timestamp']}"
