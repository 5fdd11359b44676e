"""Apply a validated push: lock, plan every table, refuse on conflict, write through the one write path."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from diary.accounts.models import User
from diary.core.collector import collector_paused
from diary.core.fields import now_ms
from diary.sync.push.plan import Outcome, client_owned_plan
from diary.sync.push.server_owned import server_owned_plan
from diary.sync.push.shape import PushInvalid, validate_shape
from diary.sync.push.stream import Unstreamable, chunks
from diary.sync.registry import SYNCED, WIRE_TABLES
from diary.sync.sequence import ID_PATTERN, sequence_claim, sequence_lock
from diary.sync.tables import TableDef
from diary.sync.writes import Intents, TableChanges, rows_apply


class PushConflict(Exception):
    """Rows changed since the device last pulled (rule 3): 409, nothing applied."""

    def __init__(self, conflicts: dict[str, list[str]]):
        super().__init__(conflicts)
        self.conflicts = conflicts


def sync_push_body(*, user: User, last_pulled_at: int, raw: bytes | bytearray) -> dict[str, Any]:
    """Parse and apply a push body. Raises ``PushInvalid`` (400), ``PushTooLarge`` (413) or ``PushConflict``
    (409), each with nothing applied.

    On PostgreSQL a body larger than ``SYNC_STREAM_ABOVE_BYTES`` is read, planned and written
    ``SYNC_PUSH_CHUNK`` records at a time in the push's one transaction (``_streamed``); a smaller one is
    parsed whole (orjson is faster per record than the streamed read, and a small body's records are
    few). A body it cannot take that way (malformed, a shape problem, too many
    records, an id twice in a table, a number or escape orjson reads differently) is rolled back and
    decided by the whole-body path, which gives the exact answer.

    The whole-body path reads and writes a body of more than ``PAUSE_COLLECTOR_ABOVE_BYTES`` with Python's
    cyclic garbage collector paused (diary/core/collector.py): its records hold no cycles, and the
    collector's full walks over them were about a tenth of a 10,000-record push. The streamed path keeps
    it running: paused there, a 50,000-record push grew the worker by 10 MB more (bench/sync.py)."""
    if connection.vendor == "postgresql" and len(raw) > settings.SYNC_STREAM_ABOVE_BYTES:
        try:
            return _streamed(user=user, last_pulled_at=last_pulled_at, raw=raw)
        except Unstreamable:
            pass  # rolled back: nothing of it is stored
    if len(raw) <= PAUSE_COLLECTOR_ABOVE_BYTES:
        return _whole_body(user=user, last_pulled_at=last_pulled_at, raw=raw)
    with collector_paused():
        return _whole_body(user=user, last_pulled_at=last_pulled_at, raw=raw)


PAUSE_COLLECTOR_ABOVE_BYTES = 256 * 1024  # about 500 episodes


def _whole_body(*, user: User, last_pulled_at: int, raw: bytes | bytearray) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PushInvalid([{"field": "body", "reason": f"malformed JSON: {exc}"}]) from exc
    return sync_push(user=user, last_pulled_at=last_pulled_at, changes=validate_shape(body))


def sync_push(*, user: User, last_pulled_at: int, changes: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, Any]:
    """Apply a validated changes object. Raises ``PushConflict`` (nothing applied) on a conflict.

    On SQLite a push of more than ``SYNC_SQLITE_PUSH_CHUNK`` records commits chunk by chunk (``_chunks``:
    every record of one id in the same chunk), so the file's one write lock is never held for the
    whole of a large push; a conflict found in a later chunk answers 409 after the earlier chunks
    were stored. The app then pulls (its own records come back as they are on the phone) and pushes
    again, and the stored records replay as no-ops (SYNC.md rule 4)."""
    outcome = Outcome()
    if connection.vendor != "sqlite":
        _apply(user=user, last_pulled_at=last_pulled_at, changes=changes, outcome=outcome)
    else:
        for i, chunk in enumerate(_chunks(changes, settings.SYNC_SQLITE_PUSH_CHUNK)):
            if i:
                # SQLite's busy handler polls (every 100 ms once it has waited a while); it does not
                # queue. Without a pause the next chunk's BEGIN would take the lock again before any
                # waiting writer looked.
                time.sleep(SQLITE_YIELD_S)
            _apply(user=user, last_pulled_at=last_pulled_at, changes=chunk, outcome=outcome)
    return outcome.answer()


SQLITE_YIELD_S = 0.15


def _apply(
    *, user: User, last_pulled_at: int, changes: Mapping[str, Mapping[str, list[Any]]], outcome: Outcome
) -> None:
    """One transaction: lock, plan every table, refuse on conflict, write.

    The lock is a claim of as many stamps as the push has records (each writes at most one row); the
    stamps not used are handed back before commit. Most pushes write every record they carry, so the
    lock and the claim are one statement; a push that writes fewer (replays, rejections) sends one more."""
    total = sum(len(items) for name, sections in changes.items() if name in SYNCED for items in sections.values())
    with transaction.atomic():
        # lock order: the person's sequence row before any of their rows (rule 1)
        claimed = (sequence_claim(user_id=user.pk, count=total), total) if total else None
        if claimed is None:
            sequence_lock(user_id=user.pk)
        plans = [
            (server_owned_plan if SYNCED[name].server_owned else client_owned_plan)(
                table=SYNCED[name], user=user, last_pulled_at=last_pulled_at, sections=sections, outcome=outcome
            )
            for name, sections in changes.items()
            if name in SYNCED and any(sections.values())  # a table the push names but sends nothing in: no plan
        ]
        if outcome.conflicts:
            raise PushConflict(outcome.conflicts)
        for name, uids in rows_apply(user_id=user.pk, changes=plans, claimed=claimed).items():
            for uid in uids:
                outcome.reject(name, uid, "id", SYNCED[name].too_many)


def _streamed(*, user: User, last_pulled_at: int, raw: bytes | bytearray) -> dict[str, Any]:
    """One transaction: lock, then plan and write chunk by chunk as the body is read; refuse on conflict.

    A client-owned table without a live-row cap is planned a chunk at a time: no id may come twice in it
    (a later record of an id would see the earlier one's write as a change since ``last_pulled_at``), so a
    body that has one goes the whole-body way. A capped or server-owned table is planned whole (its
    pushes are small), as ``_apply`` plans every table."""
    outcome = Outcome()
    with transaction.atomic():
        sequence_lock(user_id=user.pk)
        writer = _ChunkWriter(user=user, last_pulled_at=last_pulled_at, outcome=outcome)
        size, limit = settings.SYNC_PUSH_CHUNK, settings.SYNC_MAX_RECORDS
        for name, section, items in chunks(raw, tables=frozenset(WIRE_TABLES), size=size, limit=limit):
            writer.add(SYNCED[name], section, items)
        writer.finish()
    return outcome.answer()


class _ChunkWriter:
    def __init__(self, *, user: User, last_pulled_at: int, outcome: Outcome):
        self.user, self.last_pulled_at, self.outcome = user, last_pulled_at, outcome
        self.clock = (now_ms(), timezone.now())  # one push, one time: as ``rows_apply`` stamps a whole push
        self.intents = Intents()
        self.seen: dict[str, set[str]] = {}  # the ids of each chunked table so far
        self.whole: tuple[TableDef, dict[str, list[Any]]] | None = None  # a table planned whole, gathering
        self.refused: list[tuple[str, str]] = []  # creates past a cap: answered last, as ``_apply`` does

    def add(self, table: TableDef, section: str, items: list[Any]) -> None:
        if self.whole is not None and self.whole[0] is not table:
            self._flush()
        if table.server_owned or table.max_live_rows is not None:
            if self.whole is None:
                self.whole = (table, {})
            self.whole[1].setdefault(section, []).extend(items)
            return
        seen = self.seen.setdefault(table.name, set())
        for item in items:
            uid = item if section == "deleted" else item.get("id")
            if isinstance(uid, str) and ID_PATTERN.match(uid):
                if uid in seen:
                    raise Unstreamable(f"{table.name} {uid!r} twice")
                seen.add(uid)
        self._write(table, client_owned_plan, {section: items})

    def _flush(self) -> None:
        assert self.whole is not None
        table, sections = self.whole
        self.whole = None
        self._write(table, server_owned_plan if table.server_owned else client_owned_plan, sections)

    def _write(self, table: TableDef, plan_of: Any, sections: dict[str, list[Any]]) -> None:
        plan: TableChanges = plan_of(
            table=table, user=self.user, last_pulled_at=self.last_pulled_at, sections=sections, outcome=self.outcome
        )
        if self.outcome.conflicts:
            return  # 409 at the end, with every conflict: nothing more is written, all of it is rolled back
        for name, uids in rows_apply(
            user_id=self.user.pk, changes=[plan], clock=self.clock, intents=self.intents
        ).items():
            self.refused += [(name, uid) for uid in uids]

    def finish(self) -> None:
        if self.whole is not None:
            self._flush()
        if self.outcome.conflicts:
            raise PushConflict(self.outcome.conflicts)
        for name, uid in self.refused:
            self.outcome.reject(name, uid, "id", SYNCED[name].too_many)
        self.intents.raise_all(self.user.pk)


_SECTIONS = ("created", "updated", "deleted")


def _chunks(changes: Mapping[str, Mapping[str, list[Any]]], size: int) -> Iterator[dict[str, dict[str, list[Any]]]]:
    """The changes object cut into changes objects of about ``size`` records. Every record of one id in
    a table (created, updated and deleted alike) stays in one chunk: spread over two, the second would
    see the first's write as a change since ``last_pulled_at`` and call it a conflict."""
    groups: list[tuple[str, list[tuple[str, Any]]]] = []  # (table, [(section, record or id)]) per id
    for name, sections in changes.items():
        by_id: dict[str, list[tuple[str, Any]]] = {}
        for key in _SECTIONS:
            for item in sections.get(key, []):
                uid = item if key == "deleted" else item.get("id")
                by_id.setdefault(repr(uid), []).append((key, item))
        groups += [(name, items) for items in by_id.values()]
    chunk: dict[str, dict[str, list[Any]]] = {}
    count = 0
    for name, items in groups:
        if count and count + len(items) > size:
            yield chunk
            chunk, count = {}, 0
        sections = chunk.setdefault(name, {key: [] for key in _SECTIONS})
        for key, item in items:
            sections[key].append(item)
        count += len(items)
    if chunk or not groups:
        yield chunk
