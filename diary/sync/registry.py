"""The synced tables, in the order the wire lists them (SYNC.md "Tables")."""

from __future__ import annotations

from diary.checkins.services import CHECKINS
from diary.episodes.services import EPISODES
from diary.sync.raw import RawRenderer
from diary.sync.tables import TableDef

# The tables every pull answer names. reminders, notifications and alerts are answered empty until
# their milestones add models (they are listed so clients always see the full shape).
WIRE_TABLES = ("episodes", "checkins", "reminders", "notifications", "alerts")
SYNCED: dict[str, TableDef] = {t.name: t for t in (EPISODES, CHECKINS)}
RENDERERS: dict[str, RawRenderer] = {name: RawRenderer(t) for name, t in SYNCED.items()}
SCHEMA_VERSION = 1
