"""Committing intents with the data, and turning them into work after commit."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

import orjson
from celery import current_app
from django.conf import settings
from django.db import close_old_connections, connection, models, transaction
from django.db.models import Value
from django.utils import timezone

from backend.breaker import wake
from diary.core.backoff import backoff_delay
from diary.outbox.models import OutboxEvent
from diary.outbox.routes import URGENT, handler_at, hooks_for, paths_for

log = logging.getLogger(__name__)
# The task that runs one event (diary/outbox/tasks.py), sent by name: the tasks module imports
# this one, so importing it back would be a cycle.
DELIVER_TASK = "diary.outbox.tasks.outbox_deliver"


def _queue(handler: str) -> str | None:
    return settings.URGENT_QUEUE if handler in URGENT else None  # None: the default queue


def _send(
    event_ids: list[int], handler: str, *, then: list[tuple[int, str]] | None = None, producer: Any = None
) -> None:
    """Publish one wake-up for ``event_ids`` (rows of one queue, run in this order by one task) to
    ``handler``'s queue (``then``: the rows it wakes once they have run). One row goes as its plain
    id, several as a list (tasks.outbox_deliver takes either)."""
    kwargs = {"then": then} if then else None
    arg: int | list[int] = event_ids[0] if len(event_ids) == 1 else event_ids
    # argsrepr, kwargsrepr: plain ids, so Celery's saferepr of them (a fifth of a send) is not needed.
    current_app.send_task(
        DELIVER_TASK, args=[arg], kwargs=kwargs, queue=_queue(handler), producer=producer,
        argsrepr=f"[{arg}]", kwargsrepr=repr(kwargs or {}),
    )  # fmt: skip


def _publish(rows: list[tuple[int, str]]) -> None:
    """The sweeper's re-sends (``outbox_requeue``): a wake-up for each ``(event id, handler)``, so any
    free worker takes any row, red-flag evaluation to its own queue, in this order, all in one batch
    (one Redis round trip on kombu's Redis transport; one by one on others). A write's own rows go out
    with ``_publish_write``. Never raises, and tries even while the broker just failed (a sweep is
    background work: waiting costs nobody); rows it cannot send wait for the next sweep."""
    if not rows:
        return
    if len(rows) == 1:
        event_id, handler = rows[0]
        wake(partial(_send, [event_id], handler), what=f"outbox event {event_id}", cooldown=False)
        return
    wake(partial(_send_batch, rows), what=f"outbox events {rows[0][0]}..{rows[-1][0]}", cooldown=False)


def _send_batch(rows: list[tuple[int, str]]) -> None:
    with current_app.producer_or_acquire() as producer, producer.batch():
        for event_id, handler in rows:
            _send([event_id], handler, producer=producer)


def _by_queue(rows: list[tuple[int, str]]) -> list[tuple[list[int], str]]:
    """``rows`` grouped by the queue their handlers run on, in first-seen order: (ids, a handler)."""
    groups: dict[str | None, tuple[list[int], str]] = {}
    for event_id, handler in rows:
        groups.setdefault(_queue(handler), ([], handler))[0].append(event_id)
    return list(groups.values())


def _publish_together(rows: list[tuple[int, str]]) -> None:
    """One wake-up per queue for rows of one write: its worker runs them one after another, each in
    a transaction of its own (``outbox_deliver_each``). A Celery task costs a worker about 2.2 ms of
    CPU before any handler runs (no-op tasks, measured): a task per row cost every write one more
    than needed. Never raises, like ``_publish``."""
    for ids, handler in _by_queue(rows):
        wake(partial(_send, ids, handler), what=f"outbox events {ids}")


def _publish_write(rows: list[tuple[int, str]]) -> None:
    """After a write commits: wake its red-flag rows now, in one task, and let it carry the other
    rows' wake-ups (``then``), published once they have run, one per queue. Insights and reminders
    then never share the CPU with the red-flag evaluation they were written with (measured: the
    alert's push arrived in about two thirds of the time), yet each row still runs, retries and
    fails on its own: a failing red-flag handler publishes them all the same, and a lost or crashed
    red-flag message leaves them to the sweeper, like any lost wake-up."""
    urgent = [row for row in rows if row[1] in URGENT]
    rest = [row for row in rows if row[1] not in URGENT]
    if not urgent:
        _publish_together(rest)
        return
    ids, handler = [event_id for event_id, _ in urgent], urgent[0][1]
    wake(partial(_send, ids, handler, then=rest), what=f"outbox events {ids}")


def topic_run(*, user_id: int, topic: str, payload: dict[str, Any]) -> None:
    """Run an in-transaction topic's handlers now, in the caller's transaction (routes.IN_TRANSACTION)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{topic} handlers must run inside the caller's transaction")
    for handler in hooks_for(topic):
        handler(user_id, payload)


def _value(payload: dict[str, Any]) -> Value:
    """The payload as one JSON parameter. Given plain values, Django inserts several rows on PostgreSQL
    through UNNEST of one array per column, and psycopg escapes every quote of a payload inside the
    jsonb[] literal: a push of 10,000 records names 10,000 ids per payload, and that INSERT took some
    7 times as long as with one parameter per payload."""
    return Value(payload, output_field=models.JSONField())


def _rows(
    *, user_id: int, topic: str, payloads: list[dict[str, Any]], created_at: dt.datetime
) -> list[tuple[int, str]]:
    """One row per routed handler and payload, red-flag evaluation's first; published after commit
    in that order."""
    later = timezone.now() + dt.timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    wanted = [(path, payload) for path in paths_for(topic) for payload in payloads]
    if not wanted:
        return []
    if connection.vendor == "postgresql":
        rows = _insert(user_id, topic, wanted, created_at, later)
    else:
        events = OutboxEvent.objects.bulk_create(
            [
                OutboxEvent(
                    user_id=user_id,
                    topic=topic,
                    handler=path,
                    payload=_value(payload),
                    created_at=created_at,
                    available_at=later,
                )
                for path, payload in wanted
            ]
        )
        rows = [(e.pk, e.handler) for e in events]
    transaction.on_commit(lambda: _publish_write(rows))
    return rows


_INSERT = (
    'INSERT INTO "diary_outbox_event" (user_id, topic, handler, payload, created_at, available_at, attempts, last_error)'
    " VALUES {} RETURNING id"
)
_ROW = "(%s, %s, %s, %s::jsonb, %s, %s, 0, '')"


def _insert(
    user_id: int, topic: str, wanted: list[tuple[str, dict[str, Any]]], created_at: dt.datetime, later: dt.datetime
) -> list[tuple[int, str]]:
    """The rows in one INSERT with one JSON text parameter per payload (``_value`` says why not Django's
    multi-row insert); the ORM's ``bulk_create`` took about a fifth of a one-episode write's CPU to build it."""
    params: list[Any] = []
    for path, payload in wanted:
        params += [user_id, topic, path, orjson.dumps(payload).decode(), created_at, later]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT.format(", ".join([_ROW] * len(wanted))), params)
        ids = [row[0] for row in cursor.fetchall()]
    return [(event_id, path) for event_id, (path, _) in zip(ids, wanted, strict=True)]


def outbox_enqueue(*, user_id: int, topic: str, payloads: Iterable[dict[str, Any]]) -> list[int]:
    """Record work for ``topic`` inside the caller's transaction: one row per handler the routing
    table names and payload (a topic nobody routes records nothing); publish them after commit."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_enqueue must run inside the write's transaction")
    rows = _rows(user_id=user_id, topic=topic, payloads=list(payloads), created_at=timezone.now())
    return [event_id for event_id, _ in rows]


def _split(event: OutboxEvent) -> None:
    """A row from before handlers had rows of their own (blank ``handler``): replace it by one row
    per handler its topic routes now, keeping its age; in the caller's transaction."""
    _rows(user_id=event.user_id, topic=event.topic, payloads=[event.payload], created_at=event.created_at)
    event.processed_at = timezone.now()
    event.save(update_fields=["processed_at"])


def outbox_deliver_each(*, event_ids: Iterable[int], then: Iterable[Iterable[Any]] = ()) -> bool:
    """Run each row (``outbox_process``, each in its own transaction: one failing, even with a
    database error, neither undoes nor holds back the next; the sweeper retries it), then wake the
    rows they carry, one task per queue, whether they succeeded, failed or were already done: a
    redelivered message wakes them again, which runs nothing twice. True when every row ran now."""
    ran = True
    try:
        for event_id in event_ids:
            try:
                ran &= outbox_process(event_id=event_id)
            except Exception:
                log.exception("outbox row failed outside its handler: event=%s", event_id)
                ran = False
                if not connection.in_atomic_block:
                    close_old_connections()  # a connection the error left unusable: the next row opens another
        return ran
    finally:
        rows = [(int(event_id), str(handler)) for event_id, handler in then]
        if rows:
            _publish_together(rows)


def outbox_process(*, event_id: int) -> bool:
    """Run the one handler of one row once. Returns False if it was already done, is being done or
    failed (then it waits out its back-off: diary/core/backoff.py).

    The row lock (SKIP LOCKED) means two deliveries of the same message never run it twice at
    once; ``processed_at`` means a redelivery after success does nothing. The other handlers of the
    same write have rows of their own: this one failing holds none of them back.
    """
    with transaction.atomic():
        claimed = _claim(event_id)
        if claimed is None:
            return False
        user_id, handler, payload = claimed
        if not handler:
            _split(OutboxEvent.objects.get(pk=event_id))
            return True
        try:
            with transaction.atomic():
                handler_at(handler)(user_id, payload)
        except Exception as exc:
            event = OutboxEvent.objects.get(pk=event_id)  # locked by _claim until this transaction ends
            event.attempts += 1
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            event.available_at = timezone.now() + backoff_delay(event.attempts)
            event.save(update_fields=["attempts", "last_error", "available_at"])
            log.exception("outbox handler failed: event=%s handler=%s", event.pk, event.handler)
            return False
        _done(event_id)
    return True


# Every row a worker runs is claimed and marked done: two statements written once, not built by the ORM
# for each row (that was about 1 ms of a worker's CPU per row, a Celery task's worth of overhead again).
_CLAIM = "SELECT user_id, handler, payload FROM diary_outbox_event WHERE id = %s AND processed_at IS NULL"
_DONE = "UPDATE diary_outbox_event SET processed_at = %s, attempts = attempts + 1 WHERE id = %s"


def _claim(event_id: int) -> tuple[int, str, Any] | None:
    """Lock the row if it is still to do and nobody else holds it: ``(user id, handler, payload)``."""
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM + lock, [event_id])
        found = cursor.fetchone()
    if found is None:
        return None
    user_id, handler, payload = found
    # jsonb (PostgreSQL) and JSON text (SQLite) both arrive as text: Django's JSONField parses it itself
    return int(user_id), str(handler), orjson.loads(payload) if isinstance(payload, (str, bytes)) else payload


def _done(event_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_DONE, [connection.ops.adapt_datetimefield_value(timezone.now()), event_id])


def _due(limit: int) -> list[tuple[int, str]]:
    return list(
        OutboxEvent.objects.filter(processed_at__isnull=True, available_at__lte=timezone.now())
        .order_by("available_at")
        .values_list("pk", "handler")[:limit]
    )


def outbox_due(*, limit: int = 500) -> list[int]:
    """Rows whose wake-up was lost (broker down, worker killed) or whose back-off has passed."""
    return [event_id for event_id, _ in _due(limit)]


def outbox_requeue(*, limit: int = 500) -> int:
    rows = _due(limit)
    if rows:
        # Push the next sweep out so a slow worker is not sent the same rows every minute.
        later = timezone.now() + dt.timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
        OutboxEvent.objects.filter(pk__in=[pk for pk, _ in rows], processed_at__isnull=True).update(available_at=later)
        rows.sort(key=lambda row: row[1] not in URGENT)  # red-flag evaluation first here too
        _publish(rows)
    return len(rows)
