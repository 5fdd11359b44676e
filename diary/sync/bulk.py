"""How many rows reach the database at once: COPY for new rows, one UPDATE ... FROM VALUES for stored ones.

Mechanics only: what the rows hold (stamps, tombstones, the sequence) is decided by ``writes.rows_apply``,
the only caller.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import orjson
from django.db import connection, models

from diary.sync.models import SyncedRow

# Column types psycopg writes straight from the Python values the record specs produce.
_PLAIN_TYPES = frozenset({
    "BigIntegerField", "BooleanField", "CharField", "DateField", "DateTimeField", "FloatField", "ForeignKey",
    "IntegerField", "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "TextField",
})  # fmt: skip


def _copy_value(model_field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How a value is prepared for COPY; None: as it is."""
    kind = model_field.get_internal_type()
    if kind == "JSONField" and getattr(model_field, "encoder", None) is None:
        # JSON text, which the column parses to jsonb; None stays SQL NULL, as Django stores it.
        return lambda value: None if value is None else orjson.dumps(value).decode()
    if kind in _PLAIN_TYPES:
        return None
    return lambda value: model_field.get_db_prep_save(value, connection)


def rows_insert(model: type[SyncedRow], rows: list[dict[str, Any]], *, auto_now: Any) -> None:
    """Create rows (``attname -> value``); ``auto_now`` fills the ``auto_now`` columns a row leaves out.

    On PostgreSQL one COPY: an offline backlog of 10,000 records lands several times faster than through
    ``bulk_create``, which builds a model and prepares every value per row and sends INSERTs with each
    column as a text array."""
    manager: Any = model._default_manager
    if connection.vendor == "postgresql" and len(rows) == 1:
        # One row (the usual push from a phone that is online): an INSERT costs less than setting up a COPY.
        row_insert_new(model, rows[0], auto_now=auto_now, skip_taken=False)
        return
    if connection.vendor != "postgresql":
        manager.bulk_create([model(**row) for row in rows], batch_size=2000)
        return
    fields: list[Any] = [fl for fl in model._meta.concrete_fields if not fl.primary_key]
    # Per column: the row's value, else the auto_now stamp, else the field default.
    getters: list[tuple[str, Callable[[Any], Any] | None, Any]] = [
        (fl.attname, _copy_value(fl), auto_now if getattr(fl, "auto_now", False) else fl.get_default()) for fl in fields
    ]
    qn = connection.ops.quote_name
    statement = f"COPY {qn(model._meta.db_table)} ({', '.join(qn(fl.column) for fl in fields)}) FROM STDIN"
    names, missing = [name for name, _, _ in getters], [default for _, _, default in getters]
    preps = [(i, prep) for i, (_, prep, _) in enumerate(getters) if prep is not None]
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            values = list(map(row.get, names, missing))  # each column's value, else its default
            for i, prep in preps:
                values[i] = prep(values[i])
            copy.write_row(values)


@cache
def _insert_one(
    model: type[SyncedRow], *, skip_taken: bool = True
) -> tuple[str, list[tuple[str, Callable[[Any], Any] | None, Any]]]:
    """The statement ``row_insert_new`` sends for ``model`` and how it reads each column off a row."""
    fields: list[Any] = [fl for fl in model._meta.concrete_fields if not fl.primary_key]
    qn = connection.ops.quote_name
    marks = ", ".join("%s::jsonb" if fl.get_internal_type() == "JSONField" else "%s" for fl in fields)
    statement = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(fl.column) for fl in fields)}) VALUES ({marks})"
        + (f" ON CONFLICT ({qn('user_id')}, {qn('uid')}) DO NOTHING" if skip_taken else "")
        + f" RETURNING {qn(str(model._meta.pk.column))}"
    )
    return statement, [(fl.attname, _copy_value(fl), fl) for fl in fields]


def row_insert_new(
    model: type[SyncedRow], row: dict[str, Any], *, auto_now: Any, skip_taken: bool = True
) -> int | None:
    """Insert one row (``attname -> value``, as ``rows_insert`` takes them) unless the person already has
    its id: the new row's pk, or None (PostgreSQL; the model has a unique constraint on user and uid).
    One statement built once per model: a REST create through the ORM spent more CPU building its
    INSERT (and the SELECT before it) than the database spent running them. Without ``skip_taken`` a
    taken id raises IntegrityError, as ``rows_insert`` does."""
    statement, getters = _insert_one(model, skip_taken=skip_taken)
    params = []
    for name, prep, fl in getters:
        value = row[name] if name in row else auto_now if getattr(fl, "auto_now", False) else fl.get_default()
        params.append(value if prep is None else prep(value))
    with connection.wrap_database_errors, connection.cursor() as cursor:
        cursor.execute(statement, params)
        found = cursor.fetchone()
    return None if found is None else int(found[0])


UPDATE_BATCH = 500


@cache
def _update_columns(
    model: type[SyncedRow], names: tuple[str, ...]
) -> tuple[str, str, list[tuple[str, Callable[[Any], Any] | None]]]:
    """For ``rows_update``: the statement, with ``{}`` where its VALUES rows go; one row's placeholders
    (each cast to its column's type: a VALUES list takes its types from the values, and a NULL alone
    would be text); and how each value is read off a row and prepared."""
    qn = connection.ops.quote_name
    pk: Any = model._meta.pk
    fields: list[Any] = [pk, *(model._meta.get_field(name) for name in names)]
    columns = [qn(fl.column) for fl in fields]
    table = qn(model._meta.db_table)
    head = f"UPDATE {table} AS t SET {', '.join(f'{c} = v.{c}' for c in columns[1:])} FROM (VALUES "
    tail = f") AS v ({', '.join(columns)}) WHERE t.{columns[0]} = v.{columns[0]}"
    marks = "(" + ", ".join(f"%s::{fl.rel_db_type(connection) if fl.is_relation else fl.db_type(connection)}"
                            for fl in fields) + ")"  # fmt: skip
    return head + "{}" + tail, marks, [(fl.attname, _copy_value(fl)) for fl in fields]


def rows_update(model: type[SyncedRow], rows: list[SyncedRow], columns: list[str]) -> None:
    """Save ``columns`` of stored rows (built with their pk).

    On PostgreSQL one ``UPDATE ... FROM (VALUES ...)`` per UPDATE_BATCH rows, the statement built once per
    model and columns: Django's ``bulk_update`` builds a CASE expression per column through the ORM, and
    that was half of the web worker's time in a push that amends an episode or marks a notification read
    (bench/load.py's profile)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, columns, batch_size=UPDATE_BATCH)
        return
    statement, marks, getters = _update_columns(model, tuple(columns))
    with connection.wrap_database_errors, connection.cursor() as cursor:
        for start in range(0, len(rows), UPDATE_BATCH):
            batch = rows[start : start + UPDATE_BATCH]
            params: list[Any] = []
            for row in batch:
                for name, prep in getters:
                    value = getattr(row, name)
                    params.append(value if prep is None else prep(value))
            cursor.execute(statement.format(", ".join([marks] * len(batch))), params)
