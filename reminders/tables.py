"""The synced reminders table: what the write path needs to know about it."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from diary.accounts.models import User
from diary.sync.tables import TableDef
from reminders.models import ReminderRule
from reminders.selectors import adaptive_days
from reminders.spec import REMINDER
from reminders.timing import rule_next_fire

MAX_RULES = 50


def _schedule(values: dict[str, Any], user: User) -> dict[str, Any]:
    """Every write of a rule recomputes when it fires next (and drops a pending snooze)."""
    upcoming = rule_next_fire(values, user, after=timezone.now(), adaptive_days=adaptive_days(user, values))
    return {"next_fire_at": upcoming, "snooze_until": None}


REMINDERS = TableDef(
    name="reminders",
    model=ReminderRule,
    spec=REMINDER,
    erase_on_delete={"label": None, "next_fire_at": None, "snooze_until": None},
    derive=_schedule,
    derived=("next_fire_at", "snooze_until"),
    max_live_rows=MAX_RULES,
)
