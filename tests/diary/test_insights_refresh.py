"""A diary write asks for an insights refresh only when it can change what the insights say
(selectors.insights_need_refresh): the analysis reads complete local days only, so today's own new rows
wait for the next day's refresh. Before, every write asked for one: at the load test's mix that was a
refresh a minute for every active person, about a third of the workers' CPU."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from diary.accounts.models import User
from diary.patterns.models import InsightsDue
from diary.patterns.services import insights_run
from tests.conftest import client_for, episode_body, make_user, run_outbox
from tests.diary.sync.helpers import changes, ms_ago, pull, push, raw_episode

pytestmark = pytest.mark.django_db

NOON_UTC = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)  # 14:00 in Berlin


def at(hours_ago: float) -> str:
    return (timezone.now() - dt.timedelta(hours=hours_ago)).isoformat()


def post_episode(user: User, **body: Any) -> str:
    uid = str(uuid.uuid4())
    answer = client_for(user).post("/api/v1/episodes", episode_body(id=uid, **body), format="json")
    assert answer.status_code == 201, answer.content
    return uid


def analysed_earlier(user: User) -> None:
    """The person's snapshot, computed ten minutes before now (rows written now are newer)."""
    with time_machine.travel(timezone.now() - dt.timedelta(minutes=10), tick=False):
        insights_run(user=user)


def due(user: User) -> bool:
    run_outbox()
    return InsightsDue.objects.filter(user=user).exists()


@time_machine.travel(NOON_UTC, tick=False)
def test_the_first_write_without_a_snapshot_asks_for_one(owner: User) -> None:
    post_episode(owner, started_at=at(1))
    assert due(owner)


@time_machine.travel(NOON_UTC, tick=False)
def test_a_new_episode_of_today_does_not_ask_for_a_refresh(owner: User) -> None:
    analysed_earlier(owner)
    post_episode(owner, started_at=at(1))  # 13:00 in Berlin: today, the day in progress
    assert not due(owner)


@time_machine.travel(NOON_UTC, tick=False)
def test_a_backfilled_episode_of_yesterday_asks_for_one(owner: User) -> None:
    insights_run(user=owner)
    post_episode(owner, started_at=at(20))  # 18:00 yesterday in Berlin
    assert due(owner)


@time_machine.travel(NOON_UTC, tick=False)
def test_check_ins_of_today_and_of_yesterday(owner: User) -> None:
    analysed_earlier(owner)
    api = client_for(owner)
    assert api.put("/api/v1/checkins/2026-07-01", {"water_ml": 900}, format="json").status_code in (200, 201)
    assert not due(owner)
    assert api.put("/api/v1/checkins/2026-06-30", {"water_ml": 900}, format="json").status_code in (200, 201)
    assert due(owner)


@time_machine.travel(NOON_UTC, tick=False)
def test_an_edit_of_a_row_the_snapshot_may_hold_asks_for_one(owner: User) -> None:
    """Created yesterday, then analysed, then moved to today: the snapshot still counts it on yesterday."""
    uid = post_episode(owner, started_at=at(20))
    run_outbox()
    with time_machine.travel(NOON_UTC + dt.timedelta(minutes=1), tick=False):
        insights_run(user=owner)
    InsightsDue.objects.all().delete()
    with time_machine.travel(NOON_UTC + dt.timedelta(minutes=5), tick=False):
        answer = client_for(owner).patch(f"/api/v1/episodes/{uid}", {"started_at": at(1)}, format="json")
        assert answer.status_code == 200, answer.content
        assert due(owner)


@time_machine.travel(NOON_UTC, tick=False)
def test_deleting_a_past_episode_asks_for_one_and_todays_does_not(owner: User) -> None:
    past, today = post_episode(owner, started_at=at(30)), None
    run_outbox()
    insights_run(user=owner)
    InsightsDue.objects.all().delete()
    with time_machine.travel(NOON_UTC + dt.timedelta(minutes=5), tick=False):
        today = post_episode(owner, started_at=at(1))
        assert not due(owner)
        assert client_for(owner).delete(f"/api/v1/episodes/{today}").status_code == 204
        assert not due(owner)
        assert client_for(owner).delete(f"/api/v1/episodes/{past}").status_code == 204
        assert due(owner)


@time_machine.travel(NOON_UTC, tick=False)
def test_once_a_local_day_has_ended_the_next_write_asks_for_one(owner: User) -> None:
    insights_run(user=owner)
    with time_machine.travel(NOON_UTC + dt.timedelta(days=1), tick=False):
        post_episode(owner, started_at=at(1))
        assert due(owner)


def test_today_is_the_persons_own_day_not_utcs() -> None:
    """At 10:00 UTC on July 1 (22:00 in Auckland, 03:00 in Los Angeles): in Auckland (UTC+12 in July)
    23:00 UTC on June 30 is 11:00 on July 1, today there though yesterday in UTC; in Los Angeles
    (UTC-7) 05:00 UTC on July 1 is 22:00 on June 30, a past day there though today in UTC."""
    now = dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        auckland = make_user(timezone="Pacific/Auckland")
        analysed_earlier(auckland)
        post_episode(auckland, started_at="2026-06-30T23:00:00+00:00", tz="Pacific/Auckland")
        assert not due(auckland)
        los_angeles = make_user(timezone="America/Los_Angeles")
        analysed_earlier(los_angeles)
        post_episode(los_angeles, started_at="2026-07-01T08:00:00+00:00", tz="America/Los_Angeles")
        assert not due(los_angeles)  # 01:00 on July 1 in Los Angeles: today there
        post_episode(los_angeles, started_at="2026-07-01T05:00:00+00:00", tz="America/Los_Angeles")
        assert due(los_angeles)  # 22:00 on June 30 in Los Angeles: a past day there, though today in UTC


def test_today_is_the_day_where_the_persons_phone_is_now() -> None:
    """Travelling: the phone reports Los Angeles, home is Auckland. At 13:00 UTC on July 1 it is 06:00 on
    July 1 there and 01:00 on July 2 at home: an episode of 05:00 that morning in Los Angeles is today's
    where the person is, so nothing asks for a refresh (judged by home, it would be a past day)."""
    with time_machine.travel(dt.datetime(2026, 7, 1, 13, 0, tzinfo=dt.UTC), tick=False):
        traveller = make_user(timezone="Pacific/Auckland")
        traveller.device_timezone = "America/Los_Angeles"
        traveller.save(update_fields=["device_timezone"])
        analysed_earlier(traveller)
        post_episode(traveller, started_at="2026-07-01T12:00:00+00:00", tz="America/Los_Angeles")
        assert not due(traveller)
        post_episode(traveller, started_at="2026-07-01T06:00:00+00:00", tz="America/Los_Angeles")
        assert due(traveller)  # 23:00 on June 30 in Los Angeles: a past day there


@time_machine.travel(NOON_UTC, tick=False)
def test_a_sync_push_of_todays_rows_does_not_ask_and_of_a_past_day_does(owner: User) -> None:
    analysed_earlier(owner)
    api = client_for(owner)
    last = pull(api, None)["timestamp"]
    with time_machine.travel(NOON_UTC + dt.timedelta(minutes=5), tick=False):
        made = {"created_at": ms_ago(seconds=1), "updated_at": ms_ago(seconds=1)}  # pushed as soon as made
        today = raw_episode(str(uuid.uuid4()), started_at=ms_ago(hours=1), **made)
        push(api, last, changes(episodes={"created": [today]}))
        assert not due(owner)
        offline = raw_episode(str(uuid.uuid4()), started_at=ms_ago(hours=1), created_at=ms_ago(minutes=30))
        push(api, last, changes(episodes={"created": [offline]}))
        assert due(owner)  # made before the snapshot, by the phone's clock: it may hold it
        InsightsDue.objects.all().delete()
        push(
            api,
            last,
            changes(episodes={"created": [raw_episode(str(uuid.uuid4()), started_at=ms_ago(hours=26), **made)]}),
        )
        assert due(owner)
