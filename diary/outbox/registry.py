"""Topic -> handlers. Later features (red flags, insights) register what a write should trigger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Handler = Callable[[int, dict[str, Any]], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)

EPISODE_WRITTEN = "episode.written"
CHECKIN_WRITTEN = "checkin.written"


def handles(topic: str) -> Callable[[Handler], Handler]:
    """Register ``fn(user_id, payload)`` for a topic. Handlers must be idempotent.

    Write topics carry ``{"uids": [...]}``: one REST write names one row, one sync push names
    every row it wrote in that table (``"deleted": true`` for tombstones from REST deletes).
    """

    def register(fn: Handler) -> Handler:
        if fn not in _handlers[topic]:
            _handlers[topic].append(fn)
        return fn

    return register


def handlers_for(topic: str) -> list[Handler]:
    return list(_handlers.get(topic, ()))
