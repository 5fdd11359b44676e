"""Stored rows -> WatermelonDB raw records (ms times, JSON arrays as strings), built from the spec."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from diary.core import fields as f
from diary.sync.tables import TableDef

Converter = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _instant(value: dt.datetime | None) -> int | None:
    return None if value is None else f.datetime_to_ms(value)


def _code_list(value: list[str] | None) -> str:
    return orjson.dumps(value or []).decode()


def _date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _clock(value: dt.time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def converter(spec_field: f.Field) -> Converter:
    if isinstance(spec_field, f.Instant):
        return _instant
    if isinstance(spec_field, f.CodeList):
        return _code_list
    if isinstance(spec_field, f.LocalDate):
        return _date
    if isinstance(spec_field, f.ClockTime):
        return _clock
    return _identity


class RawRenderer:
    """Renders ``values_list(*columns)`` tuples of one table; built once per table."""

    def __init__(self, table: TableDef):
        self.names = tuple(fl.name for fl in table.spec.fields)
        self.columns = ("uid", "seq", "deleted_at", *self.names)
        self._pairs = tuple((fl.name, converter(fl)) for fl in table.spec.fields)

    def record(self, row: Sequence[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": row[0]}
        for (name, conv), value in zip(self._pairs, row[3:], strict=True):
            out[name] = conv(value)
        return out

    def values(self, row: Sequence[Any]) -> dict[str, Any]:
        """The stored values as Python objects, keyed by column (for comparisons in push)."""
        return dict(zip(self.names, row[3:], strict=True))
