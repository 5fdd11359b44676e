"""The one write path for synced rows: claim the sequence, write, stamp, record the outbox intent.

REST services, the sync push and server jobs all write through here, so every row change advances
the person's sequence in commit order and raises the same downstream work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from diary.accounts.models import User
from diary.core.errors import Conflict, DomainValidationError
from diary.core.fields import now_ms
from diary.outbox.services import outbox_enqueue
from diary.sync.models import SyncedRow
from diary.sync.sequence import ID_PATTERN, new_uid, sequence_claim
from diary.sync.tables import TableDef

Mode = Literal["create", "put", "patch"]


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
        row = table.model._default_manager.select_for_update().filter(user_id=user_id, uid=uid).first()
        live = row is not None and row.deleted_at is None
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
        now = now_ms()
        created = not live
        if created and table.max_live_rows is not None:
            count = table.model._default_manager.filter(user_id=user_id, deleted_at__isnull=True).count()
            if count >= table.max_live_rows:
                raise DomainValidationError({table.name: [table.too_many]})
        if row is None:
            row = table.model(user_id=user_id, uid=uid)
        table.fill_defaults(values, user)
        if values.get("created_at") is None:
            values["created_at"] = now if created else getattr(row, "created_at", None) or now
        if mode != "patch" or "updated_at" not in data or values.get("updated_at") is None:
            values["updated_at"] = now  # a patch may carry the client's own time; null is no time
        for key, value in values.items():
            setattr(row, key, value)
        row.seq = seq
        row.deleted_at = None
        row.save()
        if table.topic:
            outbox_enqueue(user_id=user_id, topic=table.topic, payloads=[{"uids": [uid]}])
    return row, created


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
        for key, value in table.erase_on_delete.items():
            setattr(row, key, value)
        row.seq = seq
        row.deleted_at = timezone.now()
        row.save()
        if table.topic:
            outbox_enqueue(user_id=user_id, topic=table.topic, payloads=[{"uids": [uid], "deleted": True}])
    return row


def _clean(
    table: TableDef, data: Mapping[str, Any], wire: str, *, base: Mapping[str, Any] | None, ignore: frozenset[str]
) -> dict[str, Any]:
    values, errors = table.spec.clean(data, wire, base=base, strict=True, ignore=ignore)
    if errors:
        raise DomainValidationError(errors)
    return values


def server_rows_create(*, table: TableDef, user_id: int, rows: Sequence[Mapping[str, Any]]) -> list[SyncedRow]:
    """Rows the server writes for a person (alerts, notifications): random ids, stamped like any write,
    so the person's next pull brings them. Runs in the caller's transaction if there is one."""
    with transaction.atomic():
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
    with transaction.atomic():
        first = sequence_claim(user_id=user_id, count=len(rows))
        for i, row in enumerate(rows):
            row.seq = first + i
        table.model._default_manager.bulk_update(rows, [*fields, "seq"])
