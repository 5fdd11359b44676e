"""Diary writes schedule a debounced refresh of the person's insights (outbox handlers)."""

from __future__ import annotations

from typing import Any

from diary.outbox.registry import CHECKIN_WRITTEN, EPISODE_WRITTEN, handles
from diary.patterns.services import insights_request


@handles(EPISODE_WRITTEN)
@handles(CHECKIN_WRITTEN)
def diary_written(user_id: int, payload: dict[str, Any]) -> None:
    insights_request(user_id=user_id)
