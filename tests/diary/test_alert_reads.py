"""On PostgreSQL an evaluation reads the diary through statements written once (diary/alerts/selectors.py);
they must read exactly what the ORM's querysets, which SQLite uses, read."""

from __future__ import annotations

import datetime as dt

import pytest

from diary.accounts.models import User
from diary.alerts import selectors
from diary.alerts.catalogue import Thresholds
from diary.checkins.models import CheckIn
from diary.episodes.models import Episode
from tests.conftest import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.postgresql]

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _diary(user: User) -> None:
    for i, (symptoms, tz) in enumerate([([], "Europe/Berlin"), (["breathing_difficulty", "weakness"], "Asia/Tokyo"),
                                         (None, "America/New_York")] * 20):  # fmt: skip
        Episode.objects.create(
            user=user, uid=f"e{i}", seq=i + 1, kind="cramp", body_location="calf", pain=i % 11, tz=tz,
            started_at=NOW - dt.timedelta(days=i * 2, hours=i), duration_s=None if i % 4 else 60,
            symptoms=symptoms or [], side="left" if i % 2 else None,
            deleted_at=NOW if i % 9 == 8 else None, created_at=NOW, updated_at=NOW,
        )  # fmt: skip
    for i in range(12):
        CheckIn.objects.create(user=user, uid=f"c{i}", seq=100 + i, date=(NOW - dt.timedelta(days=3 * i)).date(),
                               fluid_changes=[True, False, None][i % 3], deleted_at=NOW if i == 1 else None,
                               created_at=NOW, updated_at=NOW)  # fmt: skip


def _orm(monkeypatch: pytest.MonkeyPatch, read):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setattr(selectors.connection, "vendor", "sqlite")
        return read()


def test_the_written_statements_read_what_the_querysets_read(monkeypatch: pytest.MonkeyPatch) -> None:
    user, empty = make_user(), make_user()
    _diary(user)
    uids = ["e1", "e8", "e17", "missing"]
    for person in (user, empty):
        for thresholds in (Thresholds(), selectors.LONGEST_HISTORY):
            fast = selectors.window_facts(person, thresholds, NOW)
            assert fast == _orm(monkeypatch, lambda p=person, t=thresholds: selectors.window_facts(p, t, NOW))
        fast_live = selectors.live_episode_facts(user_id=person.pk, uids=uids)
        assert fast_live == _orm(monkeypatch, lambda p=person: selectors.live_episode_facts(user_id=p.pk, uids=uids))
        assert selectors._firsts(person.pk) == _orm(monkeypatch, lambda p=person: selectors._firsts(p.pk))
    assert selectors.live_episode_facts(user_id=user.pk, uids=["e1"])["e1"].symptoms == {
        "breathing_difficulty",
        "weakness",
    }
    assert "e8" not in selectors.live_episode_facts(user_id=user.pk, uids=["e8"])  # deleted
