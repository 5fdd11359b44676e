"""Apply a validated push: lock, plan every table, refuse on conflict, write through the one write path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from diary.accounts.models import User
from diary.sync.push.plan import Outcome, client_owned_plan
from diary.sync.push.server_owned import server_owned_plan
from diary.sync.registry import SYNCED
from diary.sync.sequence import sequence_lock
from diary.sync.writes import rows_apply


class PushConflict(Exception):
    """Rows changed since the device last pulled (rule 3): 409, nothing applied."""

    def __init__(self, conflicts: dict[str, list[str]]):
        super().__init__(conflicts)
        self.conflicts = conflicts


def sync_push(*, user: User, last_pulled_at: int, changes: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, Any]:
    """Apply a validated changes object. Raises ``PushConflict`` (nothing applied) on a conflict."""
    outcome = Outcome()
    with transaction.atomic():
        sequence_lock(user_id=user.pk)  # lock order: the person's sequence row before any of their rows (rule 1)
        plans = [
            (server_owned_plan if SYNCED[name].server_owned else client_owned_plan)(
                table=SYNCED[name], user=user, last_pulled_at=last_pulled_at, sections=sections, outcome=outcome
            )
            for name, sections in changes.items()
            if name in SYNCED
        ]
        if outcome.conflicts:
            raise PushConflict(outcome.conflicts)
        for name, uids in rows_apply(user_id=user.pk, changes=plans).items():
            for uid in uids:
                outcome.reject(name, uid, "id", SYNCED[name].too_many)
    return {
        "ok": True,
        "experimentalRejectedIds": {table: list(ids) for table, ids in outcome.rejected.items()},
        "rejected": outcome.rejected,
    }
