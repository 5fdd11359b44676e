"""The one write path for synced rows: claim the sequence, stamp, cap, tombstone, raise the outbox intents.

REST services write one row at a time (``record_write``, ``record_delete``), the sync push many at once
(``rows_apply``, which COPYs new rows), server jobs their own rows (``server_rows_create``,
``server_rows_touch``). All of them advance the person's sequence in commit order and follow the same
rules, defined once below: ``_stamp`` (created_at/updated_at), ``_room`` (the live-row cap),
``_tombstone`` (a delete) and ``_raise_intents`` (the work a write asks for, the same payloads whichever
path wrote).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from django.db import connection, models, transaction
from django.http import Http404
from django.utils import timezone

from diary.accounts.models import User
from diary.core.errors import Conflict, DomainValidationError
from diary.core.fields import now_ms
from diary.outbox.services import outbox_enqueue
from diary.sync.bulk import row_insert_new, rows_insert, rows_update
from diary.sync.models import SyncedRow
from diary.sync.sequence import ID_PATTERN, new_uid, sequence_claim, sequence_release
from diary.sync.tables import TableDef

Mode = Literal["create", "put", "patch"]


# --- the rules every path follows ---------------------------------------------------------------------------


def _stamp(
    table: TableDef, values: dict[str, Any], *, now: dt.datetime, kept_created_at: Any, client_clock: bool
) -> None:
    """``created_at``: the writer's, else the live row's, else now (a recreated tombstone is new).
    ``updated_at``: now, unless the writer keeps its own clock (a sync client, a REST PATCH naming it) and
    gave one; null is no time."""
    if "created_at" not in table.spec.names:
        return
    if values.get("created_at") is None:
        values["created_at"] = kept_created_at or now
    if not client_clock or values.get("updated_at") is None:
        values["updated_at"] = now


def _room(table: TableDef, user_id: int, *, deleting: int = 0) -> int:
    """How many more live rows the person may create in a capped table (``deleting`` are going now)."""
    assert table.max_live_rows is not None
    live = table.model._default_manager.filter(user_id=user_id, deleted_at__isnull=True).count() - deleting
    return max(0, table.max_live_rows - live)


def _tombstone(table: TableDef, now: dt.datetime) -> dict[str, Any]:
    """What a delete stores: the row is kept for sync, erased of the person's words."""
    return {**table.erase_on_delete, "deleted_at": now}


def _raise_intents(table: TableDef, user_id: int, *, written: list[str], deleted: list[str]) -> None:
    """The outbox work of a write: ``{"uids": [...]}`` for rows written, ``{"uids": [...], "deleted": true}``
    for rows deleted; one REST write names one row, one push every row of the table it wrote."""
    if not table.topic:
        return
    payloads: list[dict[str, Any]] = []
    if written:
        payloads.append({"uids": written})
    if deleted:
        payloads.append({"uids": deleted, "deleted": True})
    if payloads:
        outbox_enqueue(user_id=user_id, topic=table.topic, payloads=payloads)


# --- one row (REST) -----------------------------------------------------------------------------------------


def check_uid(uid: object) -> str:
    """A client id (SYNC.md rule 5) given over REST: in the body of a POST or in a URL."""
    if not isinstance(uid, str) or not ID_PATTERN.match(uid):
        raise DomainValidationError({"id": ["must be 1-36 characters of A-Z a-z 0-9 _ -"]})
    return uid


def body_uid(data: Mapping[str, Any], uid: str) -> None:
    """An id in the body of a PUT or PATCH must be the one in the URL."""
    if "id" in data and data["id"] != uid:
        raise DomainValidationError({"id": [f"does not match the id in the URL ({uid})"]})


def _current_values(table: TableDef, row: SyncedRow) -> dict[str, Any]:
    return {fl.name: getattr(row, fl.model_attr) for fl in table.spec.fields}


def record_write(
    *,
    table: TableDef,
    user: User,
    uid: str,
    data: Mapping[str, Any],
    wire: str,
    mode: Mode,
    ignore: frozenset[str] = frozenset(),
) -> tuple[SyncedRow, bool]:
    """Create, replace or partially update one row. Returns ``(row, created)``.

    ``create`` refuses a live row with the same id (409); ``put`` creates or replaces; ``patch``
    changes the given columns of a live row (404 if there is none). A tombstoned id is recreated.
    Columns the input left null take the table's ``user_defaults`` (e.g. the episode's zone).
    """
    user_id = user.pk
    values: dict[str, Any] | None = None
    if mode != "patch":
        values = _clean(table, data, wire, base=None, ignore=ignore)
    with transaction.atomic():
        seq = sequence_claim(user_id=user_id)  # lock order: the sequence row first
        if mode == "create" and _inserts_directly(table):
            assert values is not None
            created = _create_new(table, user, uid, values, seq)
            if created is not None:
                _raise_intents(table, user_id, written=[uid] if table.raises_topic(values) else [], deleted=[])
                return created, True
            # the id is taken (live: 409 below; a tombstone: recreated below)
        row, live = _locked_row(table, user_id, uid, load=mode != "create")
        if mode == "create" and live:
            raise Conflict(
                f"{table.name[:-1]} {uid!r} already exists; PUT to /{table.name}/{uid} replaces it",
                {"id": ["already exists"]},
            )
        if mode == "patch":
            if not live:
                raise Http404
            assert row is not None
            values = _clean(table, data, wire, base=_current_values(table, row), ignore=ignore)
        assert values is not None
        if not live and table.max_live_rows is not None and _room(table, user_id) < 1:
            raise DomainValidationError({table.name: [table.too_many]})
        if row is None:
            row = table.model(user_id=user_id, uid=uid)
        table.fill_defaults(values, user)
        kept = getattr(row, "created_at", None) if live else None
        _stamp(table, values, now=now_ms(), kept_created_at=kept, client_clock=mode == "patch" and "updated_at" in data)
        for key, value in values.items():
            setattr(row, key, value)
        row.seq = seq
        row.deleted_at = None
        row.save()
        _raise_intents(table, user_id, written=[uid] if table.raises_topic(values) else [], deleted=[])
    return row, not live


def _inserts_directly(table: TableDef) -> bool:
    """Can a create try its INSERT first (``_create_new``)? PostgreSQL, ids unique per person, no live-row cap."""
    return connection.vendor == "postgresql" and table.max_live_rows is None and _uid_unique(table.model)


@functools.cache
def _uid_unique(model: type[SyncedRow]) -> bool:
    return any(
        isinstance(c, models.UniqueConstraint) and tuple(c.fields) == ("user", "uid") and c.condition is None
        for c in model._meta.constraints
    )


def _create_new(table: TableDef, user: User, uid: str, values: dict[str, Any], seq: int) -> SyncedRow | None:
    """A create of an id the person never used: one INSERT that does nothing if the id is taken (then
    None, and the caller looks at the stored row as any write does). Stamped as ``record_write`` stamps."""
    table.fill_defaults(values, user)
    _stamp(table, values, now=now_ms(), kept_created_at=None, client_clock=False)
    auto_now = timezone.now()
    fields = {"user_id": user.pk, "uid": uid, "seq": seq, "deleted_at": None, **values}
    pk = row_insert_new(table.model, fields, auto_now=auto_now)
    if pk is None:
        return None
    model: Any = table.model  # a concrete synced model
    row = model(pk=pk, server_updated_at=auto_now, **fields)
    row._state.adding = False
    row._state.db = connection.alias
    return row


def _locked_row(table: TableDef, user_id: int, uid: str, *, load: bool) -> tuple[SyncedRow | None, bool]:
    """Lock the person's row of this id, if any: ``(row, live)``. A raw SELECT of two columns first (most
    writes find no row; the ORM's full-row query cost a fifth of a create's CPU); the model only when a
    row is there and the write needs it (a create of a live id is refused without it)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""  # SQLite locks the whole file
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, deleted_at IS NULL FROM {table.model._meta.db_table} WHERE user_id = %s AND uid = %s{lock}",
            [user_id, uid],
        )
        found = cursor.fetchone()
    if found is None:
        return None, False
    pk, live = found
    if live and not load:
        return None, True
    return table.model._default_manager.get(pk=pk), bool(live)


def record_delete(*, table: TableDef, user_id: int, uid: str) -> SyncedRow:
    """Turn a live row into a tombstone (kept for sync, erased of free text). 404 if not live."""
    with transaction.atomic():
        seq = sequence_claim(user_id=user_id)
        row = (
            table.model._default_manager.select_for_update()
            .filter(user_id=user_id, uid=uid, deleted_at__isnull=True)
            .first()
        )
        if row is None:
            raise Http404
        for key, value in _tombstone(table, now_ms()).items():
            setattr(row, key, value)
        row.seq = seq
        row.save()
        _raise_intents(table, user_id, written=[], deleted=[uid])
    return row


def _clean(
    table: TableDef, data: Mapping[str, Any], wire: str, *, base: Mapping[str, Any] | None, ignore: frozenset[str]
) -> dict[str, Any]:
    values, errors = table.spec.clean(data, wire, base=base, strict=True, ignore=ignore)
    if errors:
        raise DomainValidationError(errors)
    return values


# --- many rows (the sync push) ------------------------------------------------------------------------------


class Stored(NamedTuple):
    """A person's row as the writer found it: its stamp, whether it is a tombstone, its values by column."""

    pk: int
    seq: int
    deleted_at: dt.datetime | None
    values: dict[str, Any]

    @property
    def live(self) -> bool:
        return self.deleted_at is None


@dataclass
class RowChange:
    """One row of a bulk write: ``values`` to store (cleaned, defaults filled), or None to delete the live
    row ``stored``; ``stored`` is None for an id the person never used."""

    uid: str
    values: dict[str, Any] | None
    stored: Stored | None = None

    @property
    def creates(self) -> bool:
        """A new live row (a new id or a recreated tombstone): what the live-row cap counts."""
        return self.values is not None and (self.stored is None or not self.stored.live)


@dataclass
class TableChanges:
    """The changes of one table, in the order the writer gave them (which creates a cap keeps)."""

    table: TableDef
    rows: dict[str, RowChange] = field(default_factory=dict)
    # The columns an update writes; server-owned tables: only those a client may set, and derived ones.
    columns: list[str] | None = None


@dataclass
class Intents:
    """The outbox work of a write made in parts (a push read chunk by chunk): the rows each table wrote and
    deleted, gathered so ``raise_all`` asks for them once per table at the end, as one ``rows_apply`` would."""

    tables: dict[str, tuple[TableDef, list[str], list[str]]] = field(default_factory=dict)

    def add(self, table: TableDef, written: list[str], deleted: list[str]) -> None:
        _, w, d = self.tables.setdefault(table.name, (table, [], []))
        w += written
        d += deleted

    def raise_all(self, user_id: int) -> None:
        for table, written, deleted in self.tables.values():
            _raise_intents(table, user_id, written=written, deleted=deleted)


def rows_apply(
    *,
    user_id: int,
    changes: Sequence[TableChanges],
    clock: tuple[dt.datetime, dt.datetime] | None = None,
    intents: Intents | None = None,
    claimed: tuple[int, int] | None = None,
) -> dict[str, list[str]]:
    """Write many rows of one person at once, by the rules of ``record_write`` and ``record_delete``.

    Must run in the caller's transaction, which already holds the person's sequence row (lock order:
    before it read the stored rows). Creates past a table's live-row cap are refused, later ones first;
    returns their ids per table. The rest get consecutive stamps from one claim of the sequence.
    A write made in parts passes one ``clock`` (``now_ms()``, ``timezone.now()``) to every part, and
    ``intents`` to raise its outbox work once at the end (``Intents.raise_all``). ``claimed`` is
    ``(first stamp, count)`` of a claim the caller made as its lock, of at least as many stamps as it
    may write: the rows take the first of them and the rest are handed back."""
    refused = {t.table.name: _refuse_past_cap(t, user_id) for t in changes if t.table.max_live_rows is not None}
    count = sum(len(t.rows) for t in changes)
    if claimed is not None:
        first, claimed_count = claimed
        assert count <= claimed_count, "a claim covers every row written"
        if count < claimed_count:
            sequence_release(user_id=user_id, count=claimed_count - count)
    if count:
        seq = first if claimed is not None else sequence_claim(user_id=user_id, count=count)
        now, auto_now = clock or (now_ms(), timezone.now())
        for table_changes in changes:
            seq = _apply_table(
                table_changes, user_id=user_id, first_seq=seq, now=now, auto_now=auto_now, intents=intents
            )
    return {name: uids for name, uids in refused.items() if uids}


def _refuse_past_cap(changes: TableChanges, user_id: int) -> list[str]:
    creates = [uid for uid, row in changes.rows.items() if row.creates]
    if not creates:
        return []
    deleting = sum(1 for row in changes.rows.values() if row.values is None)
    refused = creates[_room(changes.table, user_id, deleting=deleting) :]
    for uid in refused:
        del changes.rows[uid]
    return refused


def _apply_table(
    changes: TableChanges,
    *,
    user_id: int,
    first_seq: int,
    now: dt.datetime,
    auto_now: dt.datetime,
    intents: Intents | None,
) -> int:
    """Stamp and store one table's rows from ``first_seq`` on; returns the next free stamp."""
    if not changes.rows:  # the push names this table but changes nothing in it: no stamps, no work to ask for
        return first_seq
    table = changes.table
    model: Any = table.model  # a concrete synced model (Episode, CheckIn, ...)
    new_rows: list[dict[str, Any]] = []
    updates: list[SyncedRow] = []
    tombstones: list[SyncedRow] = []
    seq = first_seq
    for uid, change in changes.rows.items():
        stored, values = change.stored, change.values
        if values is None:
            assert stored is not None and stored.live, "a delete names a live row"
            row = model(pk=stored.pk, user_id=user_id, uid=uid, seq=seq, server_updated_at=auto_now)
            for key, value in _tombstone(table, now).items():
                setattr(row, key, value)
            tombstones.append(row)
        else:
            kept = stored.values.get("created_at") if stored is not None and stored.live else None
            _stamp(table, values, now=now, kept_created_at=kept, client_clock=True)
            if stored is None:
                new_rows.append({"user_id": user_id, "uid": uid, "seq": seq, "deleted_at": None, **values})
            else:
                updates.append(
                    model(pk=stored.pk, user_id=user_id, uid=uid, seq=seq, deleted_at=None, server_updated_at=auto_now,
                          **values)
                )  # fmt: skip
        seq += 1
    if new_rows:
        rows_insert(model, new_rows, auto_now=auto_now)
    columns = changes.columns or [*table.spec.names, *table.derived]
    rows_update(model, updates, [*columns, "seq", "deleted_at", "server_updated_at"])
    rows_update(model, tombstones, [*_tombstone(table, now), "seq", "server_updated_at"])
    written, deleted = [r["uid"] for r in new_rows] + [r.uid for r in updates], [r.uid for r in tombstones]
    if table.topic_when is not None:
        written = [uid for uid in written if table.raises_topic(changes.rows[uid].values or {})]
    if intents is None:
        _raise_intents(table, user_id, written=written, deleted=deleted)
    else:
        intents.add(table, written, deleted)
    return seq


# --- rows the server writes ---------------------------------------------------------------------------------


def server_rows_create(*, table: TableDef, user_id: int, rows: Sequence[Mapping[str, Any]]) -> list[SyncedRow]:
    """Rows the server writes for a person (alerts, notifications): random ids, stamped like any write,
    so the person's next pull brings them. Runs in the caller's transaction if there is one."""
    with transaction.atomic(savepoint=False):
        first = sequence_claim(user_id=user_id, count=len(rows))
        made = [
            table.model(user_id=user_id, uid=new_uid(), seq=first + i, deleted_at=None, **dict(values))
            for i, values in enumerate(rows)
        ]
        table.model._default_manager.bulk_create(made)
    return made


def server_rows_touch(*, table: TableDef, user_id: int, rows: Sequence[SyncedRow], fields: list[str]) -> None:
    """Save server changes to a person's rows (an alert resolved or acknowledged) with fresh stamps,
    so the next pull brings them. Runs in the caller's transaction, after the sequence lock."""
    if not rows:
        return
    with transaction.atomic(savepoint=False):
        first = sequence_claim(user_id=user_id, count=len(rows))
        for i, row in enumerate(rows):
            row.seq = first + i
        table.model._default_manager.bulk_update(rows, [*fields, "seq"])
