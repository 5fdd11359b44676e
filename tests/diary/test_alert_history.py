"""Issue 14, pure: a trend needs a diary that covers its earlier period (items 1), and "today" for the
window rules is the latest local day the person's data or zones imply, in both directions (item 5).
No database; the end-to-end versions are in test_alert_days.py.

``TODAY`` is 2024-04-09 as in test_alert_rules.py: the trend's earlier period starts on ``ago(27)``.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from diary.alerts.catalogue import Thresholds
from diary.alerts.days import earth_days, is_backlog, window_todays
from diary.alerts.evaluation import (
    EpisodeFacts,
    diary_covers,
    trend_earlier_start,
    window_findings,
    window_findings_as_of,
)
from tests.diary.test_alert_rules import LA, TODAY, ago, at, ep, many, window

DEFAULT_T = Thresholds()
HNL = "Pacific/Honolulu"
AKL = "Pacific/Auckland"


# --------------------------------------------------------------------------------------------------
# Item 1: trends need history


def test_the_earlier_period_starts_27_days_back() -> None:
    assert trend_earlier_start(TODAY) == ago(27)
    assert diary_covers(ago(27), ago(27)) and diary_covers(ago(40), ago(27))
    assert not diary_covers(ago(26), ago(27)) and not diary_covers(None, ago(27))


def spread(n: int, days: int) -> list[EpisodeFacts]:
    """``n`` episodes over the last ``days`` local days (the first on the oldest day), none before."""
    return [ep(ago(days - 1 - i % days), f"{8 + i // days:02d}:00") for i in range(n)]


@pytest.mark.parametrize(("n", "days"), [(5, 4), (10, 4), (10, 7), (20, 4), (20, 14)])
def test_a_new_person_gets_no_trend_alert(n: int, days: int) -> None:
    episodes = spread(n, days)
    first = min(e.started_at for e in episodes).astimezone(ZoneInfo("Australia/Adelaide")).date()
    assert first == ago(days - 1)
    found = window(episodes, diary_start=first)
    assert "persistent" not in found  # neither a trend nor frequent held 14 days of real diary
    # the same entries in a diary kept for two months: 0 before, n now is a significant rise
    assert window(episodes)["persistent"].numbers["rising"] is True


def test_the_reported_case_5_episodes_over_4_days_after_registering_today() -> None:
    episodes = many(2, ago(3)) + many(1, ago(2)) + many(2, TODAY)
    assert "persistent" not in window(episodes, diary_start=ago(3))
    assert "persistent" not in window(episodes, diary_start=None)  # no diary at all: never a trend


def test_28_days_of_history_and_a_real_rise_alert() -> None:
    episodes = [ep(ago(27)), *many(10, ago(3))]  # the first entry opens the earlier period: 1 vs 10
    f = window(episodes, diary_start=ago(27))["persistent"]
    assert f.numbers["rising"] is True and f.numbers["trend_covered"] is True
    assert (f.numbers["earlier_episodes"], f.numbers["recent_episodes"]) == (1, 10)
    assert "10 episodes in the 14 days from Wed 27 Mar to Tue 9 Apr, against 1 in the 14 days before" in f.evidence


@pytest.mark.parametrize(("diary_start", "fires"), [(ago(28), True), (ago(27), True), (ago(26), False)])
def test_the_boundary_day_exactly_covered_or_one_day_short(diary_start: dt.date, fires: bool) -> None:
    episodes = many(5, ago(2))  # 0 vs 5: p = 1/32
    found = window(episodes, diary_start=diary_start)
    assert ("persistent" in found) is fires
    if fires:
        assert found["persistent"].numbers["trend_covered"] is True


def test_an_empty_earlier_period_in_a_covered_diary_is_a_real_zero() -> None:
    # a check-in (or any entry) on the earlier period's first day, then nothing until the rise
    assert window(many(5, ago(2)), diary_start=ago(27))["persistent"].numbers["earlier_episodes"] == 0


def test_a_trend_that_is_not_covered_still_lets_the_streak_speak() -> None:
    # frequent held on each of the last 14 days by 10 episodes 13 days ago and 10 six days ago
    episodes = many(10, ago(13)) + many(10, ago(6))
    f = window(episodes, diary_start=ago(13))["persistent"]
    assert f.numbers["frequent_streak_days"] == 14 and f.numbers["rising"] is False
    assert f.evidence.startswith("frequent contractions on each of the 14 days from Wed 27 Mar to Tue 9 Apr")


@pytest.mark.parametrize(("first", "fires"), [(13, True), (12, False)])
def test_frequent_held_14_days_needs_14_days_of_real_diary(first: int, fires: bool) -> None:
    # 10 on the first day and 10 a week later: frequent holds on every day from the first on
    episodes = many(10, ago(first)) + many(10, ago(first - 7))
    found = window(episodes, diary_start=ago(first))
    assert ("persistent" in found) is fires
    # a diary_start later than the entries (a caller's promise) bounds the streak too
    assert "persistent" not in window(episodes, diary_start=ago(first - 1))


# --------------------------------------------------------------------------------------------------
# Item 5: whose day

# 2026-11-20 00:00 UTC: Honolulu (UTC-10) 11-19 14:00, Auckland (NZDT, UTC+13) 11-20 13:00.
NOW = dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC)
D = dt.date(2026, 11, 20)


def day(n: int) -> dt.date:
    return D - dt.timedelta(days=n)


def test_today_is_every_day_that_is_today_where_the_person_is() -> None:
    assert earth_days(NOW) == (day(1), D)
    assert window_todays(NOW, [HNL]) == (day(1),)
    assert window_todays(NOW, [HNL, AKL]) == (day(1), D)
    assert window_todays(NOW, [HNL, "", "Not/AZone"]) == (day(1),)  # blank and unknown names are skipped
    assert window_todays(NOW, ["", "Nowhere"]) == (day(0),)  # nothing usable: UTC
    # the newest check-in's date counts if it is today somewhere on Earth, never beyond UTC+14
    assert window_todays(NOW, [HNL], [day(3), D]) == (day(1), D)
    assert window_todays(NOW, [HNL], [D + dt.timedelta(days=1)]) == (day(1),)
    assert window_todays(NOW, [HNL], [day(2)]) == (day(1),)  # not today anywhere: the zones decide


def five_days(tz: str, newest: dt.date) -> list[EpisodeFacts]:
    return [ep(newest - dt.timedelta(days=i), "12:00", tz) for i in range(5)]


def test_auckland_data_under_a_honolulu_account_alerts() -> None:
    episodes = five_days(AKL, D)  # Auckland days 11-16 .. 11-20, the last at 11-19 23:00 UTC
    assert max(e.started_at for e in episodes) < NOW
    honolulu_only = window_findings(episodes, [], DEFAULT_T, day(1), diary_start=day(4))
    assert "frequent" not in {f.rule for f in honolulu_only}  # the account zone's day: 4 of 7
    todays = window_todays(NOW, [HNL, *{e.tz for e in episodes}])
    found = {f.rule: f for f in window_findings_as_of(episodes, [], DEFAULT_T, todays, diary_start=day(4))}
    assert found["frequent"].numbers["days_with_episodes"] == 5


def test_honolulu_data_under_an_auckland_account_alerts() -> None:
    episodes = five_days(HNL, day(3))  # Honolulu days 11-13 .. 11-17, synced late
    auckland_only = window_findings(episodes, [], DEFAULT_T, D, diary_start=day(7))
    assert "frequent" not in {f.rule for f in auckland_only}  # Auckland's last 7 days: 4 of them
    todays = window_todays(NOW, [AKL, *{e.tz for e in episodes}])
    assert todays == (day(1), D)
    found = {f.rule: f for f in window_findings_as_of(episodes, [], DEFAULT_T, todays, diary_start=day(7))}
    assert found["frequent"].numbers["days_with_episodes"] == 5


def test_the_finding_reported_is_the_one_as_of_the_latest_day() -> None:
    episodes = many(10, ago(1)) + many(1, TODAY)
    found = window_findings_as_of(episodes, [], DEFAULT_T, [ago(1), TODAY], diary_start=ago(60))
    (frequent,) = [f for f in found if f.rule == "frequent"]
    assert frequent.numbers["episodes"] == 11
    assert [f.rule for f in found] == ["frequent", "persistent"]  # catalogue order, one each


# 2024-10-27 03:00 CEST -> 02:00 CET in Berlin; 2024-11-03 02:00 PDT -> 01:00 PST in Los Angeles.
BER = "Europe/Berlin"


@pytest.mark.parametrize(
    ("started", "now", "backlog"),
    [
        # the first hour of the 7th local day back in a week with an extra hour: 169 h, still this week
        ("2024-10-24T00:10:00+02:00", "2024-10-30T23:55:00+01:00", False),
        ("2024-10-23T23:50:00+02:00", "2024-10-30T00:05:00+01:00", True),  # the 8th local day, < 7 x 24 h ago
        ("2024-10-23T12:30:00+02:00", "2024-10-30T12:00:00+01:00", True),  # the 8th local day back
        ("2024-10-24T00:00:00+02:00", "2024-10-30T00:00:00+01:00", False),
    ],
)
def test_backlog_is_counted_in_the_episodes_local_days(started: str, now: str, backlog: bool) -> None:
    assert is_backlog(dt.datetime.fromisoformat(started), BER, dt.datetime.fromisoformat(now)) is backlog


def test_a_dst_change_week_counts_local_days() -> None:
    # Five local days at 00:30 in Los Angeles across the change (the UTC date is the same day, +7 or +8 h)
    days = [dt.date(2024, 11, 1) + dt.timedelta(days=i) for i in range(5)]
    episodes = [ep(d, "00:30", LA) for d in days]
    now = dt.datetime(2024, 11, 7, 23, 45, tzinfo=ZoneInfo(LA))  # 11-01 .. 11-07: the 7 local days
    todays = window_todays(now, [LA])
    assert todays == (dt.date(2024, 11, 7),)
    found = {f.rule for f in window_findings_as_of(episodes, [], DEFAULT_T, todays, diary_start=days[0])}
    assert "frequent" in found
    # a week with an extra hour: the first episode is more than 7 x 24 h old, yet of this week
    assert now - episodes[0].started_at > dt.timedelta(days=7)
    assert is_backlog(episodes[0].started_at, LA, now) is False
    assert is_backlog(at(dt.date(2024, 10, 31), "23:59", LA), LA, now) is True
