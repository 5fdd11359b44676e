"""Push (SYNC.md rules 3-6): one transaction, conflicts refuse everything, bad records are rejected
by id while the rest of the offline backlog lands."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from diary.accounts.models import User
from diary.core.fields import RAW, now_ms
from diary.outbox.services import outbox_enqueue
from diary.sync.models import SyncedRow, SyncState
from diary.sync.registry import RENDERERS, SYNCED, WIRE_TABLES
from diary.sync.sequence import ID_PATTERN, sequence_claim
from diary.sync.tables import TableDef

_SECTIONS = ("created", "updated", "deleted")


class PushInvalid(Exception):
    """The payload is not a changes object: 400, nothing applied."""

    def __init__(self, problems: list[dict[str, str]]):
        super().__init__(problems)
        self.problems = problems


class PushTooLarge(Exception):
    def __init__(self, count: int, limit: int):
        super().__init__(f"{count} records; at most {limit} per push")
        self.count, self.limit = count, limit


class PushConflict(Exception):
    def __init__(self, conflicts: dict[str, list[str]]):
        super().__init__(conflicts)
        self.conflicts = conflicts


@dataclass
class _Outcome:
    rejected: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    conflicts: dict[str, list[str]] = field(default_factory=dict)

    def reject(self, table: str, uid: str, column: str, reason: str) -> None:
        self.rejected.setdefault(table, {})[uid] = {"field": column, "reason": reason}

    def conflict(self, table: str, uid: str) -> None:
        self.conflicts.setdefault(table, []).append(uid)


def validate_shape(body: Any) -> dict[str, dict[str, list[Any]]]:
    """Check the body is ``{table: {created: [obj], updated: [obj], deleted: [id]}}``; count it."""
    if not isinstance(body, dict):
        raise PushInvalid([{"field": "body", "reason": "must be a JSON object of tables"}])
    problems: list[dict[str, str]] = []
    total = 0
    for table, sections in body.items():
        if table not in WIRE_TABLES:
            problems.append(
                {"field": str(table)[:60], "reason": f"unknown table; expected one of: {', '.join(WIRE_TABLES)}"}
            )
            continue
        if not isinstance(sections, dict):
            problems.append({"field": table, "reason": "must be an object with created, updated and deleted"})
            continue
        for key, items in sections.items():
            where = f"{table}.{key}"
            if key not in _SECTIONS:
                problems.append({"field": where[:80], "reason": "unknown section; expected created, updated, deleted"})
            elif not isinstance(items, list):
                problems.append({"field": where, "reason": "must be an array"})
            elif key == "deleted" and not all(isinstance(i, str) for i in items):
                problems.append({"field": where, "reason": "must be an array of id strings"})
            elif key != "deleted" and not all(isinstance(i, dict) for i in items):
                problems.append({"field": where, "reason": "must be an array of record objects"})
            else:
                total += len(items)
    if problems:
        raise PushInvalid(problems)
    if total > settings.SYNC_MAX_RECORDS:
        raise PushTooLarge(total, settings.SYNC_MAX_RECORDS)
    return body


def sync_push(*, user: User, last_pulled_at: int, changes: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, Any]:
    """Apply a validated changes object. Raises ``PushConflict`` (nothing applied) on a conflict."""
    outcome = _Outcome()
    with transaction.atomic():
        # Lock order: the person's sequence row before any of their rows (SYNC.md rule 1).
        SyncState.objects.select_for_update().filter(user_id=user.pk).values_list("seq", flat=True).get()
        plans = [
            _plan(table=SYNCED[name], user=user, last_pulled_at=last_pulled_at, sections=sections, outcome=outcome)
            for name, sections in changes.items()
            if name in SYNCED
        ]
        if outcome.conflicts:
            raise PushConflict(outcome.conflicts)
        count = sum(len(p.writes) for p in plans)
        if count:
            first = sequence_claim(user_id=user.pk, count=count)
            for plan in plans:
                first = plan.apply(user_id=user.pk, first_seq=first)
    return {
        "ok": True,
        "experimentalRejectedIds": {table: list(ids) for table, ids in outcome.rejected.items()},
        "rejected": outcome.rejected,
    }


@dataclass
class _Plan:
    table: TableDef
    # uid -> (values to store, existing row pk or None)
    writes: dict[str, tuple[dict[str, Any] | None, int | None]] = field(default_factory=dict)
    # Server-owned tables update only the client-settable (and derived) columns.
    update_fields: list[str] = field(default_factory=list)

    def apply(self, *, user_id: int, first_seq: int) -> int:
        if not self.writes:  # the push names this table but changes nothing in it: no stamps, no work to ask for
            return first_seq
        model: Any = self.table.model  # a concrete synced model (Episode, CheckIn, ...)
        now = now_ms()
        new_rows: list[dict[str, Any]] = []
        updates: list[SyncedRow] = []
        seq = first_seq
        for uid, (values, pk) in self.writes.items():
            if values is None:  # a delete of a live row: tombstone, erasing the person's words
                row = model(pk=pk, user_id=user_id, uid=uid, seq=seq, deleted_at=now, **self.table.erase_on_delete)
                updates.append(row)
            else:
                if "created_at" in self.table.spec.names:
                    values["created_at"] = values.get("created_at") or now
                    values["updated_at"] = values.get("updated_at") or now
                if pk is None:
                    new_rows.append({"user_id": user_id, "uid": uid, "seq": seq, "deleted_at": None, **values})
                else:
                    updates.append(model(pk=pk, user_id=user_id, uid=uid, seq=seq, deleted_at=None, **values))
            seq += 1
        if new_rows:
            _insert(model, new_rows)
        if updates:
            _bulk_update(self.table, updates, self.update_fields or [*self.table.spec.names, *self.table.derived])
        if self.table.topic:
            written = [r["uid"] for r in new_rows] + [r.uid for r in updates]
            outbox_enqueue(user_id=user_id, topic=self.table.topic, payloads=[{"uids": written}])
        return seq


# Column types psycopg writes straight from the Python values the record specs produce.
_PLAIN_TYPES = frozenset({
    "BigIntegerField", "BooleanField", "CharField", "DateField", "DateTimeField", "FloatField", "ForeignKey",
    "IntegerField", "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "TextField",
})  # fmt: skip


def _copy_value(model_field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    kind = model_field.get_internal_type()
    if kind == "JSONField" and getattr(model_field, "encoder", None) is None:
        # JSON text, which the column parses to jsonb; None stays SQL NULL, as Django stores it.
        return lambda value: None if value is None else orjson.dumps(value).decode()
    if kind in _PLAIN_TYPES:
        return lambda value: value
    return lambda value: model_field.get_db_prep_save(value, connection)


def _insert(model: Any, rows: list[dict[str, Any]]) -> None:
    """Create rows (``attname -> value``). On PostgreSQL one COPY: an offline backlog of 10,000 records
    lands several times faster than through ``bulk_create``, which builds a model and prepares every value
    per row and sends INSERTs with each column as a text array."""
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**row) for row in rows], batch_size=2000)
        return
    fields = [fl for fl in model._meta.concrete_fields if not fl.primary_key]
    now = timezone.now()
    # Per column: the row's value, else the auto_now stamp (one per push), else the field default.
    getters: list[tuple[str, Callable[[Any], Any], Any]] = [
        (fl.attname, _copy_value(fl), now if getattr(fl, "auto_now", False) else fl.get_default()) for fl in fields
    ]
    qn = connection.ops.quote_name
    statement = f"COPY {qn(model._meta.db_table)} ({', '.join(qn(fl.column) for fl in fields)}) FROM STDIN"
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([prep(row[name]) if name in row else prep(missing) for name, prep, missing in getters])


def _bulk_update(table: TableDef, rows: list[SyncedRow], columns: list[str]) -> None:
    tombstones = [r for r in rows if r.deleted_at is not None]
    live = [r for r in rows if r.deleted_at is None]
    manager = table.model._default_manager
    if live:
        manager.bulk_update(live, [*columns, "seq", "deleted_at"], batch_size=500)
    if tombstones:
        manager.bulk_update(tombstones, ["seq", "deleted_at", *table.erase_on_delete], batch_size=500)


def _plan(
    *, table: TableDef, user: User, last_pulled_at: int, sections: Mapping[str, list[Any]], outcome: _Outcome
) -> _Plan:
    if table.server_owned:
        return _plan_server_owned(
            table=table, user=user, last_pulled_at=last_pulled_at, sections=sections, outcome=outcome
        )
    plan = _Plan(table)
    upserts: dict[str, dict[str, Any]] = {}
    for key in ("created", "updated"):
        for record in sections.get(key, []):
            uid = record.get("id")
            if not isinstance(uid, str) or not ID_PATTERN.match(uid):
                outcome.reject(table.name, str(uid)[:36], "id", "must be 1-36 characters of A-Z a-z 0-9 _ -")
                continue
            upserts[uid] = record
    deletes = [uid for uid in sections.get("deleted", []) if ID_PATTERN.match(uid)]
    ids = list({*upserts, *deletes})
    existing = _existing(table, user.pk, ids)

    for uid, record in upserts.items():
        values = _clean(table, uid, record, outcome, user)
        if values is None:
            continue
        found = existing.get(uid)
        if found is None:
            plan.writes[uid] = (values, None)
            continue
        pk, seq, deleted_at, stored = found
        if "created_at" in table.spec.names and values.get("created_at") is None:
            values["created_at"] = stored.get("created_at")  # keep when the row was first logged
        # Compare the columns the client sent (a record without created_at is not "different").
        same = deleted_at is None and all(stored[k] == values[k] for k in record.keys() & stored.keys())
        if same:
            continue  # idempotent replay: nothing to do, never a conflict (rule 4)
        if seq > last_pulled_at:
            outcome.conflict(table.name, uid)  # changed since this device last pulled (rule 3)
            continue
        plan.writes[uid] = (values, pk)
    for uid in deletes:
        found = existing.get(uid)
        if found is None or found[2] is not None:
            continue  # deleting a missing or already deleted row is a no-op
        if found[1] > last_pulled_at:
            outcome.conflict(table.name, uid)
            continue
        plan.writes.setdefault(uid, (None, found[0]))
    if table.max_live_rows is not None:
        _limit_live_rows(table, user.pk, plan, existing, outcome)
    return plan


def _limit_live_rows(
    table: TableDef,
    user_id: int,
    plan: _Plan,
    existing: dict[str, tuple[int, int, Any, dict[str, Any]]],
    outcome: _Outcome,
) -> None:
    """Reject, by id, the creates that would take the person past the table's limit (in push order)."""
    assert table.max_live_rows is not None
    creates = [
        uid
        for uid, (values, _) in plan.writes.items()
        if values is not None and (uid not in existing or existing[uid][2] is not None)
    ]
    if not creates:
        return
    deleting = sum(1 for values, _ in plan.writes.values() if values is None)
    live = table.model._default_manager.filter(user_id=user_id, deleted_at__isnull=True).count() - deleting
    for uid in creates[max(0, table.max_live_rows - live) :]:
        del plan.writes[uid]
        outcome.reject(table.name, uid, "id", table.too_many)


def _clean(
    table: TableDef, uid: str, record: Mapping[str, Any], outcome: _Outcome, user: User
) -> dict[str, Any] | None:
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


def _existing(table: TableDef, user_id: int, ids: list[str]) -> dict[str, tuple[int, int, Any, dict[str, Any]]]:
    """The person's stored rows for these ids: uid -> (pk, seq, deleted_at, values)."""
    renderer = RENDERERS[table.name]
    found: dict[str, tuple[int, int, Any, dict[str, Any]]] = {}
    for start in range(0, len(ids), 5000):
        rows = table.model._default_manager.filter(user_id=user_id, uid__in=ids[start : start + 5000]).values_list(
            "pk", *renderer.columns
        )
        for row in rows:
            found[row[1]] = (row[0], row[2], row[3], renderer.values(row[1:]))
    return found


def _plan_server_owned(
    *, table: TableDef, user: User, last_pulled_at: int, sections: Mapping[str, list[Any]], outcome: _Outcome
) -> _Plan:
    """Notifications and alerts: the server creates them; a client may set only the writable columns.

    A pushed change to any other column is ignored and the row re-stamped, so the next pull puts the
    server's values back on the device (SYNC.md rule 6). A client's delete is re-stamped the same way.
    """
    renderer = RENDERERS[table.name]
    writable = [fl.name for fl in table.spec.writable()]
    derived = ["status"] if table.client_update else []
    plan = _Plan(table, update_fields=[*writable, *derived])
    for record in sections.get("created", []):
        uid = str(record.get("id"))[:36]
        outcome.reject(table.name, uid, "id", f"{table.name} are created by the server; the client may not create them")
    updates = {r.get("id"): r for r in sections.get("updated", []) if isinstance(r.get("id"), str)}
    deletes = [uid for uid in sections.get("deleted", []) if ID_PATTERN.match(uid)]
    existing = _existing(table, user.pk, [u for u in [*updates, *deletes] if ID_PATTERN.match(u)])
    for uid, record in updates.items():
        found = existing.get(uid)
        if found is None or found[2] is not None:
            outcome.reject(table.name, uid, "id", f"no such {table.name[:-1]}")
            continue
        pk, seq, _, stored = found
        values, errors = table.spec.clean(record, RAW)
        if errors:
            column, reasons = next(iter(errors.items()))
            outcome.reject(table.name, uid, column, reasons[0])
            continue
        stored_raw = renderer.raw_values(stored)
        server_columns_differ = any(
            record[k] != stored_raw[k] for k in record.keys() & stored_raw.keys() if k not in writable
        )
        if all(stored[k] == values[k] for k in writable if k in record):
            if server_columns_differ:
                plan.writes[uid] = ({k: stored[k] for k in plan.update_fields}, pk)  # re-stamp only
            continue
        if seq > last_pulled_at:
            outcome.conflict(table.name, uid)
            continue
        new = {k: values[k] if k in record else stored[k] for k in writable}
        if table.client_update:
            new = table.client_update(new, stored)
        plan.writes[uid] = ({**{k: stored[k] for k in derived}, **new}, pk)
    for uid in deletes:
        found = existing.get(uid)
        if found is not None and found[2] is None:
            plan.writes.setdefault(uid, ({k: found[3][k] for k in plan.update_fields}, found[0]))
    return plan
