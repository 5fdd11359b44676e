"""What diary writes mean for reminders (outbox handlers: run after commit, idempotent)."""

from __future__ import annotations

from typing import Any

from diary.accounts.models import User
from diary.outbox.registry import CHECKIN_WRITTEN, EPISODE_WRITTEN, handles
from reminders.models import ReminderRule
from reminders.services import reminders_reschedule
from reminders.suggestions import night_stretch_suggest


@handles(CHECKIN_WRITTEN)
def checkin_written(user_id: int, payload: dict[str, Any]) -> None:
    """A check-in saying hot weather or hard exercise shortens adaptive hydration intervals (and
    correcting it lengthens them again)."""
    adaptive_reschedule(user_id=user_id)


def adaptive_reschedule(*, user_id: int) -> None:
    """Recompute the person's adaptive hydration rules (their check-in or their insights changed)."""
    adaptive = list(
        ReminderRule.objects.filter(
            user_id=user_id, deleted_at__isnull=True, enabled=True, adaptive=True, kind="hydration",
            schedule="interval",
        ).values_list("uid", flat=True)
    )  # fmt: skip
    if adaptive:
        reminders_reschedule(user=User.objects.get(pk=user_id), uids=adaptive)


@handles(EPISODE_WRITTEN)
def episode_written(user_id: int, payload: dict[str, Any]) -> None:
    if payload.get("deleted"):
        return
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        night_stretch_suggest(user=user)
