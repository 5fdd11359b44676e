"""The synced notifications table: what the write path needs to know about it."""

from __future__ import annotations

from diary.notifications.models import Notification
from diary.notifications.spec import NOTIFICATION
from diary.outbox.routes import NOTIFICATION_UPDATED
from diary.sync.tables import TableDef

# The person's answers (done, snoozed, ...) raise notification.updated: whoever raised the
# notification acts on them (diary/outbox/routes.py).
NOTIFICATIONS = TableDef(
    name="notifications", model=Notification, spec=NOTIFICATION, server_owned=True, topic=NOTIFICATION_UPDATED
)
