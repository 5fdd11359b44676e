from __future__ import annotations

from diary.sync.tables import TableDef
from reminders.models import Notification, ReminderRule
from reminders.spec import NOTIFICATION, REMINDER

REMINDERS = TableDef(name="reminders", model=ReminderRule, spec=REMINDER)
NOTIFICATIONS = TableDef(name="notifications", model=Notification, spec=NOTIFICATION, server_owned=True)
