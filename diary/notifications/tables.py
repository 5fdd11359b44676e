"""The synced notifications table: what the write path needs to know about it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diary.notifications.models import Notification
from diary.notifications.spec import NOTIFICATION
from diary.outbox.routes import NOTIFICATION_UPDATED
from diary.sync.tables import TableDef


def _answered(values: Mapping[str, Any]) -> bool:
    return values.get("action") is not None


# The person's answers (done, snoozed, dismissed) raise notification.updated: whoever raised the
# notification acts on them (diary/outbox/routes.py). A write that carries no answer, such as the
# delivery receipt a phone pushes for every notification it shows, raises nothing: no handler acts
# on it, and receipts were nearly half of the general worker's tasks under bench/load.py's crowd.
NOTIFICATIONS = TableDef(
    name="notifications",
    model=Notification,
    spec=NOTIFICATION,
    server_owned=True,
    topic=NOTIFICATION_UPDATED,
    topic_when=_answered,
)
