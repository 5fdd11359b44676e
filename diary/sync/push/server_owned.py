"""What a push asks of a server-owned table (notifications, alerts): the server creates their rows; a client
may set only the spec's writable columns (SYNC.md rule 6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diary.accounts.models import User
from diary.core.fields import RAW
from diary.sync.push.plan import Outcome, stored_rows
from diary.sync.registry import RENDERERS
from diary.sync.sequence import ID_PATTERN
from diary.sync.tables import TableDef
from diary.sync.writes import RowChange, TableChanges


def server_owned_plan(
    *, table: TableDef, user: User, last_pulled_at: int, sections: Mapping[str, list[Any]], outcome: Outcome
) -> TableChanges:
    """A pushed change to a column the client may not set is ignored and the row re-stamped, so the next
    pull puts the server's values back on the device. A client's delete is re-stamped the same way."""
    renderer = RENDERERS[table.name]
    writable = [fl.name for fl in table.spec.writable()]
    derived = ["status"] if table.client_update else []
    plan = TableChanges(table, columns=[*writable, *derived])
    assert plan.columns is not None
    for record in sections.get("created", []):
        uid = str(record.get("id"))[:36]
        outcome.reject(table.name, uid, "id", f"{table.name} are created by the server; the client may not create them")
    updates = {r.get("id"): r for r in sections.get("updated", []) if isinstance(r.get("id"), str)}
    deletes = [uid for uid in sections.get("deleted", []) if ID_PATTERN.match(uid)]
    existing = stored_rows(table, user.pk, [u for u in [*updates, *deletes] if ID_PATTERN.match(u)])
    for uid, record in updates.items():
        stored = existing.get(uid)
        if stored is None or not stored.live:
            outcome.reject(table.name, uid, "id", f"no such {table.name[:-1]}")
            continue
        values, errors = table.spec.clean(record, RAW)
        if errors:
            column, reasons = next(iter(errors.items()))
            outcome.reject(table.name, uid, column, reasons[0])
            continue
        stored_raw = renderer.raw_values(stored.values)
        server_columns_differ = any(
            record[k] != stored_raw[k] for k in record.keys() & stored_raw.keys() if k not in writable
        )
        if all(stored.values[k] == values[k] for k in writable if k in record):
            if server_columns_differ:
                plan.rows[uid] = RowChange(uid, {k: stored.values[k] for k in plan.columns}, stored)  # re-stamp only
            continue
        if stored.seq > last_pulled_at:
            outcome.conflict(table.name, uid)
            continue
        new = {k: values[k] if k in record else stored.values[k] for k in writable}
        if table.client_update:
            new = table.client_update(new, stored.values)
        plan.rows[uid] = RowChange(uid, {**{k: stored.values[k] for k in derived}, **new}, stored)
    for uid in deletes:
        stored = existing.get(uid)
        if stored is not None and stored.live:
            plan.rows.setdefault(uid, RowChange(uid, {k: stored.values[k] for k in plan.columns}, stored))
    return plan
