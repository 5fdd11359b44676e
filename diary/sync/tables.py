"""What the write path needs to know about each synced table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from diary.core.fields import RecordSpec
from diary.sync.models import SyncedRow

if TYPE_CHECKING:
    from diary.accounts.models import User


@dataclass(frozen=True)
class TableDef:
    name: str
    model: type[SyncedRow]
    spec: RecordSpec
    # The outbox topic a write of this table raises (red flags, insights), if any; ``topic_when`` narrows it
    # to the written rows whose values its handlers act on (None: every row written). Deletes always raise it.
    topic: str | None = None
    topic_when: Callable[[Mapping[str, Any]], bool] | None = None
    # Columns blanked when a row becomes a tombstone: free text and lists are the person's words.
    erase_on_delete: dict[str, Any] = field(default_factory=dict)
    # Server-owned tables (notifications, alerts): clients may not create rows and may set only the
    # spec's writable columns; ``client_update`` derives server columns from them (e.g. status).
    server_owned: bool = False
    client_update: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    # How a user-facing message names one row ("check-in"); the table name less its "s" by default.
    noun: str = ""
    # The column that must equal the record's id (check-ins: their local date, SYNC.md rule 5).
    id_column: str | None = None
    # Values for columns a write left null, taken from the person (an episode's zone: where they are).
    user_defaults: Callable[[User], dict[str, Any]] = lambda user: {}
    # Server columns computed from a row's values on every write (a reminder's next fire time);
    # ``derived`` names them so a bulk update writes them too.
    derive: Callable[[dict[str, Any], User], dict[str, Any]] | None = None
    derived: tuple[str, ...] = ()
    # At most this many live rows per person (reminders: 50); a create beyond it is refused.
    max_live_rows: int | None = None

    @property
    def too_many(self) -> str:
        return f"at most {self.max_live_rows} {self.name} per person; delete one first"

    @property
    def label(self) -> str:
        return self.noun or self.name[:-1]

    def raises_topic(self, values: Mapping[str, Any]) -> bool:
        """Does writing a row with these values raise ``topic``?"""
        return self.topic is not None and (self.topic_when is None or self.topic_when(values))

    def fill_defaults(self, values: dict[str, Any], user: User) -> None:
        for key, default in self.user_defaults(user).items():
            if values.get(key) is None:
                values[key] = default
        if self.derive is not None:
            values.update(self.derive(values, user))
