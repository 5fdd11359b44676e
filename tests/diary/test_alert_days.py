"""Issue 14 end to end (PostgreSQL, REST writes, the outbox): no trend alarm without a diary that covers
the earlier period (item 1); window rules judged on the person's own local days whatever the account
zone says, and backlogs and the daily sweep counted in local days (item 5). The pure edges are in
test_alert_history.py.

The clock is fixed at 2026-11-20 00:00 UTC (ticking): Berlin 01:00 on 11-20, Honolulu 14:00 on 11-19,
Auckland (NZDT) 13:00 on 11-20.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine

from diary.accounts.models import User
from diary.alerts.catalogue import BOUNDS
from diary.alerts.selectors import sweep_people
from diary.alerts.tasks import ONGOING_LOOKBACK
from tests.conftest import client_for, make_user, run_outbox
from tests.diary.test_alerts import alerts, log

NOW = dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC)
BER, HNL, AKL = "Europe/Berlin", "Pacific/Honolulu", "Pacific/Auckland"
TODAY_BER = dt.date(2026, 11, 20)


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


def local(day: dt.date, hhmm: str, tz: str) -> str:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(tz)).isoformat()


def back(days: int) -> dt.date:
    return TODAY_BER - dt.timedelta(days=days)


def rules(user: User) -> list[str]:
    return sorted(a.rule for a in alerts(user))


def log_days(user: User, n: int, days: int, tz: str = BER, newest: dt.date = TODAY_BER) -> None:
    """``n`` episodes over ``days`` local days ending ``newest`` (the first on the oldest), before now."""
    for i in range(n):
        day = newest - dt.timedelta(days=days - 1 - i % days)
        log(user, started_at=local(day, f"00:{10 + i // days:02d}", tz), tz=tz)


# --------------------------------------------------------------------------------------------------
# Item 1: trends need history


@pytest.mark.django_db
@pytest.mark.usefixtures("clock")
class TestTrendNeedsHistory:
    @pytest.mark.parametrize(("n", "days"), [(5, 4), (10, 7), (20, 14)])
    def test_a_new_person_gets_no_trend_alert(self, n: int, days: int) -> None:
        person = make_user(timezone=BER)  # registered now
        log_days(person, n, days)
        run_outbox()
        assert "persistent" not in rules(person)
        assert ("frequent" in rules(person)) is (n >= 10)  # what the entries do show is still said

    def test_28_days_of_history_and_a_real_rise_alert(self) -> None:
        person = make_user(timezone=BER)
        log(person, started_at=local(back(27), "00:30", BER), tz=BER)  # UTC: the day before
        log_days(person, 10, 3)
        run_outbox()
        (alert,) = [a for a in alerts(person) if a.rule == "persistent"]
        assert alert.numbers["rising"] is True and alert.numbers["trend_covered"] is True
        assert (alert.numbers["earlier_episodes"], alert.numbers["recent_episodes"]) == (1, 10)

    @pytest.mark.parametrize(("first", "fires"), [(27, True), (26, False)])
    def test_the_boundary_day_exactly_covered_or_one_day_short(self, first: int, fires: bool) -> None:
        person = make_user(timezone=BER)
        # the diary's first entry, in the first minutes of a Berlin day (the previous UTC day): on the
        # earlier period's first local day (1 vs 10, p = 0.006), or on the day after it
        log(person, started_at=local(back(first), "00:05", BER), tz=BER)
        log_days(person, 10, 3)
        run_outbox()
        persistent = [a for a in alerts(person) if a.rule == "persistent"]
        assert bool(persistent) is fires
        if fires:
            assert persistent[0].numbers["trend_covered"] is True

    def test_an_old_account_without_entries_before_is_not_a_covered_diary(self) -> None:
        person = make_user(timezone=BER)
        User.objects.filter(pk=person.pk).update(date_joined=NOW - dt.timedelta(days=90))
        log_days(person, 5, 2)
        run_outbox()
        assert "persistent" not in rules(person)

    def test_episodes_imported_from_before_the_account_cover_it(self) -> None:
        person = make_user(timezone=BER)  # registered now, syncing a diary kept on the phone
        log(person, started_at=local(back(40), "12:00", BER), tz=BER)
        log_days(person, 5, 2)
        run_outbox()
        assert "persistent" in rules(person)

    def test_a_check_in_on_the_earlier_periods_first_day_covers_it(self) -> None:
        person = make_user(timezone=BER)
        r = client_for(person).put(f"/api/v1/checkins/{back(27)}", {"fluid_changes": False}, format="json")
        assert r.status_code in (200, 201), r.content
        log_days(person, 5, 2)
        run_outbox()
        assert "persistent" in rules(person)

    def test_a_deleted_first_entry_does_not_cover(self) -> None:
        person = make_user(timezone=BER)
        uid = log(person, started_at=local(back(30), "12:00", BER), tz=BER)["id"]
        client_for(person).delete(f"/api/v1/episodes/{uid}")
        log_days(person, 5, 2)
        run_outbox()
        assert "persistent" not in rules(person)


# --------------------------------------------------------------------------------------------------
# Item 5: whose day


@pytest.mark.django_db
@pytest.mark.usefixtures("clock")
class TestWhoseDay:
    def test_auckland_days_under_a_honolulu_account_alert(self) -> None:
        person = make_user(timezone=HNL)  # no device zone reported
        log_days(person, 5, 5, tz=AKL, newest=dt.date(2026, 11, 20))  # Auckland 11-16 .. 11-20, 00:10 local
        run_outbox()
        (alert,) = [a for a in alerts(person) if a.rule == "frequent"]
        assert alert.numbers["days_with_episodes"] == 5

    def test_honolulu_days_under_an_auckland_account_alert(self) -> None:
        person = make_user(timezone=AKL)
        # Honolulu 11-13 .. 11-17 at 12:00, synced two days later: Auckland's last 7 days hold 4 of them
        for i in range(5):
            log(person, started_at=local(dt.date(2026, 11, 13) + dt.timedelta(days=i), "12:00", HNL), tz=HNL)
        run_outbox()
        (alert,) = [a for a in alerts(person) if a.rule == "frequent"]
        assert alert.numbers["days_with_episodes"] == 5

    def test_a_dst_change_week_counts_local_days(self) -> None:
        # Berlin left summer time on 2026-10-25: the week 10-25 .. 10-31 has 169 hours
        with time_machine.travel(dt.datetime(2026, 10, 31, 23, 55, tzinfo=ZoneInfo(BER)), tick=True):
            person = make_user(timezone=BER)
            log(person, started_at=local(dt.date(2026, 10, 25), "00:10", BER), tz=BER, pain=9)  # 7 d 0 h 45 m ago
            log(person, started_at=local(dt.date(2026, 10, 24), "23:50", BER), tz=BER, pain=10)  # the 8th day back
            for i in range(1, 5):
                log(person, started_at=local(dt.date(2026, 10, 25) + dt.timedelta(days=i), "00:10", BER), tz=BER)
            run_outbox()
            severe = [a.numbers["pain"] for a in alerts(person) if a.rule == "severe_pain"]
            assert severe == [9]  # this week's first hour alarms; the day before it is a backlog
            (frequent,) = [a for a in alerts(person) if a.rule == "frequent"]
            assert frequent.numbers["days_with_episodes"] == 5


@pytest.mark.django_db
def test_the_daily_sweep_reads_the_longest_history_in_local_days() -> None:
    with time_machine.travel(NOW, tick=True):
        far = make_user()  # only an episode 33 local days back: persistent held 28 days reads it
        log(far, started_at=local(back(33), "00:30", BER), tz=BER)
        checked_in = make_user()  # only check-ins
        client_for(checked_in).put(f"/api/v1/checkins/{back(2)}", {"fluid_changes": True}, format="json")
        gone = make_user()  # nothing any rule reads
        log(gone, started_at=local(back(40), "12:00", BER), tz=BER)
        assert sweep_people(dt.datetime.now(dt.UTC)) == sorted([far.pk, checked_in.pk])


def test_ongoing_episodes_are_swept_as_long_as_the_longest_high_threshold() -> None:
    assert dt.timedelta(minutes=BOUNDS["long_high_min"][1]) < ONGOING_LOOKBACK
