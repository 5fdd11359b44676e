"""Apply a validated push: lock, plan every table, refuse on conflict, write through the one write path."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from diary.accounts.models import User
from diary.sync.push.plan import Outcome, client_owned_plan
from diary.sync.push.server_owned import server_owned_plan
from diary.sync.registry import SYNCED
from diary.sync.sequence import sequence_lock
from diary.sync.writes import rows_apply


class PushConflict(Exception):
    """Rows changed since the device last pulled (rule 3): 409, nothing applied."""

    def __init__(self, conflicts: dict[str, list[str]]):
        super().__init__(conflicts)
        self.conflicts = conflicts


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
    return {
        "ok": True,
        "experimentalRejectedIds": {table: list(ids) for table, ids in outcome.rejected.items()},
        "rejected": outcome.rejected,
    }


SQLITE_YIELD_S = 0.15


def _apply(
    *, user: User, last_pulled_at: int, changes: Mapping[str, Mapping[str, list[Any]]], outcome: Outcome
) -> None:
    """One transaction: lock, plan every table, refuse on conflict, write."""
    with transaction.atomic():
        sequence_lock(user_id=user.pk)  # lock order: the person's sequence row before any of their rows (rule 1)
        plans = [
            (server_owned_plan if SYNCED[name].server_owned else client_owned_plan)(
                table=SYNCED[name], user=user, last_pulled_at=last_pulled_at, sections=sections, outcome=outcome
            )
            for name, sections in changes.items()
            if name in SYNCED
        ]
        if outcome.conflicts:
            raise PushConflict(outcome.conflicts)
        for name, uids in rows_apply(user_id=user.pk, changes=plans).items():
            for uid in uids:
                outcome.reject(name, uid, "id", SYNCED[name].too_many)


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
