"""The synced tables, in the order the wire lists them (SYNC.md "Tables")."""

from __future__ import annotations

from diary.alerts.tables import ALERTS
from diary.checkins.services import CHECKINS
from diary.episodes.services import EPISODES
from diary.sync.raw import RawRenderer
from diary.sync.tables import TableDef
from reminders.tables import NOTIFICATIONS, REMINDERS

WIRE_TABLES = ("episodes", "checkins", "reminders", "notifications", "alerts")
SYNCED: dict[str, TableDef] = {t.name: t for t in (EPISODES, CHECKINS, REMINDERS, NOTIFICATIONS, ALERTS)}
RENDERERS: dict[str, RawRenderer] = {name: RawRenderer(t) for name, t in SYNCED.items()}
SCHEMA_VERSION = 1
