"""The synced tables, in the order the wire lists them (SYNC.md "Tables").

The write path (push, pull, purge, the REST services) belongs to the base layer, while the tables
belong to the features above it. So the list names each table's ``TableDef`` by dotted path, as
Django's ``MIDDLEWARE`` names classes, and ``SYNCED`` resolves them on first use: this module is the
one place that says which tables sync, and importing it never imports a feature. (The other way,
moving the registry above the features, would have lifted push and pull, the heart of the base,
with it.) A new synced table: its ``TableDef`` beside the feature's services, one line here,
and SYNC.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import TypeVar

from django.utils.module_loading import import_string

from diary.sync.raw import RawRenderer
from diary.sync.tables import TableDef

TABLE_PATHS: dict[str, str] = {
    "episodes": "diary.episodes.services.EPISODES",
    "checkins": "diary.checkins.services.CHECKINS",
    "reminders": "reminders.tables.REMINDERS",
    "notifications": "diary.notifications.tables.NOTIFICATIONS",
    "alerts": "diary.alerts.tables.ALERTS",
}
WIRE_TABLES = tuple(TABLE_PATHS)
SCHEMA_VERSION = 1

V = TypeVar("V")


class _Lazy(Mapping[str, V]):
    """``name -> value`` over ``WIRE_TABLES``, built by ``build`` on first access (after Django has
    loaded the apps) and then cached."""

    def __init__(self, build: Callable[[], dict[str, V]]) -> None:
        self._build = build

    @cached_property
    def _values(self) -> dict[str, V]:
        return self._build()

    def __getitem__(self, name: str) -> V:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(WIRE_TABLES)

    def __len__(self) -> int:
        return len(WIRE_TABLES)


def _tables() -> dict[str, TableDef]:
    tables = {name: import_string(path) for name, path in TABLE_PATHS.items()}
    for name, table in tables.items():
        if not isinstance(table, TableDef) or table.name != name:
            raise TypeError(f"{TABLE_PATHS[name]} is not the TableDef of {name!r}")
    return tables


SYNCED: Mapping[str, TableDef] = _Lazy(_tables)
RENDERERS: Mapping[str, RawRenderer] = _Lazy(lambda: {name: RawRenderer(table) for name, table in SYNCED.items()})
