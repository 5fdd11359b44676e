"""Which handlers each topic has: the one routing table, readable in one place.

A handler is ``fn(user_id, payload)``. It is named here by dotted path, as Django's ``MIDDLEWARE``
names its classes, so that this base module never imports the features that act on its topics:
features import the base (to raise a topic), the base names features only as strings, and the
dependencies point one way. Paths are resolved on first use and cached; the system check in
``diary/outbox/checks.py`` (``manage.py check``, run by the suite) resolves them all, so a typo
fails at start-up rather than in a worker.

Two tables, by when the handlers run:

- ``AFTER_COMMIT`` (the outbox): ``outbox_enqueue`` stores the intent in the write's transaction
  and a worker runs the handlers after commit, at least once (handlers must be idempotent). For
  work that may lag the write: red flags, insights, mail, reminders that follow the diary.
- ``IN_TRANSACTION``: ``topic_run`` calls the handlers at once, inside the caller's transaction, so
  they commit or roll back with it. For steps whose result the caller's answer already shows (a
  new account's default reminders are in the first pull) or that must never lag it (a revoked
  share's thresholds stop applying when the revoke commits).

Payloads: write topics carry ``{"uids": [...]}``; one REST write names one row, one sync push names
every row it wrote in that table; deletions (REST or push) come apart, as ``{"uids": [...], "deleted": true}``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.utils.module_loading import import_string

Handler = Callable[[int, dict[str, Any]], None]

# After commit, through the outbox.
EPISODE_WRITTEN = "episode.written"
CHECKIN_WRITTEN = "checkin.written"
NOTIFICATION_UPDATED = "notification.updated"  # the person answered: done, snoozed, dismissed (not a receipt alone)
ALERT_CLINICIANS = "alert.clinicians"  # email the clinicians who share this person's alerts
ALERT_CONTACT = "alert.contact"  # email the person's emergency contact
INSIGHTS_CHANGED = "insights.changed"  # a new snapshot changed what adaptive reminders follow
PASSWORD_RESET = "account.password_reset"  # noqa: S105  # nosec B105  (a topic, not a secret)

# In the caller's transaction.
ACCOUNT_REGISTERED = "account.registered"  # payload {"defaults": bool}: the default reminders
ACCOUNT_SCHEDULE_CHANGED = "account.schedule_changed"  # zone or waking hours changed
ACCOUNT_CLINICIAN = "account.clinician"  # the account became a clinician's
SHARE_REVOKED = "share.revoked"  # payload {"clinician": user id}

AFTER_COMMIT: dict[str, tuple[str, ...]] = {
    EPISODE_WRITTEN: (
        "diary.alerts.handlers.episode_written",
        "diary.patterns.handlers.episode_written",
        "reminders.handlers.episode_written",
    ),
    CHECKIN_WRITTEN: (
        "diary.alerts.handlers.checkin_written",
        "diary.patterns.handlers.checkin_written",
        "reminders.handlers.checkin_written",
    ),
    NOTIFICATION_UPDATED: ("reminders.handlers.notification_answered",),
    ALERT_CLINICIANS: ("diary.alerts.handlers.email_clinicians",),
    ALERT_CONTACT: ("diary.alerts.handlers.email_contact",),
    INSIGHTS_CHANGED: ("reminders.handlers.insights_changed",),
    PASSWORD_RESET: ("diary.notifications.email.password_reset_send",),
}

# Red-flag evaluation and the emergency-contact email: each of these handlers' rows is published
# before the other handlers' rows of the same write, to the alerts Celery queue
# (settings.URGENT_QUEUE), ahead of insights, reminders and nightly work.
URGENT: frozenset[str] = frozenset({
    "diary.alerts.handlers.episode_written",
    "diary.alerts.handlers.checkin_written",
    "diary.alerts.handlers.email_contact",
})  # fmt: skip

IN_TRANSACTION: dict[str, tuple[str, ...]] = {
    ACCOUNT_REGISTERED: ("reminders.handlers.account_registered",),
    ACCOUNT_SCHEDULE_CHANGED: ("reminders.handlers.account_schedule_changed",),
    ACCOUNT_CLINICIAN: ("reminders.handlers.account_became_clinician",),
    SHARE_REVOKED: ("diary.alerts.handlers.share_revoked",),
}


@cache
def _resolve(paths: tuple[str, ...]) -> tuple[Handler, ...]:
    return tuple(import_string(path) for path in paths)


def handlers_for(topic: str) -> tuple[Handler, ...]:
    """The handlers of an after-commit topic (none for a topic nobody routes)."""
    return _resolve(AFTER_COMMIT.get(topic, ()))


def paths_for(topic: str) -> tuple[str, ...]:
    """The handler paths of an after-commit topic, red-flag evaluation (``URGENT``) first: each
    becomes an outbox row of its own, so one failing handler never holds back another."""
    paths = AFTER_COMMIT.get(topic, ())
    return tuple(sorted(paths, key=lambda path: path not in URGENT))  # stable: table order otherwise


def handler_at(path: str) -> Handler:
    """The handler an outbox row names (raises ImportError if the path no longer resolves)."""
    (handler,) = _resolve((path,))
    return handler


def hooks_for(topic: str) -> tuple[Handler, ...]:
    """The handlers of an in-transaction topic."""
    return _resolve(IN_TRANSACTION.get(topic, ()))


def every_path() -> list[str]:
    return [path for table in (AFTER_COMMIT, IN_TRANSACTION) for paths in table.values() for path in paths]
