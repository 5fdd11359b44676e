"""What the write path needs to know about each synced table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from diary.core.fields import RecordSpec
from diary.sync.models import SyncedRow


@dataclass(frozen=True)
class TableDef:
    name: str
    model: type[SyncedRow]
    spec: RecordSpec
    # The outbox topic a write of this table raises (red flags, insights), if any.
    topic: str | None = None
    # Columns blanked when a row becomes a tombstone: free text and lists are the person's words.
    erase_on_delete: dict[str, Any] = field(default_factory=dict)
    # Server-owned tables (notifications, alerts): clients may not create rows and may set only the
    # spec's writable columns; ``client_update`` derives server columns from them (e.g. status).
    server_owned: bool = False
    client_update: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
