"""What a push asks of one table, record by record (SYNC.md rules 3-6): a write, a delete, nothing (an
idempotent replay), a conflict or a rejection by id. Nothing is written here."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Model

from diary.accounts.models import User
from diary.core.fields import RAW
from diary.sync.registry import RENDERERS
from diary.sync.sequence import ID_PATTERN
from diary.sync.tables import TableDef
from diary.sync.writes import RowChange, Stored, TableChanges

BAD_ID = "must be 1-36 characters of A-Z a-z 0-9 _ -"


@dataclass
class Outcome:
    """The answer so far: records rejected by id (rule 6), ids in conflict (rule 3)."""

    rejected: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    # Bad ids, listed first per table (as a plan of the whole table finds them), however the push was cut.
    bad_ids: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    def reject(self, table: str, uid: str, column: str, reason: str) -> None:
        self.rejected.setdefault(table, {})[uid] = {"field": column, "reason": reason}

    def reject_id(self, table: str, uid: str) -> None:
        self.rejected.setdefault(table, {})
        self.bad_ids.setdefault(table, {})[uid] = {"field": "id", "reason": BAD_ID}

    def answer(self) -> dict[str, Any]:
        """The 200 answer (SYNC.md): rejected ids per table, and why."""
        rejected = {table: {**self.bad_ids.get(table, {}), **by_id} for table, by_id in self.rejected.items()}
        return {
            "ok": True,
            "experimentalRejectedIds": {table: list(ids) for table, ids in rejected.items()},
            "rejected": rejected,
        }

    def conflict(self, table: str, uid: str) -> None:
        self.conflicts.setdefault(table, []).append(uid)


def stored_rows(table: TableDef, user_id: int, ids: list[str]) -> dict[str, Stored]:
    """The person's stored rows (live or tombstoned) for these ids, by id."""
    if not ids:
        return {}
    renderer = RENDERERS[table.name]
    found: dict[str, Stored] = {}
    rows: Iterable[Sequence[Any]]
    if connection.vendor == "postgresql":
        rows = _stored_pg(table, user_id, ids)
    else:
        mine = table.model._default_manager.filter(user_id=user_id)
        batches = [mine.filter(uid__in=ids[start : start + 5000]) for start in range(0, len(ids), 5000)]
        rows = (row for batch in batches for row in batch.values_list("pk", *renderer.columns))
    for pk, *columns in rows:
        uid, seq, deleted_at = columns[:3]
        found[uid] = Stored(pk=pk, seq=seq, deleted_at=deleted_at, values=renderer.values(columns))
    return found


@functools.cache
def _stored_select(model: type[Model], columns: tuple[str, ...]) -> tuple[str, tuple[tuple[int, Any], ...]]:
    """The SELECT ``_stored_pg`` sends, and the fields whose database values Django converts (JSON)."""
    fields: list[Any] = [model._meta.pk, *(model._meta.get_field(name) for name in columns)]
    qn = connection.ops.quote_name
    statement = (
        f"SELECT {', '.join(qn(fl.column) for fl in fields)} FROM {qn(model._meta.db_table)}"
        f" WHERE {qn('user_id')} = %s AND {qn('uid')} = ANY(%s::text[])"
    )
    return statement, tuple((i, fl) for i, fl in enumerate(fields) if hasattr(fl, "from_db_value"))


def _stored_pg(table: TableDef, user_id: int, ids: list[str]) -> list[list[Any]]:
    """``values_list("pk", *columns)`` of the rows, as one raw SELECT with the ids as one array parameter:
    ``uid IN (%s, ...)`` had psycopg quote 5,000 parameters into each query text, and the ORM's
    queryset cost more CPU than the query for a push of one record."""
    statement, converted = _stored_select(table.model, RENDERERS[table.name].columns)
    with connection.cursor() as cursor:
        cursor.execute(statement, [user_id, ids])
        rows = [list(row) for row in cursor.fetchall()]
    for row in rows:
        for i, fl in converted:
            row[i] = fl.from_db_value(row[i], None, connection)
    return rows


def client_owned_plan(
    *, table: TableDef, user: User, last_pulled_at: int, sections: Mapping[str, list[Any]], outcome: Outcome
) -> TableChanges:
    """The changes a push makes to one client-owned table (server-owned ones: ``server_owned_plan``)."""
    plan = TableChanges(table)
    upserts: dict[str, dict[str, Any]] = {}
    for key in ("created", "updated"):
        for record in sections.get(key, []):
            uid = record.get("id")
            if not isinstance(uid, str) or not ID_PATTERN.match(uid):
                outcome.reject_id(table.name, str(uid)[:36])
                continue
            upserts[uid] = record
    deletes = [uid for uid in sections.get("deleted", []) if ID_PATTERN.match(uid)]
    existing = stored_rows(table, user.pk, list({*upserts, *deletes}))

    for uid, record in upserts.items():
        values = _clean(table, uid, record, outcome, user)
        if values is None:
            continue
        stored = existing.get(uid)
        if stored is not None and stored.live and _unchanged(record, values, stored):
            continue  # idempotent replay: nothing to do, never a conflict (rule 4)
        if stored is not None and stored.seq > last_pulled_at:
            outcome.conflict(table.name, uid)  # changed since this device last pulled (rule 3)
            continue
        plan.rows[uid] = RowChange(uid, values, stored)
    for uid in deletes:
        stored = existing.get(uid)
        if stored is None or not stored.live:
            continue  # deleting a missing or already deleted row is a no-op
        if stored.seq > last_pulled_at:
            outcome.conflict(table.name, uid)
            continue
        plan.rows.setdefault(uid, RowChange(uid, None, stored))
    return plan


def _unchanged(record: Mapping[str, Any], values: Mapping[str, Any], stored: Stored) -> bool:
    """Do the columns the client sent equal the stored ones? A record leaving ``created_at`` out or null
    does not ask to change it (the write keeps the stored one)."""
    return all(
        stored.values[k] == values[k]
        for k in record.keys() & stored.values.keys()
        if not (k == "created_at" and values[k] is None)
    )


def _clean(table: TableDef, uid: str, record: Mapping[str, Any], outcome: Outcome, user: User) -> dict[str, Any] | None:
    column = table.id_column
    if column is not None:
        if record.get(column) is None:
            record = {**record, column: uid}
        elif record[column] != uid:
            outcome.reject(table.name, uid, column, f"the {table.label} id is its {column}; they disagree")
            return None
    values, errors = table.spec.clean(record, RAW)
    if errors:
        column, reasons = next(iter(errors.items()))
        outcome.reject(table.name, uid, column, reasons[0])
        return None
    table.fill_defaults(values, user)
    return values
