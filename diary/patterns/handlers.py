"""Diary writes schedule a debounced refresh of the person's insights (outbox handlers), when the
written rows can change them (selectors.insights_need_refresh: today's own rows cannot)."""

from __future__ import annotations

from typing import Any

from diary.patterns.selectors import insights_need_refresh
from diary.patterns.services import insights_request


def episode_written(user_id: int, payload: dict[str, Any]) -> None:
    if insights_need_refresh(user_id=user_id, episodes=payload.get("uids")):
        insights_request(user_id=user_id)


def checkin_written(user_id: int, payload: dict[str, Any]) -> None:
    if insights_need_refresh(user_id=user_id, checkins=payload.get("uids")):
        insights_request(user_id=user_id)
