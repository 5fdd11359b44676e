"""Pull (SYNC.md rules 1, 2, 7): every change after the cursor, read in one snapshot."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction

from diary.sync.models import SyncState
from diary.sync.registry import RENDERERS, SYNCED, WIRE_TABLES


def _empty() -> dict[str, dict[str, list[Any]]]:
    return {name: {"created": [], "updated": [], "deleted": []} for name in WIRE_TABLES}


def sync_pull(*, user_id: int, last_pulled_at: int | None, limit: int | None) -> dict[str, Any]:
    """The answer to ``GET /sync/pull``. ``limit`` cuts an incremental answer between two rows."""
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
        streams = []
        renderers = {}
        for name, table in SYNCED.items():
            columns, renderers[name] = RENDERERS[name].wire(connection.vendor)
            qs: Any = table.model._default_manager.filter(user_id=user_id, seq__gt=since)
            if first_sync:
                qs = qs.filter(deleted_at__isnull=True)
            qs = qs.order_by("seq").values_list(*columns)
            if fetch is not None:
                qs = qs[:fetch]
            streams.append(_tagged(name, qs.iterator(chunk_size=2000)))
        last_seq, has_more = since, False
        merged = heapq.merge(*streams, key=lambda item: item[0])
        for emitted, (seq, name, row) in enumerate(merged):
            if limit is not None and emitted == limit:
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
