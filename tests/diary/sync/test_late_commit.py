"""SYNC.md rule 1 under a real race: a write that commits late is never skipped by a pull."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from diary.episodes.models import Episode
from diary.episodes.services import episode_put
from tests.conftest import client_for, episode_body, make_user
from tests.diary.sync.helpers import pull


# PostgreSQL only: there a pull reads a snapshot beside an open write. On SQLite every transaction
# (IMMEDIATE) takes the one write lock, so the pull waits for the write and the race cannot happen.
@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_row_committed_after_a_pull_arrives_in_the_next_pull() -> None:
    user = make_user()
    api = client_for(user)
    written, release, done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                episode_put(user=user, uid="late", data=episode_body())
                written.set()
                release.wait(15)  # the transaction stays open while the pull runs
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()
            done.set()

    threading.Thread(target=slow_writer).start()
    assert written.wait(15)
    pulled_at = dt.datetime.now(dt.UTC)
    first = pull(api, None)  # runs while the write is uncommitted; must not block on it either
    assert first["changes"]["episodes"]["created"] == []
    assert first["timestamp"] == 1  # complete up to the last committed stamp only
    release.set()
    assert done.wait(15) and not errors, errors

    second = pull(api, first["timestamp"])
    assert [e["id"] for e in second["changes"]["episodes"]["updated"]] == ["late"]

    # A wall-clock cursor ("rows modified after the time of the last pull") would have lost it:
    # the row's modification time is from before that pull, because it was stamped before commit.
    row = Episode.objects.get(uid="late")
    assert row.server_updated_at < pulled_at
    assert not Episode.objects.filter(user=user, server_updated_at__gt=pulled_at).exists()
