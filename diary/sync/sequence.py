"""The per-person change sequence: the only way synced rows get their ``seq`` stamp."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterable

from django.db import connection, transaction

from diary.sync.models import SyncState

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
_ALPHABET = string.ascii_letters + string.digits


def new_uid() -> str:
    """A random 16-character id, like WatermelonDB's own (SYNC.md rule 5)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(16))


def sequence_claim(*, user_id: int, count: int = 1) -> int:
    """Advance the person's sequence by ``count`` and return the first of the claimed values.

    Must run inside the write's transaction and before any of the person's rows are touched (lock
    order). The UPDATE takes the row lock until commit, so a second writer for the same person
    waits here: stamps are handed out in commit order, and a pull's snapshot can never see a
    higher stamp while a lower one is still uncommitted.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("sequence_claim must run inside a transaction")
    table = SyncState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET seq = seq + %s WHERE user_id = %s RETURNING seq", [count, user_id])
        row = cursor.fetchone()
    if row is None:
        raise SyncState.DoesNotExist(f"no sync state for user {user_id}")
    return int(row[0]) - count + 1


def sequence_release(*, user_id: int, count: int) -> None:
    """Hand back the last ``count`` stamps of a claim this transaction made and did not use (it still
    holds the row lock, so nobody else claimed after it): the stamps stay consecutive."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("sequence_release must run inside the transaction that claimed")
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {SyncState._meta.db_table} SET seq = seq - %s WHERE user_id = %s", [count, user_id])


def sequence_claim_many(*, counts: dict[int, int]) -> dict[int, int]:
    """``sequence_claim`` for many people in one statement (server jobs writing for a batch of people).

    Returns the first claimed value per person. Takes the rows in user-id order, so two batch jobs
    never deadlock on each other; callers that lock rows first must lock these sequence rows before.
    """
    if not counts:
        return {}
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("sequence_claim_many must run inside a transaction")
    if any(n < 1 for n in counts.values()):
        raise ValueError("every count must be at least 1")
    if connection.vendor != "postgresql":
        return {user_id: sequence_claim(user_id=user_id, count=counts[user_id]) for user_id in sorted(counts)}
    users = sorted(counts)
    table = SyncState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} AS s SET seq = s.seq + v.n
                FROM (SELECT unnest(%s::bigint[]) AS user_id, unnest(%s::bigint[]) AS n) AS v
                WHERE s.user_id = v.user_id RETURNING s.user_id, s.seq""",
            [users, [counts[u] for u in users]],
        )
        found = {int(user_id): int(seq) - counts[int(user_id)] + 1 for user_id, seq in cursor.fetchall()}
    missing = set(counts) - set(found)
    if missing:
        raise SyncState.DoesNotExist(f"no sync state for users {sorted(missing)}")
    return found


def sequence_lock(*, user_id: int) -> None:
    """Take the person's sequence row lock without claiming a value: the first step of any write that
    touches their rows (lock order) but may stamp nothing, or stamps later through another service."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("sequence_lock must run inside a transaction")
    with connection.cursor() as cursor:  # raw: the ORM's queryset cost more CPU than the round trip
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""  # SQLite: the file's lock
        cursor.execute(f"SELECT 1 FROM {SyncState._meta.db_table} WHERE user_id = %s{lock}", [user_id])
        cursor.fetchall()


def sequence_lock_free(*, user_ids: Iterable[int]) -> list[int]:
    """Lock the sequence rows of those people no other transaction holds (``SKIP LOCKED``), in user-id
    order, and return them: how batch jobs (dispatcher, alert ladder) claim people, stepping around
    someone whose push or write is in flight."""
    return list(
        SyncState.objects.select_for_update(skip_locked=True)
        .filter(user_id__in=list(user_ids))
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )
