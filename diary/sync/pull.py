"""Pull (SYNC.md rules 1, 2, 7): every change after the cursor, read in one snapshot.

An up-to-date pull (the cursor is the person's current sequence: nothing new), the call a phone makes
most, is one statement: the sequence row, read alone, answers it. Otherwise the sequence and every table
are read in one REPEATABLE READ snapshot. The sequence also bounds how many rows can have changed since
the cursor (each change takes at least one value), so a pull that can only be small reads its rows in
one fetch per table; only a large one streams them through server-side cursors."""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction

from diary.sync.models import SyncState
from diary.sync.registry import RENDERERS, SYNCED, WIRE_TABLES


def _empty() -> dict[str, dict[str, list[Any]]]:
    return {name: {"created": [], "updated": [], "deleted": []} for name in WIRE_TABLES}


# At most this many changes since the cursor: the rows are fetched at once, not through a cursor.
SMALL_PULL = 2000
_CURRENT = f"SELECT seq FROM {SyncState._meta.db_table} WHERE user_id = %s"


def _current(user_id: int) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(_CURRENT, [user_id])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def sync_pull(*, user_id: int, last_pulled_at: int | None, limit: int | None) -> dict[str, Any]:
    """The answer to ``GET /sync/pull``. ``limit`` cuts an incremental answer between two rows."""
    if last_pulled_at:
        # Nothing after the cursor (the purge watermark is never above the sequence): the answer the
        # snapshot below would give, from one statement.
        current = _current(user_id)
        if current is not None and last_pulled_at >= current:
            return {"changes": _empty(), "timestamp": current}
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # One snapshot for the sequence and every table: a row stamped after the sequence was
            # read cannot be half-seen. (SQLite serialises writers, so its reads are consistent.)
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        state = SyncState.objects.values_list("seq", "purge_watermark").get(user_id=user_id)
        current, watermark = state
        if last_pulled_at and last_pulled_at < watermark:
            return _replacement(user_id=user_id, timestamp=current)
        since = last_pulled_at or 0
        first_sync = since == 0
        changes = _empty()
        # Rows of all tables in one sequence order; with a limit, fetch one more to know has_more.
        fetch = None if limit is None else limit + 1
        small = current - since <= SMALL_PULL or (fetch is not None and fetch <= SMALL_PULL)
        streams = {}
        renderers = {}
        for name in SYNCED:
            _, renderers[name] = RENDERERS[name].wire(connection.vendor)
            if connection.vendor == "postgresql":
                sql, fixed = _select(name, first_sync)
                params = [*fixed, since, user_id]
                if fetch is not None:
                    sql, params = f"{sql} LIMIT %s", [*params, fetch]
                streams[name] = _rows(sql, params, small=small)
            else:
                streams[name] = _converted(_queryset(name, first_sync, user_id, since, fetch), small=small)
        last_seq, has_more = since, False
        if limit is None:
            # Every row goes out: no order across tables to keep, each table in sequence order.
            for name, rows in streams.items():
                section = changes[name]
                render = renderers[name]
                changed = section["created" if first_sync else "updated"]
                deleted = section["deleted"]
                for row in rows:
                    if row[2] is not None:
                        deleted.append(row[0])
                    else:
                        changed.append(render(row))
        else:
            # Rows of all tables in one sequence order, cut after ``limit`` (one more was fetched).
            merged = heapq.merge(*(_tagged(n, rows) for n, rows in streams.items()), key=lambda item: item[0])
            for emitted, (seq, name, row) in enumerate(merged):
                if emitted == limit:
                    has_more = True
                    break
                if row[2] is not None:
                    changes[name]["deleted"].append(row[0])
                else:
                    changes[name]["created" if first_sync else "updated"].append(renderers[name](row))
                last_seq = seq
    answer: dict[str, Any] = {"changes": changes, "timestamp": last_seq if has_more else current}
    if has_more:
        answer["has_more"] = True
    return answer


# Sentinels the SQL is compiled with, found again among its parameters: the cursor and the user id.
_SINCE, _USER = 918_273_645_546_372, 192_837_465_564_738


def _queryset(name: str, first_sync: bool, user_id: int, since: int, fetch: int | None) -> Any:
    """A table's rows after the cursor, in sequence order, as ``values_list`` of its wire columns."""
    columns, _ = RENDERERS[name].wire(connection.vendor)
    qs: Any = SYNCED[name].model._default_manager.filter(user_id=user_id, seq__gt=since)
    if first_sync:
        qs = qs.filter(deleted_at__isnull=True)
    qs = qs.order_by("seq").values_list(*columns)
    return qs if fetch is None else qs[:fetch]


@functools.cache
def _select(name: str, first_sync: bool) -> tuple[str, tuple[Any, ...]]:
    """``_queryset``'s SQL on PostgreSQL, compiled once per table: the statement and its fixed parameters
    (the column expressions'), to be followed by the cursor and the user id. Building the queryset and
    compiling it again on every pull was most of a small pull's CPU (bench.load's profile)."""
    sql, params = _queryset(name, first_sync, _USER, _SINCE, None).query.sql_with_params()
    if [int(p) for p in params[-2:]] != [_SINCE, _USER]:
        raise RuntimeError(f"the {name} pull query no longer ends with (cursor, user id) parameters: {params!r}")
    return sql, tuple(params[:-2])


def _rows(sql: str, params: list[Any], *, small: bool) -> Iterator[tuple[Any, ...]]:
    """PostgreSQL: the rows of ``_select``'s SQL, read on a cursor of its own. The values need no
    conversion (pull selects wire-ready ones, diary/sync/raw.py), so Django's per-row converters are
    skipped; a small answer in one fetch, a large one through a server-side cursor in chunks."""
    if small:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return iter(cursor.fetchall())
    return _streamed(sql, params)


def _converted(qs: Any, *, small: bool) -> Iterator[tuple[Any, ...]]:
    """Elsewhere (SQLite stores datetimes as text) Django's iteration converts the values."""
    return iter(list(qs)) if small else qs.iterator(chunk_size=2000)


def _streamed(sql: str, params: Any) -> Iterator[tuple[Any, ...]]:
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(2000):
            yield from rows


def _tagged(name: str, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, str, tuple[Any, ...]]]:
    # A function, not a generator expression in the loop: each stream must keep its own table name.
    for row in rows:
        yield row[1], name, row


def _replacement(*, user_id: int, timestamp: int) -> dict[str, Any]:
    """Every live row (never cut by a limit): the client drops synced rows missing from it."""
    changes = _empty()
    for name, table in SYNCED.items():
        columns, render = RENDERERS[name].wire(connection.vendor)
        qs = table.model._default_manager.filter(user_id=user_id, deleted_at__isnull=True).values_list(*columns)
        changes[name]["created"] = [render(row) for row in qs.iterator(chunk_size=2000)]
    return {"changes": changes, "timestamp": timestamp, "experimentalStrategy": "replacement"}
