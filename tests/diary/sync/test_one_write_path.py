"""REST and sync push write through one path (``diary.sync.writes``): the same events, one person over REST
and another over push, leave the same outbox payloads, the same stamps and the same live-row cap."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.checkins.models import CheckIn
from diary.checkins.services import CHECKINS
from diary.core.fields import now_ms
from diary.episodes.models import Episode
from diary.episodes.services import EPISODES
from diary.outbox import routes
from diary.outbox.models import OutboxEvent
from diary.sync.models import SyncedRow
from diary.sync.tables import TableDef
from reminders.models import ReminderRule
from reminders.tables import MAX_RULES, REMINDERS
from tests.conftest import client_for, episode_body, make_user
from tests.diary.sync.helpers import changes, pull, push, raw_checkin, raw_episode

pytestmark = pytest.mark.django_db

DAY = "2026-11-02"


class Rest:
    """Events over REST: PUT to create or replace, DELETE to delete."""

    def __init__(self, user: User, path: str, body: Callable[..., dict[str, Any]]):
        self.api, self.path, self.body = client_for(user), path, body

    def put(self, uid: str, **values: Any) -> None:
        r = self.api.put(f"{self.path}/{uid}", self.body(**values), format="json")
        assert r.status_code in (200, 201), r.content

    def delete(self, uid: str) -> None:
        assert self.api.delete(f"{self.path}/{uid}").status_code == 204


class Sync:
    """The same events as a WatermelonDB client pushes them, each after a pull."""

    def __init__(self, user: User, table: str, raw: Callable[..., dict[str, Any]]):
        self.api, self.table, self.raw = client_for(user), table, raw

    def _push(self, **section: list[Any]) -> dict[str, Any]:
        last = pull(self.api, None)["timestamp"]
        return push(self.api, last, changes(**{self.table: section}))

    def put(self, uid: str, **values: Any) -> None:
        assert self._push(updated=[self.raw(uid, **values)])["experimentalRejectedIds"] == {}

    def delete(self, uid: str) -> None:
        assert self._push(deleted=[uid])["experimentalRejectedIds"] == {}


# Each table: the model, its TableDef, the REST path and body, the raw record, a column an event changes.
CASES: dict[str, tuple[type[SyncedRow], TableDef, str, Callable[..., Any], Callable[..., Any], str]] = {
    "episodes": (Episode, EPISODES, "/api/v1/episodes", episode_body,
                 lambda uid, **v: raw_episode(uid, created_at=None, updated_at=None, **v), "pain"),
    "checkins": (CheckIn, CHECKINS, "/api/v1/checkins", lambda **v: {"notes": "long walk", "medications": ["statin"], **v},
                 lambda uid, **v: raw_checkin(uid, notes="long walk", medications='["statin"]', **v), "water_ml"),
}  # fmt: skip


def _stamps(row: SyncedRow, before: SyncedRow | None, table: TableDef, start: dt.datetime) -> dict[str, Any]:
    """What a write did to a row's stamps, in terms both paths must agree on."""
    created_at, updated_at = getattr(row, "created_at"), getattr(row, "updated_at")  # noqa: B009
    seen: dict[str, Any] = {
        "deleted": row.deleted_at is not None,
        "deleted_at_whole_ms": row.deleted_at is None or row.deleted_at.microsecond % 1000 == 0,
        "created_now": created_at >= start,
        "updated_now": updated_at >= start,
        "created_is_updated": created_at == updated_at,
        "erased": all(getattr(row, k) == v for k, v in table.erase_on_delete.items()),
    }
    if before is not None:
        seen["created_kept"] = created_at == getattr(before, "created_at")  # noqa: B009
        seen["seq_advanced"] = row.seq > before.seq
        seen["server_updated_at_advanced"] = row.server_updated_at > before.server_updated_at
    return seen


@pytest.mark.parametrize("name", CASES)
def test_the_same_events_over_rest_and_push_leave_the_same_payloads_and_stamps(name: str) -> None:
    model, table, path, body, raw, column = CASES[name]
    uid = DAY if name == "checkins" else "e1"
    rest_user, sync_user = make_user(), make_user()
    paths: dict[User, Rest | Sync] = {rest_user: Rest(rest_user, path, body), sync_user: Sync(sync_user, name, raw)}
    seen: dict[User, list[dict[str, Any]]] = {rest_user: [], sync_user: []}
    for user, writer in paths.items():
        before = None
        # Create; replace (created_at kept, updated_at now); delete (a tombstone); recreate (a new row's stamps).
        for value in (5, 7, None, 3):
            start = now_ms()  # what the write path stamps with: a later write stamps no earlier
            if value is None:
                writer.delete(uid)
            else:
                writer.put(uid, **{column: value})
            row = model._default_manager.get(user=user, uid=uid)
            seen[user].append(_stamps(row, before, table, start))
            before = row

    assert seen[rest_user] == seen[sync_user]
    created, replaced, deleted, recreated = seen[sync_user]
    assert created["created_is_updated"] and not created["deleted"]
    assert replaced["created_kept"] and replaced["updated_now"] and replaced["server_updated_at_advanced"]
    assert deleted["deleted"] and deleted["deleted_at_whole_ms"] and deleted["seq_advanced"]
    assert deleted["erased"] and not replaced["erased"]
    assert recreated["created_now"] and not recreated["created_kept"] and not recreated["deleted"]

    red_flags = OutboxEvent.objects.filter(handler__in=routes.URGENT)  # one row per handler: compare one handler's
    payloads = {u: list(red_flags.filter(user=u).order_by("pk").values_list("payload", flat=True)) for u in seen}
    assert payloads[rest_user] == payloads[sync_user] == [
        {"uids": [uid]}, {"uids": [uid]}, {"uids": [uid], "deleted": True}, {"uids": [uid]},
    ]  # fmt: skip


def test_one_push_names_its_written_rows_in_one_payload_and_its_deletions_in_another(api: APIClient) -> None:
    push(api, 0, changes(episodes={"created": [raw_episode("a"), raw_episode("b"), raw_episode("c")]}))
    last = pull(api, None)["timestamp"]
    OutboxEvent.objects.all().delete()
    push(api, last, changes(episodes={"updated": [raw_episode("a", pain=1), raw_episode("d")], "deleted": ["b", "c"]}))
    for handler in routes.AFTER_COMMIT[routes.EPISODE_WRITTEN]:  # each handler's rows carry the same payloads
        payloads = list(OutboxEvent.objects.filter(handler=handler).order_by("pk").values_list("payload", flat=True))
        assert payloads == [{"uids": ["d", "a"]}, {"uids": ["b", "c"], "deleted": True}], handler


RULE = {"kind": "hydration", "schedule": "interval", "interval_min": 60, "tz_mode": "device", "adaptive": False,
        "enabled": True}  # fmt: skip


def test_the_live_row_cap_is_the_same_over_rest_and_push() -> None:
    """Both paths count live rows, free room on a delete and count a recreated tombstone as a new row."""
    rest, sync = client_for(make_user()), client_for(make_user())
    seed = [{**RULE, "id": f"r{i}"} for i in range(MAX_RULES)]
    for api in (rest, sync):
        push(api, 0, changes(reminders={"created": seed}))
        api.delete("/api/v1/reminders/r0")  # a tombstone to recreate below

    # The last free place, then one past the limit.
    assert rest.put("/api/v1/reminders/n1", RULE, format="json").status_code == 201
    refused = rest.put("/api/v1/reminders/n2", RULE, format="json")
    assert refused.status_code == 400 and refused.json()["details"] == {"reminders": [REMINDERS.too_many]}
    answer = push(
        sync,
        pull(sync, None)["timestamp"],
        changes(reminders={"created": [{**RULE, "id": "n1"}, {**RULE, "id": "n2"}]}),
    )
    assert answer["rejected"] == {"reminders": {"n2": {"field": "id", "reason": REMINDERS.too_many}}}

    # A tombstoned id is a new row: refused at the limit, accepted once a delete makes room.
    assert rest.put("/api/v1/reminders/r0", RULE, format="json").status_code == 400
    answer = push(sync, pull(sync, None)["timestamp"], changes(reminders={"updated": [{**RULE, "id": "r0"}]}))
    assert answer["experimentalRejectedIds"] == {"reminders": ["r0"]}
    assert rest.delete("/api/v1/reminders/r1").status_code == 204
    assert rest.put("/api/v1/reminders/r0", RULE, format="json").status_code == 201
    answer = push(
        sync, pull(sync, None)["timestamp"], changes(reminders={"updated": [{**RULE, "id": "r0"}], "deleted": ["r1"]})
    )
    assert answer["experimentalRejectedIds"] == {}

    rest_live, sync_live = (
        sorted(ReminderRule.objects.filter(user=u, deleted_at__isnull=True).values_list("uid", flat=True))
        for u in User.objects.order_by("pk")
    )
    assert rest_live == sync_live and len(rest_live) == MAX_RULES
