"""Diary writes schedule a debounced refresh of the person's insights (outbox handlers)."""

from __future__ import annotations

from typing import Any

from diary.patterns.services import insights_request


def diary_written(user_id: int, payload: dict[str, Any]) -> None:
    insights_request(user_id=user_id)
