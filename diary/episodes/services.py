"""Writes of episodes over REST, through the one write path (``diary.sync.writes``) the sync push also takes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diary.accounts.models import User
from diary.core.fields import REST
from diary.episodes.models import Episode
from diary.episodes.spec import EPISODE
from diary.outbox.routes import EPISODE_WRITTEN
from diary.sync.sequence import new_uid
from diary.sync.tables import TableDef
from diary.sync.writes import body_uid, check_uid, record_delete, record_write

EPISODES = TableDef(
    name="episodes",
    model=Episode,
    spec=EPISODE,
    topic=EPISODE_WRITTEN,
    erase_on_delete={"notes": None, "symptoms": [], "triggers": [], "relief": [], "relief_score": None},
    user_defaults=lambda user: {"tz": user.current_timezone},
)
# Keys a client may send back unchanged from a GET: ignored, never an "unknown field".
REST_READ_ONLY = frozenset({"id", "local_date"})


def episode_create(*, user: User, data: Mapping[str, Any], wire: str = REST) -> Episode:
    """Log a new episode. The client's ``id`` is used when given (409 if it exists)."""
    uid = check_uid(data["id"]) if data.get("id") is not None else new_uid()
    row, _ = record_write(
        table=EPISODES, user=user, uid=uid, data=data, wire=wire, mode="create", ignore=REST_READ_ONLY,
    )  # fmt: skip
    return row  # type: ignore[return-value]


def episode_put(*, user: User, uid: str, data: Mapping[str, Any], wire: str = REST) -> tuple[Episode, bool]:
    """Create or replace the episode ``uid`` (idempotent: what a retrying client needs)."""
    check_uid(uid)
    body_uid(data, uid)
    row, created = record_write(
        table=EPISODES, user=user, uid=uid, data=data, wire=wire, mode="put", ignore=REST_READ_ONLY,
    )  # fmt: skip
    return row, created  # type: ignore[return-value]


def episode_patch(*, user: User, uid: str, data: Mapping[str, Any], wire: str = REST) -> Episode:
    body_uid(data, uid)
    row, _ = record_write(
        table=EPISODES, user=user, uid=uid, data=data, wire=wire, mode="patch", ignore=REST_READ_ONLY,
    )  # fmt: skip
    return row  # type: ignore[return-value]


def episode_delete(*, user: User, uid: str) -> None:
    record_delete(table=EPISODES, user_id=user.pk, uid=uid)
