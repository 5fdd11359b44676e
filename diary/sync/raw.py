"""Stored rows -> WatermelonDB raw records (ms times, JSON arrays as strings), built from the spec."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from django.db.models import BigIntegerField, CharField, F, Func, TextField, Value
from django.db.models.functions import Cast

from diary.core import fields as f
from diary.sync.tables import TableDef

Converter = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _instant(value: dt.datetime | None) -> int | None:
    return None if value is None else f.datetime_to_ms(value)


def _code_list(value: list[str] | None) -> str:
    return orjson.dumps(value or []).decode()


def _code_list_text(value: str | None) -> str:
    """A code list read as JSON text (no Python list from Django's JSONField): rendered as ``_code_list``."""
    return _code_list(None if value is None else orjson.loads(value))


def _date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _clock(value: dt.time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def converter(spec_field: f.Field) -> Converter:
    if isinstance(spec_field, f.Instant):
        return _instant
    if isinstance(spec_field, (f.CodeList, f.ValueList)):
        return _code_list
    if isinstance(spec_field, f.LocalDate):
        return _date
    if isinstance(spec_field, f.ClockTime):
        return _clock
    return _identity


class EpochMs(Func):
    """An instant as whole ms since the epoch (``datetime_to_ms``), computed by PostgreSQL: EXTRACT is exact
    (numeric) since PostgreSQL 14. Parsing a datetime per value in Python dominated large pulls."""

    template = "FLOOR(EXTRACT(EPOCH FROM %(expressions)s) * 1000)::bigint"
    output_field = BigIntegerField()


def _compact_list(text: str | None) -> str:
    """PostgreSQL's text of a JSON array (``["a", "b"]``, ``[0, 1]``) as ``_code_list`` writes it
    (``["a","b"]``), without parsing it when that is provably the same: no escapes, and every ``", "``
    replaced was a separator (one fewer than the strings) with none left over. Anything else is parsed."""
    if text is None:
        return "[]"
    if "\\" not in text:
        if '"' not in text:
            return text.replace(", ", ",")  # numbers only
        compact = text.replace('", "', '","')
        strings = text.count('"') // 2
        if len(text) - len(compact) == max(strings - 1, 0) and ", " not in compact:
            return compact
    return _code_list_text(text)


def _to_char(spec_field: f.Field, pattern: str) -> Func:
    return Func(F(spec_field.model_attr), Value(pattern), function="to_char", output_field=CharField())


def _pg_select(spec_field: f.Field) -> Any:
    if isinstance(spec_field, f.Instant):
        return EpochMs(spec_field.model_attr)
    if isinstance(spec_field, (f.CodeList, f.ValueList)):
        return Cast(spec_field.model_attr, TextField())  # JSON text: skips JSONField's json.loads per value
    if isinstance(spec_field, f.LocalDate):
        return _to_char(spec_field, "YYYY-MM-DD")
    if isinstance(spec_field, f.ClockTime):
        return _to_char(spec_field, "HH24:MI")
    return spec_field.model_attr


def _pg_converter(spec_field: f.Field) -> Converter | None:
    """What Python still does to a value PostgreSQL selected (``_pg_select``); None: nothing."""
    if isinstance(spec_field, (f.CodeList, f.ValueList)):
        return _compact_list
    return None


Renderer = Callable[[Sequence[Any]], dict[str, Any]]


class RawRenderer:
    """Renders ``values_list(*columns)`` tuples of one table; built once per table."""

    def __init__(self, table: TableDef):
        self.names = tuple(fl.name for fl in table.spec.fields)  # wire names: the keys of what it renders
        self.columns = ("uid", "seq", "deleted_at", *(fl.model_attr for fl in table.spec.fields))
        self._pairs = tuple((fl.name, converter(fl)) for fl in table.spec.fields)
        # What a pull selects on PostgreSQL: the database hands over wire-ready instants and JSON text.
        self._pg_columns = ("uid", "seq", "deleted_at", *(_pg_select(fl) for fl in table.spec.fields))
        self._pg_fixes = tuple((fl.name, conv) for fl in table.spec.fields if (conv := _pg_converter(fl)))

    def wire(self, vendor: str) -> tuple[tuple[Any, ...], Renderer]:
        """The ``values_list`` arguments for reading raw records on this database, and their renderer."""
        if vendor == "postgresql":
            return self._pg_columns, self._pg_record
        return self.columns, self.record

    def record(self, row: Sequence[Any]) -> dict[str, Any]:
        return self._render(self._pairs, row)

    def _pg_record(self, row: Sequence[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": row[0]}
        out.update(zip(self.names, row[3:], strict=True))
        for name, conv in self._pg_fixes:
            out[name] = conv(out[name])
        return out

    @staticmethod
    def _render(pairs: tuple[tuple[str, Converter], ...], row: Sequence[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": row[0]}
        for (name, conv), value in zip(pairs, row[3:], strict=True):
            out[name] = conv(value)
        return out

    def raw_values(self, stored: dict[str, Any]) -> dict[str, Any]:
        """Stored Python values (as ``values`` returns them) in their wire form."""
        return {name: conv(stored[name]) for name, conv in self._pairs}

    def values(self, row: Sequence[Any]) -> dict[str, Any]:
        """The stored values as Python objects, keyed by column (for comparisons in push)."""
        return dict(zip(self.names, row[3:], strict=True))
