"""Tombstone retention: purged deletions raise the watermark; a stale cursor gets a replacement."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from diary.episodes.models import Episode
from diary.sync import tasks
from diary.sync.models import SyncState
from tests.conftest import client_for, make_user
from tests.diary.sync.helpers import changes, pull, push, raw_episode

pytestmark = pytest.mark.django_db


def test_purge_then_a_stale_cursor_gets_a_full_replacement_never_cut_by_limit(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SYNC_TOMBSTONE_DAYS = 180
    user = make_user()
    api: APIClient = client_for(user)
    push(api, 1, changes(episodes={"created": [raw_episode(f"k{i}") for i in range(5)] + [raw_episode("old")]}))
    stale_cursor = pull(api, None)["timestamp"]
    api.delete("/api/v1/episodes/old")
    Episode.objects.filter(uid="old").update(deleted_at=timezone.now() - dt.timedelta(days=181))
    api.delete("/api/v1/episodes/k4")  # a recent tombstone stays
    tombstone_seq = Episode.objects.get(uid="old").seq

    assert tasks.purge_tombstones() == 1  # the task as a function
    assert not Episode.objects.filter(uid="old").exists()
    assert Episode.objects.filter(uid="k4", deleted_at__isnull=False).exists()
    assert SyncState.objects.get(user=user).purge_watermark == tombstone_seq

    answer = pull(api, stale_cursor, limit=2)
    assert answer["experimentalStrategy"] == "replacement"
    assert "has_more" not in answer
    assert sorted(e["id"] for e in answer["changes"]["episodes"]["created"]) == ["k0", "k1", "k2", "k3"]
    assert answer["timestamp"] == SyncState.objects.get(user=user).seq
    # a cursor at or above the watermark is answered incrementally as usual
    fresh = pull(api, answer["timestamp"])
    assert "experimentalStrategy" not in fresh


def test_purge_is_idempotent_and_leaves_others_alone() -> None:
    user, other = make_user(), make_user()
    for person in (user, other):
        push(client_for(person), 1, changes(episodes={"created": [raw_episode("x")]}))
        client_for(person).delete("/api/v1/episodes/x")
    Episode.objects.filter(user=user).update(deleted_at=timezone.now() - dt.timedelta(days=400))
    assert tasks.purge_tombstones() == 1
    assert tasks.purge_tombstones() == 0
    assert Episode.objects.filter(user=other).exists()
    assert SyncState.objects.get(user=other).purge_watermark == 0
