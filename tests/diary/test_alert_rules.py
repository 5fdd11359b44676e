"""Red-flag rules (DOMAIN.md section 4), pure: every rule at, just below and just above its threshold,
window rules over day boundaries in the person's own time zone, tuned thresholds. No database.

``TODAY`` is 2024-04-09. Adelaide is UTC+10:30 until 2024-04-07 03:00 local, then UTC+9:30; Los Angeles
is UTC-7 (PDT). So 00:30 in Adelaide is the previous UTC date, 23:30 in Los Angeles the next UTC date,
and the 7-day window (04-03..04-09) spans Adelaide's change of offset.
"""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diary import vocab
from diary.alerts.catalogue import (
    BOUNDS,
    PER_EPISODE_RULES,
    RULES,
    SEVERITIES,
    SEVERITY_RANK,
    THRESHOLD_NAMES,
    WINDOW_RULES,
    Thresholds,
    check_thresholds,
    most_sensitive,
)
from diary.alerts.evaluation import (
    CheckinFacts,
    EpisodeFacts,
    Finding,
    binomial_upper_tail,
    episode_findings,
    history_start,
    local_day,
    window_findings,
)
from diary.alerts.texts import GUIDANCE, format_duration
from diary.core import words

TODAY = dt.date(2024, 4, 9)
KEPT_SINCE = TODAY - dt.timedelta(days=60)  # the diary's first day unless a test says otherwise: two months back
NOW = dt.datetime(2024, 4, 9, 12, 0, tzinfo=ZoneInfo("Australia/Adelaide"))
ADL = "Australia/Adelaide"
LA = "America/Los_Angeles"
DEFAULT = Thresholds()
_uids = itertools.count(1)


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def at(day: dt.date, hhmm: str = "12:00", tz: str = ADL) -> dt.datetime:
    """The instant of a local wall time, expressed in UTC (as the database returns it)."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)


def ep(
    day: dt.date = TODAY,
    hhmm: str = "12:00",
    tz: str = ADL,
    *,
    kind: str = "cramp",
    loc: str = "calf",
    pain: int = 3,
    symptoms: Iterable[str] = (),
    duration_s: int | None = 60,
    started_at: dt.datetime | None = None,
) -> EpisodeFacts:
    return EpisodeFacts(
        uid=f"ep-{next(_uids)}",
        kind=kind,
        body_location=loc,
        started_at=started_at or at(day, hhmm, tz),
        tz=tz,
        duration_s=duration_s,
        pain=pain,
        symptoms=frozenset(symptoms),
    )


def many(n: int, day: dt.date = TODAY, **kw: object) -> list[EpisodeFacts]:
    return [ep(day, **kw) for _ in range(n)]  # type: ignore[arg-type]


def by_rule(findings: Sequence[Finding]) -> dict[str, Finding]:
    rules = [f.rule for f in findings]
    assert len(rules) == len(set(rules)), f"more than one finding per rule: {rules}"
    return {f.rule: f for f in findings}


def per_episode(e: EpisodeFacts, t: Thresholds = DEFAULT, now: dt.datetime = NOW) -> dict[str, Finding]:
    found = by_rule(episode_findings(e, t, now))
    assert all(f.episode_uid == e.uid for f in found.values())
    return found


def window(
    episodes: Sequence[EpisodeFacts] = (),
    checkins: Sequence[CheckinFacts] = (),
    t: Thresholds = DEFAULT,
    today: dt.date = TODAY,
    diary_start: dt.date | None = KEPT_SINCE,
) -> dict[str, Finding]:
    found = by_rule(window_findings(episodes, checkins, t, today, diary_start=diary_start))
    assert all(f.episode_uid is None for f in found.values())
    return found


def assert_finding(f: Finding, rule: str, severity: str) -> None:
    assert (f.rule, f.severity) == (rule, severity)
    assert (f.title, f.guidance) == (words.word("rule", rule), GUIDANCE[rule])
    assert f.evidence


# Instants at the edge of "the 7 local days ending today" (04-03..04-09): (started_at, tz, counts).
# Each one's UTC date differs from its local date, so counting by UTC day gets every one wrong.
EDGE_7 = [
    pytest.param(at(ago(6), "00:30", ADL), ADL, True, id="adelaide-00:30-day-7-utc-day-8"),
    pytest.param(at(ago(7), "23:30", LA), LA, False, id="los-angeles-23:30-day-8-utc-day-7"),
    pytest.param(at(ago(0), "23:30", LA), LA, True, id="los-angeles-23:30-today-utc-tomorrow"),
    pytest.param(at(ago(-1), "00:30", ADL), ADL, False, id="adelaide-00:30-tomorrow-utc-today"),
    pytest.param(at(ago(6), "00:00", LA), LA, True, id="los-angeles-midnight-day-7"),
    pytest.param(at(ago(7), "12:00", ADL), ADL, False, id="noon-day-8"),
]


def test_edge_instants_are_on_a_different_utc_date() -> None:
    for param in EDGE_7[:4]:
        started_at, tz, _ = param.values
        assert isinstance(started_at, dt.datetime) and isinstance(tz, str)
        assert started_at.date() != started_at.astimezone(ZoneInfo(tz)).date()


def test_local_day_is_the_day_in_the_episodes_own_zone() -> None:
    instant = dt.datetime(2024, 4, 10, 6, 30, tzinfo=dt.UTC)
    assert local_day(ep(started_at=instant, tz=LA)) == dt.date(2024, 4, 9)  # 23:30 PDT
    assert local_day(ep(started_at=instant, tz=ADL)) == dt.date(2024, 4, 10)  # 16:00 ACST
    instant = dt.datetime(2024, 4, 2, 14, 0, tzinfo=dt.UTC)
    assert local_day(ep(started_at=instant, tz=ADL)) == dt.date(2024, 4, 3)  # 00:30 ACDT
    with pytest.raises(ValueError, match="aware"):
        local_day(ep(started_at=dt.datetime(2024, 4, 9, 12, 0)))


def test_pure_module_imports_no_django() -> None:
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys; import diary.alerts.catalogue, diary.alerts.days, diary.alerts.evaluation, diary.alerts.texts; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework', 'celery')); "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_rule_table_matches_the_domain() -> None:
    assert set(RULES) == set(PER_EPISODE_RULES) | set(WINDOW_RULES)
    assert len(RULES) == 12
    assert SEVERITIES["breathing_difficulty"] == ("urgent",)
    assert SEVERITIES["long_episode"] == ("watch", "high")
    for rule in RULES:
        assert 0 < len(words.word("rule", rule)) <= 60
        assert len(GUIDANCE[rule]) <= 4000
        if "urgent" not in SEVERITIES[rule]:
            assert "not a diagnosis" in GUIDANCE[rule]


# --------------------------------------------------------------------------------------------------
# Per-episode rules


def test_breathing_difficulty_is_urgent_and_says_call_emergency_services() -> None:
    assert GUIDANCE["breathing_difficulty"].lower().count("call emergency services") == 1
    for loc, kind in [("chest", "spasm"), ("neck", "spasm"), ("calf", "cramp"), ("eyelid", "twitch")]:
        found = per_episode(ep(kind=kind, loc=loc, pain=0, symptoms={"breathing_difficulty"}))
        assert list(found) == ["breathing_difficulty"]
        f = found["breathing_difficulty"]
        assert_finding(f, "breathing_difficulty", "urgent")
        assert "emergency services" in f.guidance
        assert f.evidence == f"difficulty breathing with a {kind} in the {loc}"
    assert per_episode(ep(loc="chest", pain=0)) == {}


def test_breathing_difficulty_cannot_be_tuned_away() -> None:
    loosest = most_sensitive([{name: high for name, (_, high) in BOUNDS.items()}])
    found = per_episode(ep(pain=0, symptoms={"breathing_difficulty"}), loosest)
    assert found["breathing_difficulty"].severity == "urgent"


@pytest.mark.parametrize(("pain", "fires"), [(7, False), (8, True), (9, True)])
def test_severe_pain_at_below_above(pain: int, fires: bool) -> None:
    found = per_episode(ep(pain=pain))
    assert ("severe_pain" in found) is fires
    if fires:
        f = found["severe_pain"]
        assert_finding(f, "severe_pain", "high")
        assert f.evidence == f"pain {pain} out of 10 (threshold 8)"
        assert f.numbers == {"pain": pain, "threshold": 8}


@pytest.mark.parametrize(("pain", "fires"), [(5, False), (6, True), (7, True)])
def test_severe_pain_with_a_tuned_threshold(pain: int, fires: bool) -> None:
    t = most_sensitive([{"severe_pain": 6}])
    assert ("severe_pain" in per_episode(ep(pain=pain), t)) is fires


@pytest.mark.parametrize(
    ("symptoms", "rule", "severity"),
    [
        ({"weakness"}, "weakness", "high"),
        ({"numbness"}, "sensory_change", "high"),
        ({"tingling"}, "sensory_change", "high"),
        ({"swelling"}, "sensory_change", "high"),
        ({"numbness", "tingling", "swelling"}, "sensory_change", "high"),
        ({"skin_change"}, "skin_or_infection", "high"),
        ({"warmth_redness"}, "skin_or_infection", "high"),
        ({"cannot_move"}, "cannot_move", "high"),
        ({"visible_bulging"}, "appearance_change", "watch"),
    ],
)
def test_symptom_rules_present_and_absent(symptoms: set[str], rule: str, severity: str) -> None:
    found = per_episode(ep(pain=0, symptoms=symptoms))
    assert list(found) == [rule]
    assert_finding(found[rule], rule, severity)
    for code in symptoms:
        assert words.word("symptom", code) in found[rule].evidence and "_" not in found[rule].evidence
    assert found[rule].numbers["symptoms"] == sorted(symptoms)
    assert per_episode(ep(pain=0, symptoms={"lingering_pain"})) == {}  # a window rule, not per episode


def test_every_symptom_code_drives_a_rule() -> None:
    for code in vocab.SYMPTOMS:
        episodes = many(3, symptoms={code})
        assert per_episode(episodes[0]) or window(episodes), code


def test_two_rules_on_one_episode_give_two_findings_most_severe_first() -> None:
    e = ep(pain=9, symptoms={"weakness", "numbness", "breathing_difficulty"}, duration_s=45 * 60)
    found = episode_findings(e, DEFAULT, NOW)
    assert [f.rule for f in found] == [
        "breathing_difficulty",
        "weakness",
        "sensory_change",
        "severe_pain",
        "long_episode",
    ]
    ranks = [SEVERITY_RANK[f.severity] for f in found]
    assert ranks == sorted(ranks, reverse=True)


LONG_CASES = [
    (29 * 60 + 59, None, None),
    (30 * 60, "watch", "lasted 30 min (threshold 30 min)"),
    (30 * 60 + 1, "watch", "lasted 30 min 01 s (threshold 30 min)"),
    (119 * 60 + 59, "watch", "lasted 1 h 59 min 59 s (threshold 30 min)"),
    (120 * 60, "high", "lasted 2 h 00 min (threshold 2 h)"),
    (120 * 60 + 1, "high", "lasted 2 h 00 min 01 s (threshold 2 h)"),
    (125 * 60, "high", "lasted 2 h 05 min (threshold 2 h)"),
]


@pytest.mark.parametrize(("seconds", "severity", "evidence"), LONG_CASES)
def test_long_episode_at_below_above(seconds: int, severity: str | None, evidence: str | None) -> None:
    found = per_episode(ep(duration_s=seconds))
    if severity is None:
        assert found == {}
        return
    f = found["long_episode"]
    assert_finding(f, "long_episode", severity)
    assert f.evidence == evidence
    assert f.numbers == {
        "duration_s": seconds,
        "threshold_min": 30 if severity == "watch" else 120,
        "ongoing": False,
    }


@pytest.mark.parametrize(("seconds", "severity", "evidence"), LONG_CASES)
def test_ongoing_long_episode_counts_from_its_start_to_now(
    seconds: int, severity: str | None, evidence: str | None
) -> None:
    e = ep(started_at=NOW - dt.timedelta(seconds=seconds), duration_s=None)
    found = per_episode(e, now=NOW)
    if severity is None:
        assert found == {}
        return
    f = found["long_episode"]
    assert f.severity == severity and f.numbers["ongoing"] is True
    assert evidence is not None and f.evidence == evidence.replace("lasted", "still going on after")
    assert f.numbers["duration_s"] == seconds


@pytest.mark.parametrize(
    ("minutes", "severity"), [(9, None), (10, "watch"), (11, "watch"), (59, "watch"), (60, "high")]
)
def test_long_episode_with_tuned_thresholds(minutes: int, severity: str | None) -> None:
    t = most_sensitive([{"long_watch_min": 10}, {"long_high_min": 60, "long_watch_min": 20}])
    assert (t.long_watch_min, t.long_high_min) == (10, 60)
    f = per_episode(ep(duration_s=minutes * 60), t).get("long_episode")
    assert (f.severity if f else None) == severity


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 59, 60, 1799, 3600, 7500, 7501)] == [
        "0 min", "0 min 59 s", "1 min", "29 min 59 s", "1 h 00 min", "2 h 05 min", "2 h 05 min 01 s",
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# persistent_pain


@pytest.mark.parametrize(("n", "fires"), [(2, False), (3, True), (4, True)])
def test_persistent_pain_by_painful_episodes(n: int, fires: bool) -> None:
    episodes = [ep(ago(i), pain=7) for i in range(n)] + many(5, ago(1), pain=6)
    found = window(episodes)
    assert ("persistent_pain" in found) is fires
    if fires:
        f = found["persistent_pain"]
        assert_finding(f, "persistent_pain", "high")
        assert (
            f.evidence
            == f"{n} episodes with pain 7 out of 10 or more in the 7 days from Wed 3 Apr to Tue 9 Apr (threshold 3)"
        )
        assert f.numbers["painful_episodes"] == n


@pytest.mark.parametrize(("n", "fires"), [(1, False), (2, True), (3, True)])
def test_persistent_pain_by_lingering_pain(n: int, fires: bool) -> None:
    episodes = [ep(ago(2 * i), pain=2, symptoms={"lingering_pain"}) for i in range(n)]
    found = window(episodes)
    assert ("persistent_pain" in found) is fires
    if fires:
        assert (
            found["persistent_pain"].evidence
            == f"pain lingered after {n} episodes in the 7 days from Wed 3 Apr to Tue 9 Apr (threshold 2)"
        )


@pytest.mark.parametrize(("started_at", "tz", "counts"), EDGE_7)
def test_persistent_pain_window_edge_in_local_time(started_at: dt.datetime, tz: str, counts: bool) -> None:
    inside = [ep(ago(1), pain=8), ep(ago(3), pain=7)]
    edge = ep(started_at=started_at, tz=tz, pain=9)
    assert ("persistent_pain" in window([*inside, edge])) is counts
    lingering = [ep(ago(2), symptoms={"lingering_pain"}), ep(started_at=started_at, tz=tz, symptoms={"lingering_pain"})]
    assert ("persistent_pain" in window(lingering)) is counts


@pytest.mark.parametrize(("pain", "count", "fires"), [(5, 2, False), (5, 3, True), (4, 3, False)])
def test_persistent_pain_with_tuned_thresholds(pain: int, count: int, fires: bool) -> None:
    t = most_sensitive([{"persistent_pain": 5}, {"persistent_pain_count": 3}])
    assert ("persistent_pain" in window(many(count, ago(1), pain=pain), t=t)) is fires


# --------------------------------------------------------------------------------------------------
# frequent


@pytest.mark.parametrize(("n", "fires"), [(9, False), (10, True), (11, True)])
def test_frequent_by_episode_count(n: int, fires: bool) -> None:
    episodes = [ep(ago(i % 2 * 3)) for i in range(n)]  # on two days only
    found = window(episodes)
    assert ("frequent" in found) is fires
    if fires:
        f = found["frequent"]
        assert_finding(f, "frequent", "watch")
        assert f.evidence == f"{n} episodes in the 7 days from Wed 3 Apr to Tue 9 Apr (threshold 10)"
        assert (f.numbers["episodes"], f.numbers["days_with_episodes"]) == (n, 2)


@pytest.mark.parametrize(("days", "fires"), [(4, False), (5, True), (6, True)])
def test_frequent_by_days_with_episodes(days: int, fires: bool) -> None:
    found = window([ep(ago(6 - i)) for i in range(days)])  # one a day, starting at the window's first day
    assert ("frequent" in found) is fires
    if fires:
        assert (
            found["frequent"].evidence
            == f"episodes on {days} of the 7 days from Wed 3 Apr to Tue 9 Apr (threshold 5 days)"
        )


def test_frequent_both_conditions_give_one_finding() -> None:
    found = window([ep(ago(i)) for i in range(7)] + many(5))
    assert found["frequent"].evidence == (
        "12 episodes in the 7 days from Wed 3 Apr to Tue 9 Apr (threshold 10); episodes on 7 of the 7 days from Wed 3 Apr to Tue 9 Apr (threshold 5 days)"
    )


@pytest.mark.parametrize(("started_at", "tz", "counts"), EDGE_7)
def test_frequent_window_edge_in_local_time(started_at: dt.datetime, tz: str, counts: bool) -> None:
    episodes = [*many(9, ago(2)), ep(started_at=started_at, tz=tz)]
    assert ("frequent" in window(episodes)) is counts


@pytest.mark.parametrize(("day", "counts"), [(6, True), (7, False)])
def test_frequent_days_window_edge(day: int, counts: bool) -> None:
    episodes = [ep(ago(i), "23:30", LA) for i in range(4)] + [ep(ago(day), "00:30", ADL)]
    assert ("frequent" in window(episodes)) is counts


@pytest.mark.parametrize(("n", "fires"), [(2, False), (3, True)])
def test_frequent_with_two_clinicians_most_sensitive_wins(n: int, fires: bool) -> None:
    t = most_sensitive([{"frequent_count": 3}, {"frequent_count": 12, "frequent_days": 6}])
    assert (t.frequent_count, t.frequent_days) == (3, 6)
    assert ("frequent" in window(many(n, ago(1)), t=t)) is fires


# --------------------------------------------------------------------------------------------------
# persistent: frequent held for 14 consecutive days, or a rising trend over 28 days


def streak_history(held: int, today: dt.date = TODAY) -> list[EpisodeFacts]:
    """``frequent`` holds on exactly the last ``held`` days (by 5 days of 7), and there is no rising trend.

    One episode a day (23:30 in Los Angeles: the next UTC date) from ``held + 3`` days ago; a burst of
    20 episodes 27 days ago makes frequent hold a week long back then too (a separate, broken run) and
    keeps the older half of the 28 days busier than the recent half.
    """
    first = today - dt.timedelta(days=held + 3)
    daily = [ep(first + dt.timedelta(days=i), "23:30", LA) for i in range(held + 4)]
    return daily + many(20, today - dt.timedelta(days=27), hhmm="00:30", tz=ADL)


@pytest.mark.parametrize(("held", "fires"), [(13, False), (14, True), (15, True)])
def test_persistent_when_frequent_held_for_14_days(held: int, fires: bool) -> None:
    episodes = streak_history(held)
    # the construction: frequent, evaluated with each day as today, holds on the last `held` days only
    assert all("frequent" in window(episodes, today=ago(k)) for k in range(held))
    assert "frequent" not in window(episodes, today=ago(held))
    found = window(episodes)
    assert ("persistent" in found) is fires
    if fires:
        f = found["persistent"]
        assert_finding(f, "persistent", "high")
        first = {14: "Wed 27 Mar", 15: "Tue 26 Mar"}[held]
        assert (
            f.evidence
            == f"frequent contractions on each of the {held} days from {first} to Tue 9 Apr (threshold 14 days)"
        )
        assert f.numbers["frequent_streak_days"] == held
        assert f.numbers["rising"] is False


@pytest.mark.parametrize(("held", "fires"), [(6, False), (7, True), (8, True)])
def test_persistent_with_a_tuned_number_of_days(held: int, fires: bool) -> None:
    t = most_sensitive([{"persistent_days": 7}])
    assert ("persistent" in window(streak_history(held), t=t)) is fires


# (earlier, recent, P(X >= recent) for X ~ Binomial(earlier + recent, 1/2), written out by hand, fires)
TREND_CASES = [
    (0, 4, Fraction(1, 16), False),
    (0, 5, Fraction(1, 32), True),
    (3, 9, Fraction(220 + 66 + 12 + 1, 4096), False),  # C(12, 9..12)
    (2, 10, Fraction(66 + 12 + 1, 4096), True),  # C(12, 10..12)
    (6, 14, Fraction(38760 + 15504 + 4845 + 1140 + 190 + 20 + 1, 2**20), False),  # C(20, 14..20)
    (5, 15, Fraction(15504 + 4845 + 1140 + 190 + 20 + 1, 2**20), True),  # C(20, 15..20)
    (10, 10, Fraction(2**20 + 184756, 2 * 2**20), False),  # half of 2^20 plus half of C(20, 10)
    (9, 3, Fraction(220 + 495 + 792 + 924 + 792 + 495 + 220 + 66 + 12 + 1, 4096), False),  # falling
]


@pytest.mark.parametrize(("earlier", "recent", "p", "fires"), TREND_CASES)
def test_persistent_rising_trend_over_28_days(earlier: int, recent: int, p: Fraction, fires: bool) -> None:
    assert binomial_upper_tail(recent, earlier + recent) == pytest.approx(float(p), rel=1e-12)
    episodes = many(earlier, ago(20), hhmm="23:30", tz=LA) + many(recent, ago(1), hhmm="00:30", tz=ADL)
    found = window(episodes)
    assert ("persistent" in found) is fires
    if fires:
        f = found["persistent"]
        assert_finding(f, "persistent", "high")
        assert f.numbers["rising"] is True
        assert f.evidence.startswith(
            f"{recent} episodes in the 14 days from Wed 27 Mar to Tue 9 Apr, against {earlier}"
        )
        assert (f.numbers["earlier_episodes"], f.numbers["recent_episodes"]) == (earlier, recent)
        assert f.numbers["p_value"] == pytest.approx(float(p))
        assert f"p = {float(p):.4f}, below 0.05" in f.evidence


def test_binomial_tail_matches_a_published_value() -> None:
    # Binomial tables: P(X >= 15 | n = 20, p = 0.5) = 0.0207, P(X >= 14 | n = 20) = 0.0577
    assert round(binomial_upper_tail(15, 20), 4) == 0.0207
    assert round(binomial_upper_tail(14, 20), 4) == 0.0577
    assert binomial_upper_tail(0, 0) == 1.0


@pytest.mark.parametrize(
    ("moved", "tz", "fires"),
    [
        (at(ago(13), "00:30", ADL), ADL, True),  # oldest of the recent 14 local days (UTC: 14 days ago): 0 vs 5
        (at(ago(14), "23:30", LA), LA, False),  # newest of the earlier 14 (UTC: 13 days ago): 1 vs 4, p = 6/32
    ],
)
def test_trend_halves_split_on_local_days(moved: dt.datetime, tz: str, fires: bool) -> None:
    episodes = [*many(4, ago(3)), ep(started_at=moved, tz=tz)]
    assert ("persistent" in window(episodes)) is fires


@pytest.mark.parametrize(("old_day", "fires"), [(28, True), (27, False)])
def test_trend_looks_back_28_local_days(old_day: int, fires: bool) -> None:
    # 5 recent vs 5 on the 28th local day back (inside: 5 vs 5, no trend) or the 29th (outside: 0 vs 5,
    # p = 1/32); 23:30 in Los Angeles is the next UTC date, so counting UTC days would flip both.
    episodes = many(5, ago(2)) + many(5, ago(old_day), hhmm="23:30", tz=LA)
    assert ("persistent" in window(episodes)) is fires


# --------------------------------------------------------------------------------------------------
# fluid_changes


def checkins(days: Iterable[int], value: bool | None = True) -> list[CheckinFacts]:
    return [CheckinFacts(day=ago(d), fluid_changes=value) for d in days]


@pytest.mark.parametrize(("n", "fires"), [(2, False), (3, True), (4, True)])
def test_fluid_changes_at_below_above(n: int, fires: bool) -> None:
    rows = checkins(range(0, 2 * n, 2)) + checkins([1, 3, 5], False) + checkins([7, 9, 11]) + checkins([6], None)
    found = window(checkins=rows)
    assert ("fluid_changes" in found) is fires
    if fires:
        f = found["fluid_changes"]
        assert_finding(f, "fluid_changes", "watch")
        assert (
            f.evidence
            == f"signs of dehydration (darker or less urine, or a dry mouth) on {n} of the 7 days from Wed 3 Apr to Tue 9 Apr (threshold 3 days)"
        )
        assert f.numbers == {"days": n, "threshold": 3, "window_days": 7}


@pytest.mark.parametrize(("day", "counts"), [(-1, False), (0, True), (6, True), (7, False)])
def test_fluid_changes_window_edge(day: int, counts: bool) -> None:
    assert ("fluid_changes" in window(checkins=checkins([1, 2, day]))) is counts


def test_fluid_changes_counts_days_not_rows_and_can_be_tuned() -> None:
    assert "fluid_changes" not in window(checkins=checkins([1, 1, 1, 2]))
    t = most_sensitive([{"fluid_days": 1}, {"fluid_days": 5}])
    assert "fluid_changes" not in window(checkins=checkins([7]), t=t)
    assert "fluid_changes" in window(checkins=checkins([6]), t=t)


# --------------------------------------------------------------------------------------------------
# appearance_change: widespread twitching


def twitches(locations: Iterable[str], day: dt.date = TODAY, kind: str = "twitch") -> list[EpisodeFacts]:
    return [ep(day, kind=kind, loc=loc, pain=0) for loc in locations]


@pytest.mark.parametrize(
    ("locations", "fires"),
    [
        (["eyelid", "calf", "toes", "jaw"], False),  # 2 regions: head and neck, legs
        (["eyelid", "calf", "biceps"], True),  # 3
        (["eyelid", "calf", "biceps", "abdomen"], True),  # 4
    ],
)
def test_widespread_twitching_at_below_above(locations: list[str], fires: bool) -> None:
    found = window(twitches(locations, ago(3)) + twitches(["chest", "hand"], kind="cramp") + twitches(["other"]))
    assert ("appearance_change" in found) is fires
    if fires:
        f = found["appearance_change"]
        assert_finding(f, "appearance_change", "watch")
        n = len({vocab.BODY_REGIONS[loc] for loc in locations})
        assert f.evidence.startswith(f"twitching in {n} body regions (")
        assert f.evidence.endswith("in the 14 days from Wed 27 Mar to Tue 9 Apr (threshold 3)")
        assert f.numbers["count"] == n


def test_body_regions_follow_the_domain() -> None:
    assert set(vocab.BODY_REGIONS.values()) == {"head_neck", "trunk", "arms", "legs"}
    assert set(vocab.BODY_REGIONS) == set(vocab.BODY_LOCATIONS) - {"other"}


@pytest.mark.parametrize(
    ("started_at", "tz", "counts"),
    [
        pytest.param(at(ago(13), "00:30", ADL), ADL, True, id="adelaide-00:30-day-14-utc-day-15"),
        pytest.param(at(ago(14), "23:30", LA), LA, False, id="los-angeles-23:30-day-15-utc-day-14"),
        pytest.param(at(ago(0), "23:30", LA), LA, True, id="los-angeles-23:30-today-utc-tomorrow"),
    ],
)
def test_widespread_twitching_window_edge(started_at: dt.datetime, tz: str, counts: bool) -> None:
    episodes = [*twitches(["eyelid", "calf"], ago(5)), ep(started_at=started_at, tz=tz, kind="twitch", loc="forearm")]
    assert ("appearance_change" in window(episodes)) is counts


@pytest.mark.parametrize(("n", "fires"), [(1, False), (2, True)])
def test_widespread_twitching_tuned(n: int, fires: bool) -> None:
    t = most_sensitive([{"twitch_regions": 2}])
    assert ("appearance_change" in window(twitches(["eyelid", "calf"][:n]), t=t)) is fires


def test_window_rules_give_at_most_one_finding_each_and_no_episode() -> None:
    episodes = streak_history(20) + many(12, pain=9, symptoms={"lingering_pain"}, kind="twitch", loc="neck")
    episodes += twitches(["hand", "chest"])
    found = window(episodes, checkins([0, 1, 2, 3]))
    assert set(found) == set(WINDOW_RULES)


# --------------------------------------------------------------------------------------------------
# Thresholds


def test_defaults_are_the_domain_numbers_and_inside_their_bounds() -> None:
    assert set(BOUNDS) == set(THRESHOLD_NAMES)
    for name in THRESHOLD_NAMES:
        low, high = BOUNDS[name]
        assert low <= getattr(DEFAULT, name) <= high
    assert check_thresholds({name: getattr(DEFAULT, name) for name in THRESHOLD_NAMES}) == {}
    assert check_thresholds({name: low for name, (low, _) in BOUNDS.items()}) == {}
    assert check_thresholds({name: high for name, (_, high) in BOUNDS.items()}) == {}


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"severe_pain": 4}, "severe_pain", "between 5 and 10"),
        ({"severe_pain": 11}, "severe_pain", "between 5 and 10"),
        ({"frequent_count": 2}, "frequent_count", "between 3 and 30"),
        ({"persistent_days": 29}, "persistent_days", "between 7 and 28"),
        ({"long_watch_min": 9}, "long_watch_min", "between 10 and 120"),
        ({"twitch_regions": 5}, "twitch_regions", "between 2 and 4"),
        ({"fluid_days": 0}, "fluid_days", "between 1 and 7"),
        ({"bogus": 3}, "bogus", "unknown"),
        ({"breathing_difficulty": 0}, "breathing_difficulty", "never be switched off"),
        ({"breathing_difficulty": False}, "breathing_difficulty", "never be switched off"),
        ({"severe_pain": "8"}, "severe_pain", "whole number"),
        ({"severe_pain": 8.0}, "severe_pain", "whole number"),
        ({"severe_pain": True}, "severe_pain", "whole number"),
        ({"severe_pain": None}, "severe_pain", "whole number"),
        ({"long_watch_min": 60, "long_high_min": 45}, "long_high_min", "below long_watch_min"),
        ({"long_watch_min": 121}, "long_watch_min", "between 10 and 120"),
    ],
)
def test_check_thresholds_rejects(values: dict[str, object], field: str, reason: str) -> None:
    problems = check_thresholds(values)
    assert list(problems) == [field]
    assert reason in problems[field]


def test_check_thresholds_compares_long_levels_against_the_default() -> None:
    assert check_thresholds({"long_watch_min": 120}) == {}  # default high is 120
    assert check_thresholds({"long_high_min": 30}) == {}  # default watch is 30
    assert check_thresholds({"long_high_min": 30, "long_watch_min": 31}) != {}
    assert check_thresholds({"long_high_min": 60, "long_watch_min": 60}) == {}


def test_most_sensitive_over_two_clinicians() -> None:
    a = {"severe_pain": 7, "frequent_count": 12, "long_high_min": 90}
    b = {"severe_pain": 6, "frequent_days": 4}
    t = most_sensitive([a, b])
    assert t == replace(DEFAULT, severe_pain=6, frequent_count=12, frequent_days=4, long_high_min=90)
    assert most_sensitive([b, a]) == t
    assert most_sensitive([]) == DEFAULT
    assert most_sensitive([{}, {}]) == DEFAULT
    # the loosened frequent_count applies: 11 episodes are not frequent for this person
    assert "frequent" not in window(many(11, ago(1)), t=t)
    assert "frequent" in window(many(12, ago(1)), t=t)
    assert "severe_pain" in per_episode(ep(pain=6), t)


def test_most_sensitive_never_fails_on_stale_values() -> None:
    t = most_sensitive([{"severe_pain": 2, "bogus": 1, "breathing_difficulty": 0, "frequent_count": 99}])
    assert (t.severe_pain, t.frequent_count) == (5, 30)  # clamped into BOUNDS
    t = most_sensitive([{"severe_pain": "7", "fluid_days": True}])  # type: ignore[dict-item]
    assert t == DEFAULT
    # one clinician loosened watch, another tightened high: watch follows high down
    t = most_sensitive([{"long_watch_min": 100}, {"long_high_min": 40}])
    assert (t.long_watch_min, t.long_high_min) == (40, 40)
    assert per_episode(ep(duration_s=40 * 60), t)["long_episode"].severity == "high"
    assert "long_episode" not in per_episode(ep(duration_s=39 * 60), t)


def test_most_sensitive_keeps_a_custom_base() -> None:
    base = replace(DEFAULT, severe_pain=9)
    assert most_sensitive([{"fluid_days": 2}], base) == replace(base, fluid_days=2)


def test_history_start_covers_every_window() -> None:
    assert history_start(DEFAULT, TODAY) == ago(27)
    t = most_sensitive([{"persistent_days": 28}])
    assert history_start(t, TODAY) == ago(33)
    episodes = streak_history(28) + many(30, ago(34)) + many(30, ago(40))
    kept = [e for e in episodes if local_day(e) >= history_start(t, TODAY)]
    assert len(kept) < len(episodes)
    found = window(kept, t=t)
    assert window(episodes, t=t) == found
    assert found["persistent"].numbers["frequent_streak_days"] == 28


# --------------------------------------------------------------------------------------------------
# Properties

ZONES = (ADL, LA, "UTC", "Asia/Kolkata")

episode_strategy = st.builds(
    lambda days, minute, tz, kind, loc, pain, symptoms, duration: EpisodeFacts(
        uid=f"h-{days}-{minute}-{kind}-{loc}",
        kind=kind,
        body_location=loc,
        started_at=dt.datetime.combine(ago(days), dt.time(minute // 60, minute % 60), tzinfo=ZoneInfo(tz)),
        tz=tz,
        duration_s=duration,
        pain=pain,
        symptoms=frozenset(symptoms),
    ),
    st.integers(-1, 35),
    st.integers(0, 24 * 60 - 1),
    st.sampled_from(ZONES),
    st.sampled_from(vocab.EPISODE_KINDS),
    st.sampled_from(vocab.BODY_LOCATIONS),
    st.integers(0, 10),
    st.frozensets(st.sampled_from(vocab.SYMPTOMS), max_size=3),
    st.one_of(st.none(), st.integers(0, 4 * 3600)),
)
checkin_strategy = st.builds(
    lambda days, value: CheckinFacts(day=ago(days), fluid_changes=value),
    st.integers(-1, 10),
    st.one_of(st.none(), st.booleans()),
)
thresholds_strategy = st.builds(
    Thresholds, **{name: st.integers(low, high) for name, (low, high) in BOUNDS.items()}
)  # fmt: skip


def keys(findings: Iterable[Finding]) -> dict[tuple[str, str | None], int]:
    return {(f.rule, f.episode_uid): SEVERITY_RANK[f.severity] for f in findings}


def all_findings(episodes: Sequence[EpisodeFacts], rows: Sequence[CheckinFacts], t: Thresholds) -> list[Finding]:
    out = window_findings(episodes, rows, t, TODAY, diary_start=KEPT_SINCE)
    for e in episodes:
        out += episode_findings(e, t, NOW)
    return out


PROPERTY_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(
    st.lists(episode_strategy, max_size=30),
    st.lists(checkin_strategy, max_size=8),
    thresholds_strategy,
    st.sampled_from(THRESHOLD_NAMES),
    st.integers(1, 10),
)
def test_raising_a_threshold_never_adds_or_worsens_a_finding(
    episodes: list[EpisodeFacts], rows: list[CheckinFacts], t: Thresholds, name: str, step: int
) -> None:
    looser = replace(t, **{name: getattr(t, name) + step})
    before, after = keys(all_findings(episodes, rows, t)), keys(all_findings(episodes, rows, looser))
    assert set(after) <= set(before)
    assert all(after[k] <= before[k] for k in after)


@PROPERTY_SETTINGS
@given(
    st.lists(episode_strategy, max_size=25), st.lists(episode_strategy, min_size=1, max_size=10), thresholds_strategy
)
def test_more_episodes_never_remove_a_count_based_window_finding(
    episodes: list[EpisodeFacts], more: list[EpisodeFacts], t: Thresholds
) -> None:
    monotone = {"frequent", "persistent_pain", "appearance_change"}  # persistent's trend may fall with old episodes
    before = set(window(episodes, t=t)) & monotone
    after = set(window(episodes + more, t=t)) & monotone
    assert before <= after


@PROPERTY_SETTINGS
@given(st.lists(episode_strategy, max_size=25), st.lists(checkin_strategy, max_size=8), thresholds_strategy)
def test_window_findings_need_only_the_history_from_history_start(
    episodes: list[EpisodeFacts], rows: list[CheckinFacts], t: Thresholds
) -> None:
    start = history_start(t, TODAY)
    kept = [e for e in episodes if local_day(e) >= start]
    assert window(kept, rows, t) == window(episodes, rows, t)
    for f in window_findings(episodes, rows, t, TODAY, diary_start=KEPT_SINCE):
        assert f.rule in WINDOW_RULES and f.severity in SEVERITIES[f.rule]
        assert (f.title, f.guidance) == (words.word("rule", f.rule), GUIDANCE[f.rule])
        assert any(ch.isdigit() for ch in f.evidence)
    for e in episodes:
        for f in episode_findings(e, t, NOW):
            assert f.rule in PER_EPISODE_RULES and f.severity in SEVERITIES[f.rule]
            assert f.episode_uid == e.uid
