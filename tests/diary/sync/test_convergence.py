"""Random interleavings of edits, deletes, pulls and pushes from 2-3 devices of one person
converge to the server state, with no lost update and no resurrected delete (SYNC.md rules 1-4).

Each device is a small model of WatermelonDB's client: per-record ``_status`` and changed
columns, pull-then-apply with per-column resolution (local changed columns win, a remote deletion
wins over local edits), push of pending changes with the cursor of its last pull, and on 200 the
pushed records become synced. Every request goes through the real endpoints."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from diary.episodes.models import Episode
from tests.conftest import client_for, make_user
from tests.diary.sync.helpers import changes, raw_episode

COLUMNS = ("pain", "notes")


@dataclass
class Local:
    values: dict[str, Any]
    status: str  # synced | created | updated | deleted
    changed: set[str] = field(default_factory=set)


@dataclass
class Device:
    api: APIClient
    records: dict[str, Local] = field(default_factory=dict)
    last: int | None = None

    def pull(self) -> None:
        r = self.api.get("/api/v1/sync/pull", {"last_pulled_at": self.last or "null", "schema_version": 1})
        assert r.status_code == 200
        answer = r.json()
        part = answer["changes"]["episodes"]
        for raw in part["created"] + part["updated"]:
            remote = {c: raw[c] for c in COLUMNS}
            local = self.records.get(raw["id"])
            if local is None:
                self.records[raw["id"]] = Local(remote, "synced")
            elif local.status == "synced":
                local.values = remote
            elif local.status in ("updated", "created"):
                for c in COLUMNS:  # WatermelonDB's default: locally changed columns win
                    if c not in local.changed:
                        local.values[c] = remote[c]
            # a locally deleted record ignores remote updates; its delete is pushed next
        for uid in part["deleted"]:
            self.records.pop(uid, None)  # a remote deletion wins over unsynced local edits
        self.last = answer["timestamp"]

    def push(self, pushed_log: list[tuple[str, str, int, int]]) -> int:
        if self.last is None:
            return 0
        created = [raw_episode(uid, **loc.values) for uid, loc in self.records.items() if loc.status == "created"]
        updated = [raw_episode(uid, **loc.values) for uid, loc in self.records.items() if loc.status == "updated"]
        deleted = [uid for uid, loc in self.records.items() if loc.status == "deleted"]
        if not (created or updated or deleted):
            return 200
        before = {e.uid: e.seq for e in Episode.objects.filter(uid__in=[*self.records])}
        body = changes(episodes={"created": created, "updated": updated, "deleted": deleted})
        r = self.api.generic(
            "POST", f"/api/v1/sync/push?last_pulled_at={self.last}", json.dumps(body), content_type="application/json"
        )
        assert r.status_code in (200, 409), r.content
        if r.status_code == 200:
            assert r.json()["experimentalRejectedIds"] == {}
            after = {e.uid: e.seq for e in Episode.objects.filter(uid__in=[*self.records])}
            for uid in [*(c["id"] for c in created), *(u["id"] for u in updated), *deleted]:
                # Only a row the push really changed is an overwrite. A record equal to the stored row
                # is an idempotent replay (rule 4): accepted, not written, whatever the cursor; the raw
                # records carry whole-second stamps, so whether two pushes are equal depends on timing.
                if after.get(uid) != before.get(uid):
                    pushed_log.append(("delete" if uid in deleted else "write", uid, before.get(uid, 0), self.last))
                if uid in deleted:
                    del self.records[uid]
                else:
                    self.records[uid].status, self.records[uid].changed = "synced", set()
        return r.status_code


ops = st.lists(
    st.tuples(
        # few records and many syncs, so devices keep touching the same rows (the races that matter)
        st.sampled_from(["create", "edit_pain", "edit_notes", "delete", "pull", "push", "push", "sync", "sync"]),
        st.integers(0, 2),  # device
        st.integers(0, 1),  # which record
        st.integers(0, 10),  # a value
    ),
    min_size=1,
    max_size=40,
)


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=ops, device_count=st.integers(2, 3))
# the classic race, always tried: B edits a row A changed after B's last pull, and pushes
@example(
    ops=[
        ("create", 0, 0, 1),
        ("sync", 0, 0, 0),
        ("sync", 1, 0, 0),
        ("edit_pain", 0, 0, 7),
        ("push", 0, 0, 0),
        ("edit_notes", 1, 0, 3),
        ("push", 1, 0, 0),
    ],
    device_count=2,
)
# and its delete twin: A deletes, B edits the stale row and pushes
@example(
    ops=[
        ("create", 0, 0, 1),
        ("sync", 0, 0, 0),
        ("sync", 1, 0, 0),
        ("delete", 0, 0, 0),
        ("push", 0, 0, 0),
        ("edit_pain", 1, 0, 3),
        ("push", 1, 0, 0),
    ],
    device_count=2,
)
def test_devices_converge_with_no_lost_update_and_no_resurrected_delete(
    ops: list[tuple[str, int, int, int]], device_count: int
) -> None:
    user = make_user()
    devices = [Device(client_for(user)) for _ in range(device_count)]
    ids = itertools.count()
    log: list[tuple[str, str, int, int]] = []
    server_deleted: set[str] = set()
    for op, d, pick, value in ops:
        dev = devices[d % device_count]
        live = sorted(uid for uid, loc in dev.records.items() if loc.status != "deleted")
        target = live[pick % len(live)] if live else None
        if op == "create":
            uid = f"u{user.pk}x{next(ids)}"
            dev.records[uid] = Local({"pain": value, "notes": f"n{value}"}, "created")
        elif op in ("edit_pain", "edit_notes") and target:
            column = op.removeprefix("edit_")
            loc = dev.records[target]
            loc.values[column] = value if column == "pain" else f"edit{value}"
            if loc.status == "synced":
                loc.status = "updated"
            loc.changed.add(column)
        elif op == "delete" and target:
            loc = dev.records[target]
            if loc.status == "created":
                del dev.records[target]  # never synced: nothing to tell the server
            else:
                loc.status = "deleted"
        elif op == "pull":
            dev.pull()
        elif op == "push":
            dev.push(log)
        elif op == "sync":
            dev.pull()
            dev.push(log)
        server_deleted |= set(Episode.objects.filter(user=user, deleted_at__isnull=False).values_list("uid", flat=True))
        # no resurrected delete: once deleted on the server, an id stays deleted
        assert not Episode.objects.filter(user=user, uid__in=server_deleted, deleted_at__isnull=True).exists()

    # no lost update: every accepted overwrite was made by a device that had seen the previous stamp
    for kind, _uid, previous_seq, cursor in log:
        assert previous_seq <= cursor, (kind, previous_seq, cursor)

    # settle: every device syncs until nothing is pending, then pulls once more
    for _ in range(4):
        for dev in devices:
            dev.pull()
            dev.push(log)
    for dev in devices:
        dev.pull()
    server = {
        e.uid: {"pain": e.pain, "notes": e.notes} for e in Episode.objects.filter(user=user, deleted_at__isnull=True)
    }
    for dev in devices:
        assert all(loc.status == "synced" for loc in dev.records.values())
        assert {uid: loc.values for uid, loc in dev.records.items()} == server
