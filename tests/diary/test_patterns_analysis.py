"""Pattern detection, the pure core (diary/patterns/analysis.py and the modules it assembles). No database.

Planted effects with fixed seeds are found, people with no effect get (almost) no findings, too little
data says what is missing, and every statistic is checked against scipy or a hand computation on a small
fixture. ``TODAY`` is 2024-04-09; Los Angeles is UTC-7 then, so 23:30 there is the next UTC date.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scipy import stats

from diary.patterns import analysis as an
from diary.patterns.analysis import CheckinRow, EpisodeRow, analyse
from diary.patterns.permutation import DEEP_PERMUTATIONS, PERMUTATIONS
from diary.patterns.stats import (
    bh_qvalues,
    binom_p_two_sided,
    clopper_pearson,
    compare_rates,
    holm_adjust,
    stratified_compare,
)
from tests.diary.test_patterns_permutation import exact, mc_close

TODAY = dt.date(2024, 4, 9)  # the last complete local day the fixtures fill
NOW = TODAY + dt.timedelta(days=1)  # the day in progress: analyse(today=NOW) leaves it out
ROOT = Path(__file__).resolve().parents[2]
NORMAL: dict[str, Any] = {"water_ml": 2000, "caffeine_servings": 1, "exercise_intensity": "light", "hot_weather": False,
          "sleep_h": 7.5, "stress": 3, "sitting_h": 5.0}  # fmt: skip
# values that make each exposure present
EXPOSED: dict[str, dict[str, Any]] = {"low_water": {"water_ml": 1000}, "caffeine": {"caffeine_servings": 4},
           "vigorous_exercise": {"exercise_intensity": "vigorous"}, "heat": {"hot_weather": True},
           "short_sleep": {"sleep_h": 5.0}, "high_stress": {"stress": 8}, "long_sitting": {"sitting_h": 9.5},
           "medication": {"medications": ("statin",)}}  # fmt: skip


def weekend(first: dt.date, n: int, lag: int = 0) -> np.ndarray:
    """The permutation strata analyse uses: weekend (1) or weekday (0) of each episode day."""
    return np.array([(first + dt.timedelta(days=i + lag)).weekday() >= 5 for i in range(n)], dtype=np.int64)


def mantel_haenszel(y: np.ndarray, e: np.ndarray, strata: np.ndarray) -> float:
    """Reference: sum_s x_e,s t_u,s / m_s over sum_s x_u,s t_e,s / m_s."""
    num = den = 0.0
    for s in np.unique(strata):
        k = strata == s
        m = k.sum()
        num += y[k & e].sum() * (k & ~e).sum() / m
        den += y[k & ~e].sum() * (k & e).sum() / m
    return num / den


def episode(
    d: dt.date, hour: int = 12, minute: int = 0, *, tz: str = "UTC", kind: str = "cramp", **kw: Any
) -> EpisodeRow:
    local = dt.datetime.combine(d, dt.time(hour, minute), tzinfo=ZoneInfo(tz))
    fields: dict[str, Any] = {"body_location": "calf", "duration_s": 60, "pain": 4} | kw
    return EpisodeRow(started_at=local.astimezone(dt.UTC), tz=tz, kind=kind, **fields)


def checkin(d: dt.date, *exposures: str, **values: Any) -> CheckinRow:
    fields: dict[str, Any] = dict(NORMAL)
    for e in exposures:
        fields |= EXPOSED[e]
    return CheckinRow(day=d, **(fields | values))


def synthetic(
    seed: int,
    days: int,
    *,
    base: float = 0.5,
    effects: dict[tuple[str, int], float] | None = None,
    shares: dict[str, float] | None = None,
    tag: dict[str, float] | None = None,
) -> tuple[list[EpisodeRow], list[CheckinRow]]:
    """A person with a check-in every day; exposure e on ``shares[e]`` of days (default 25%); the rate on
    day d is ``base`` times ``effects[(e, lag)]`` when e was present on day d - lag. ``tag``: trigger ->
    share of episodes tagged with it."""
    rng = np.random.default_rng(seed)
    codes = [x.code for x in an.EXPOSURES if x.code != "medication"]
    shares = shares or {}
    present = {c: rng.random(days) < shares.get(c, 0.25) for c in codes}
    rate = np.full(days, base)
    for (code, lag), rr in (effects or {}).items():
        hit = np.zeros(days, dtype=bool)
        hit[lag:] = present[code][: days - lag]
        rate = np.where(hit, rate * rr, rate)
    counts = rng.poisson(rate)
    first = TODAY - dt.timedelta(days=days - 1)
    checkins = [checkin(first + dt.timedelta(days=i), *[c for c in codes if present[c][i]]) for i in range(days)]
    episodes = []
    for i in range(days):
        for _ in range(int(counts[i])):
            tags = tuple(t for t, s in (tag or {}).items() if rng.random() < s)
            episodes.append(
                episode(first + dt.timedelta(days=i), int(rng.integers(0, 24)), int(rng.integers(0, 60)), triggers=tags)
            )
    return episodes, checkins


def finding(report: Mapping[str, Any], exposure: str, lag: int) -> dict[str, Any]:
    return next(f for f in report["triggers"] if f["exposure"] == exposure and f["lag"] == lag)


def lacking(report: Mapping[str, Any], exposure: str, lag: int) -> dict[str, Any]:
    return next(f for f in report["not_enough_data"] if f["exposure"] == exposure and f["lag"] == lag)


def suspected(report: Mapping[str, Any], trigger: str) -> dict[str, Any]:
    return next(s for s in report["suspected"] if s["trigger"] == trigger)


def significant(report: Mapping[str, Any]) -> set[tuple[str, int]]:
    return {(f["exposure"], f["lag"]) for f in report["triggers"] if f["significant"]}


def walk(value: Any) -> Iterable[Any]:
    yield value
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str)
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


# --- the exact conditional test and adjustments, against scipy and by hand --------------------------------------
@pytest.mark.parametrize(
    ("x_e", "t_e", "x_u", "t_u"), [(6, 2, 2, 6), (16, 8, 12, 12), (3, 30, 9, 60), (0, 5, 7, 9), (9, 5, 0, 9)]
)
def test_compare_rates_matches_scipy_binomtest(x_e: int, t_e: int, x_u: int, t_u: int) -> None:
    c = compare_rates(x_e, t_e, x_u, t_u)
    n, p0 = x_e + x_u, t_e / (t_e + t_u)
    ref = stats.binomtest(x_e, n, p0)
    assert c.p_two_sided == pytest.approx(ref.pvalue, rel=1e-9)
    assert c.p_greater == pytest.approx(stats.binomtest(x_e, n, p0, alternative="greater").pvalue, rel=1e-9)
    ci = ref.proportion_ci(confidence_level=0.95, method="exact")
    to_rr = lambda pi: math.inf if pi >= 1 else pi / (1 - pi) * t_u / t_e  # noqa: E731
    assert c.ci_low == pytest.approx(to_rr(ci.low), rel=1e-9, abs=1e-12)
    assert c.ci_high == pytest.approx(to_rr(ci.high), rel=1e-9)
    if x_u:
        assert c.rate_ratio == pytest.approx((x_e / t_e) / (x_u / t_u))
        assert c.ci_low <= c.rate_ratio <= c.ci_high
    else:
        assert c.rate_ratio == math.inf


def test_compare_rates_by_hand() -> None:
    # 6 episodes on 2 exposed days, 2 on 6 unexposed: rate ratio (6/2)/(2/6) = 9; N = 8, p0 = 2/8
    c = compare_rates(6, 2, 2, 6)
    assert c.rate_ratio == pytest.approx(9.0)
    pmf = [math.comb(8, k) * 0.25**k * 0.75 ** (8 - k) for k in range(9)]
    assert c.p_greater == pytest.approx(sum(pmf[6:]), rel=1e-12)
    # two-sided (minlike): every outcome no more likely than 6 -> 6, 7, 8 (the lower tail is likelier)
    assert c.p_two_sided == pytest.approx(sum(p for p in pmf if p <= pmf[6] * (1 + 1e-7)), rel=1e-12)
    # Clopper-Pearson lower bound solves P(X >= 6 | pi) = 0.025; transformed by pi/(1-pi) * 6/2
    lo, hi = clopper_pearson(6, 8)
    assert sum(math.comb(8, k) * lo**k * (1 - lo) ** (8 - k) for k in range(6, 9)) == pytest.approx(0.025, rel=1e-6)
    assert sum(math.comb(8, k) * hi**k * (1 - hi) ** (8 - k) for k in range(0, 7)) == pytest.approx(0.025, rel=1e-6)
    assert c.ci_low == pytest.approx(lo / (1 - lo) * 3)
    assert c.ci_high == pytest.approx(hi / (1 - hi) * 3)


def test_two_sided_p_matches_scipy_on_a_grid() -> None:
    for n in (1, 7, 20, 63):
        for p in (0.1, 0.3, 0.5, 0.77):
            for k in range(n + 1):
                assert binom_p_two_sided(k, n, p) == pytest.approx(stats.binomtest(k, n, p).pvalue, rel=1e-9, abs=1e-15)


def test_bh_and_holm_by_hand() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 -> m p / rank: 0.02, 0.02, 0.04, 0.04 -> running min from the top
    assert bh_qvalues(p).tolist() == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert bh_qvalues(p).tolist() == pytest.approx(stats.false_discovery_control(p).tolist())
    assert bh_qvalues(np.array([0.5, 0.9])).tolist() == pytest.approx([0.9, 0.9])
    # Holm: sorted 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> running max 0.03, 0.06, 0.06
    assert holm_adjust(np.array([0.01, 0.04, 0.03])).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjust(np.array([0.6, 0.2])).tolist() == pytest.approx([0.6, 0.4])


def test_stratified_test_reduces_to_the_binomial_and_convolves_strata() -> None:
    rr, p = stratified_compare(np.array([6]), np.array([2]), np.array([2]), np.array([6]))
    assert rr == pytest.approx(9.0)
    assert p == pytest.approx(stats.binomtest(6, 8, 0.25).pvalue, rel=1e-9)
    # two strata: X = A + B, A ~ Bin(3, 1/2), B ~ Bin(2, 1/4); observed 3 + 1 = 4
    _, p = stratified_compare(np.array([3, 1]), np.array([2, 1]), np.array([0, 1]), np.array([2, 3]))
    a = [math.comb(3, k) / 8 for k in range(4)]
    b = [math.comb(2, k) * 0.25**k * 0.75 ** (2 - k) for k in range(3)]
    dist = [sum(a[i] * b[s - i] for i in range(4) if 0 <= s - i <= 2) for s in range(6)]
    assert p == pytest.approx(sum(d for d in dist if d <= dist[4] * (1 + 1e-7)), rel=1e-9)
    # a stratum without unexposed days carries no information
    _, p = stratified_compare(np.array([6, 5]), np.array([2, 3]), np.array([2, 0]), np.array([6, 0]))
    assert p == pytest.approx(stats.binomtest(6, 8, 0.25).pvalue, rel=1e-9)


# --- triggers on small fixtures: numbers, q-values, lag alignment, minimum data ------------------------------------
def test_trigger_numbers_on_a_hand_fixture_and_the_q_value_of_each_family() -> None:
    """20 days, only water logged (so 2 tests: lag 0 and lag 1). Low water on 8 days with 2 episodes each,
    12 other days with 1 episode: 16 on 8 days vs 12 on 12 days."""
    first = TODAY - dt.timedelta(days=19)
    low = {0, 2, 5, 7, 10, 13, 15, 18}
    checkins = [CheckinRow(day=first + dt.timedelta(days=i), water_ml=900 if i in low else 2100) for i in range(20)]
    episodes = [episode(first + dt.timedelta(days=i), 9 + k) for i in range(20) for k in range(2 if i in low else 1)]
    report = analyse(episodes, checkins, today=NOW, window_days=20)
    f0 = finding(report, "low_water", 0)
    assert (f0["exposed_days"], f0["exposed_episodes"], f0["unexposed_days"], f0["unexposed_episodes"]) == (
        8,
        16,
        12,
        12,
    )
    assert f0["rate_ratio"] == pytest.approx(2.0)  # 2 on every exposed day, 1 on every other: in each stratum too
    # the day-level permutation test against exact enumeration of the exposed days within weekend / weekday
    y0 = np.array([2 if i in low else 1 for i in range(20)])
    e0 = np.array([i in low for i in range(20)])
    greater, _ = exact(y0, e0, ~e0, weekend(first, 20))
    assert greater < 1 / PERMUTATIONS  # only the observed assignment reaches 16
    assert mc_close(f0["q_value"], greater, PERMUTATIONS)  # one test in the family: q is the one-sided p
    assert f0["p_value"] == pytest.approx(2 * f0["q_value"], rel=1e-4)
    # no spread within either side (2 on every exposed day, 1 on every other): the inverted test leaves
    # exactly the ratio 2 (any other ratio makes the observed total the most extreme of all)
    assert 1 < f0["ci_low"] <= 2.0 <= f0["ci_high"]
    # lag 1: 19 day pairs; exposure on day d, episodes on day d + 1
    # pairs (d, d + 1) for d = 0..18: the days after low water (1, 3, 6, 8, 11, 14, 16, 19) had 1 episode
    # each; the other 11 pairs' next days hold the remaining 28 - 2 (day 0 has no pair) - 8 = 18
    f1 = finding(report, "low_water", 1)
    assert (f1["exposed_days"], f1["exposed_episodes"], f1["unexposed_days"], f1["unexposed_episodes"]) == (
        8,
        8,
        11,
        18,
    )
    counts = np.array(
        [sum(1 for e in episodes if e.started_at.date() == first + dt.timedelta(days=i)) for i in range(20)]
    )
    g1, l1 = exact(counts[1:], e0[:19], ~e0[:19], weekend(first, 19, lag=1))
    p1 = min(1.0, 2 * min(g1, l1))
    assert mc_close(f1["p_value"] / 2, p1 / 2, 500)
    # one test in each family (multiplicity.discovery_families): the same-day "more" family's q is its
    # one-sided p, the next-day family's its two-sided p
    assert f1["q_value"] == f1["p_value"]
    assert report["multiple_testing"]["discovery_tests"] == 2
    # the other exposures were never logged: not enough data, with what is missing
    gap = lacking(report, "caffeine", 0)
    assert gap["needs"] == {"checkin_days": 14, "exposed_days": 5, "unexposed_days": 5, "episodes": 10 - 0}
    assert "not enough days to compare yet (0 days when you had 3 or more caffeinated drinks, 0 when" in gap["missing"]


def test_lag_one_pairs_exposure_day_with_the_next_day() -> None:
    """Low water on days 0, 4, 8, 12, 16 of 20; two episodes on each following day, one on days 2, 6, 10,
    14, 18, none on the low-water days themselves."""
    first = TODAY - dt.timedelta(days=19)
    low = {0, 4, 8, 12, 16}
    checkins = [CheckinRow(day=first + dt.timedelta(days=i), water_ml=1000 if i in low else 2000) for i in range(20)]
    per_day = {i + 1: 2 for i in low} | {i + 2: 1 for i in low}
    episodes = [episode(first + dt.timedelta(days=d), 8 + k) for d, n in per_day.items() for k in range(n)]
    report = analyse(episodes, checkins, today=NOW, window_days=20)
    f1 = finding(report, "low_water", 1)
    assert (f1["exposed_days"], f1["exposed_episodes"], f1["unexposed_days"], f1["unexposed_episodes"]) == (
        5,
        10,
        14,
        5,
    )
    y = np.array([per_day.get(d, 0) for d in range(1, 20)])
    e = np.array([d in low for d in range(19)])
    assert f1["rate_ratio"] == pytest.approx(mantel_haenszel(y, e, weekend(first, 19, lag=1)), rel=1e-3)
    f0 = finding(report, "low_water", 0)
    assert (f0["exposed_days"], f0["exposed_episodes"], f0["unexposed_days"], f0["unexposed_episodes"]) == (
        5,
        0,
        15,
        15,
    )
    assert f0["rate_ratio"] == 0.0


def test_not_enough_data_says_what_is_missing() -> None:
    """10 check-ins (3 with low water), 6 episodes: every test lacks data and says how much."""
    first = TODAY - dt.timedelta(days=9)
    checkins = [checkin(first + dt.timedelta(days=i), *(["low_water"] if i < 3 else [])) for i in range(10)]
    episodes = [episode(first + dt.timedelta(days=i)) for i in range(6)]
    report = analyse(episodes, checkins, today=NOW)
    assert report["triggers"] == []
    gap = lacking(report, "low_water", 0)
    assert (gap["exposed_days"], gap["unexposed_days"], gap["episodes"]) == (3, 7, 6)
    assert gap["needs"] == {"checkin_days": 4, "exposed_days": 2, "unexposed_days": 0, "episodes": 4}
    assert (
        "not enough days to compare yet (3 days when you drank under 1.5 L, 7 when you drank 1.5 L or more)"
        in gap["missing"]
    )
    assert "10 check-in days record low water so far, 14 needed" in gap["missing"]
    assert "too few cramps on those days to compare (6 so far, 10 needed)" in gap["missing"]
    assert gap["sentence"].startswith("Low water (same day): not enough days to compare yet (3 days when")
    heat = lacking(report, "heat", 0)  # never hot: no exposed day at all
    assert heat["needs"]["exposed_days"] == 5 and heat["needs"]["unexposed_days"] == 0
    assert len(report["not_enough_data"]) == 2 * len(an.EXPOSURES)
    assert report["frequency"]["trend"]["status"] == "not enough data"


def test_exactly_at_the_minimum_is_tested() -> None:
    first = TODAY - dt.timedelta(days=13)
    checkins = [checkin(first + dt.timedelta(days=i), *(["low_water"] if i < 5 else [])) for i in range(14)]
    episodes = [episode(first + dt.timedelta(days=i)) for i in range(10)]
    report = analyse(episodes, checkins, today=NOW, window_days=14)
    f = finding(report, "low_water", 0)
    assert (f["exposed_days"], f["unexposed_days"], f["exposed_episodes"] + f["unexposed_episodes"]) == (5, 9, 10)
    assert not any(g["exposure"] == "low_water" and g["lag"] == 0 for g in report["not_enough_data"])


# --- planted effects and null people ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_planted_effects_are_found(seed: int) -> None:
    """Low water doubles the rate the same day, heat multiplies it by 2.5 the same day, short sleep by 2.5
    the NEXT day. 180 days, base rate 0.7 a day."""
    effects = {("low_water", 0): 2.0, ("heat", 0): 2.5, ("short_sleep", 1): 2.5}
    episodes, checkins = synthetic(seed, 180, base=0.7, effects=effects, shares={"low_water": 0.3})
    report = analyse(episodes, checkins, today=NOW, window_days=180)
    found = significant(report)
    assert {("low_water", 0), ("heat", 0), ("short_sleep", 1)} <= found
    assert ("short_sleep", 0) not in found  # the next-day effect is not a same-day one
    water = finding(report, "low_water", 0)
    assert water["direction"] == "more" and water["ci_low"] > 1 and 1.4 < water["rate_ratio"] < 2.8
    assert water["sentence"].startswith("Cramps happened about ")
    assert " as often on days you drank under 1.5 L (" in water["sentence"] and " times, 95% CI " in water["sentence"]
    assert "on the day after you slept under 6 hours" in finding(report, "short_sleep", 1)["sentence"]
    assert len(found) <= 4  # at most one false link besides the three planted


def test_people_without_any_effect_rarely_get_a_finding() -> None:
    """20 null people (90 days, 7 exposures x 2 lags, one suspected trigger each): the pipeline keeps
    the chance of any false finding at 5%, so 20 people should show at most 3 (P(>3) < 2%)."""
    triggers = ["dehydration", "caffeine", "heat", "stress", "poor_sleep"]
    with_any = 0
    for seed in range(20):
        episodes, checkins = synthetic(100 + seed, 90, base=0.8, tag={triggers[seed % 5]: 0.4})
        report = analyse(episodes, checkins, today=NOW, window_days=90)
        assert report["multiple_testing"]["discovery_tests"] == 14
        supported = [s for s in report["suspected"] if s["status"] == "supported"]
        with_any += bool(significant(report) or supported)
    assert with_any <= 3


def test_suspected_trigger_statuses() -> None:
    """Dehydration is real (low water x2.5); caffeine is not; heat is never logged; injury has no check-in
    question; cold was tagged twice only."""
    episodes, checkins = synthetic(
        7, 120, base=0.7, effects={("low_water", 0): 2.5}, tag={"dehydration": 0.5, "caffeine": 0.5, "injury": 0.3}
    )
    checkins = [replace(c, hot_weather=None) for c in checkins]
    episodes[0] = replace(episodes[0], triggers=("heat", "cold", "heat"))
    episodes[1] = replace(episodes[1], triggers=("heat", "cold"))
    episodes[2] = replace(episodes[2], triggers=("heat",))
    report = analyse(episodes, checkins, today=NOW, window_days=120)
    dehydration = suspected(report, "dehydration")
    assert dehydration["status"] == "supported" and dehydration["exposure"] == "low_water"
    assert dehydration["sentence"].startswith(
        "You suspect dehydration, and your check-ins support it: cramps happened about"
    )
    assert dehydration["p_value"] < 0.01  # one-sided, the day-level permutation test
    caffeine = suspected(report, "caffeine")
    assert caffeine["status"] == "not supported"
    # Holm over the two tested suspected triggers
    ps = sorted([dehydration["p_value"], caffeine["p_value"]])
    assert min(dehydration["p_adjusted"], caffeine["p_adjusted"]) == pytest.approx(2 * ps[0], rel=1e-4)
    assert max(dehydration["p_adjusted"], caffeine["p_adjusted"]) == pytest.approx(max(2 * ps[0], ps[1]), rel=1e-4)
    heat = suspected(report, "heat")
    assert heat["status"] == "not enough data" and heat["tagged_episodes"] == 3
    injury = suspected(report, "injury")
    assert injury["status"] == "not enough data" and injury["exposure"] is None
    assert "does not record it" in injury["sentence"]
    cold = suspected(report, "cold")
    assert cold["status"] == "not enough data" and cold["tagged_episodes"] == 2
    # heat is tagged on 3 episodes, but under 10% of them: not yet a hypothesis either
    assert heat["missing"].startswith("tagged on 3 of")
    assert report["multiple_testing"]["suspected_tests"] == 2
    assert report["multiple_testing"]["recycled"] is False  # caffeine was not supported: discovery keeps 0.025
    assert report["multiple_testing"]["discovery_fdr"] == pytest.approx(0.025)


def test_a_suspected_trigger_with_strong_evidence_from_few_days_is_supported() -> None:
    """Low water on 4 of 20 days (under the 5 the trigger table needs) with 8 of the 10 episodes; caffeine
    on 3 days with 1 of them. Dehydration is supported all the same (exact test, one-sided); caffeine is
    "not enough data" (too little to say it is not), and neither shows in the discovery table."""
    first = TODAY - dt.timedelta(days=19)
    low, coffee = {0, 5, 10, 15}, {3, 8, 13}
    checkins = [
        checkin(
            first + dt.timedelta(days=i), *(["low_water"] if i in low else []), *(["caffeine"] if i in coffee else [])
        )
        for i in range(20)
    ]
    days = [d for d in sorted(low) for _ in range(2)] + [3, 12]
    episodes = [
        episode(first + dt.timedelta(days=d), 8 + k, triggers=("dehydration", "caffeine")) for k, d in enumerate(days)
    ]
    report = analyse(episodes, checkins, today=NOW, window_days=20)
    dehydration = suspected(report, "dehydration")
    assert dehydration["status"] == "supported"
    assert (dehydration["exposed_days"], dehydration["exposed_episodes"], dehydration["unexposed_episodes"]) == (
        4,
        8,
        2,
    )
    # only the observed assignment of the 4 exposed days (within weekend / weekday) reaches 8 episodes
    y = np.array([2 if d in low else 1 if d in (3, 12) else 0 for d in range(20)])
    e = np.array([d in low for d in range(20)])
    assert mc_close(dehydration["p_value"], exact(y, e, ~e, weekend(first, 20))[0], PERMUTATIONS)
    assert dehydration["p_adjusted"] == pytest.approx(2 * dehydration["p_value"], rel=1e-5)  # Holm, 2 hypotheses
    caffeine = suspected(report, "caffeine")
    assert caffeine["status"] == "not enough data" and caffeine["p_value"] is not None
    assert (
        caffeine["missing"]
        == "not enough days to compare yet (3 days when you had 3 or more caffeinated drinks, 17 when you had fewer than 3 caffeinated drinks)"
    )
    assert caffeine["sentence"].startswith("You suspect caffeine; not enough data to check it yet (")
    assert lacking(report, "low_water", 0)["needs"]["exposed_days"] == 1
    assert report["multiple_testing"]["suspected_tests"] == 2


def test_alpha_recycles_to_discovery_when_no_suspected_trigger_is_tested() -> None:
    episodes, checkins = synthetic(3, 60)
    report = analyse(episodes, checkins, today=NOW, window_days=60)
    mt = report["multiple_testing"]
    assert (mt["suspected_tests"], mt["recycled"], mt["discovery_fdr"]) == (0, True, pytest.approx(0.05))


def heat_and_water(
    seed: int, days: int, *, low_if_hot: tuple[float, float], rate_if_hot: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[EpisodeRow], list[CheckinRow]]:
    """``days`` days ending yesterday: heat on 30% of days, low water with probability ``low_if_hot``
    (not hot, hot), episodes at ``rate_if_hot`` a day (not hot, hot): low water has no effect of its own.
    The hot and low-water days, the day counts, the episodes and the check-ins."""
    rng = np.random.default_rng(seed)
    first = TODAY - dt.timedelta(days=days - 1)
    hot = rng.random(days) < 0.3
    low = np.where(hot, rng.random(days) < low_if_hot[1], rng.random(days) < low_if_hot[0])
    counts = rng.poisson(np.where(hot, rate_if_hot[1], rate_if_hot[0]))
    checkins = [
        checkin(first + dt.timedelta(days=i), *(["heat"] if hot[i] else []), *(["low_water"] if low[i] else []))
        for i in range(days)
    ]
    episodes = [episode(first + dt.timedelta(days=i), 10) for i in range(days) for _ in range(counts[i])]
    return hot, low, counts, episodes, checkins


def test_a_link_that_only_mirrors_a_stronger_one_is_adjusted_for_it() -> None:
    """Heat triples the rate; low water happens on 70% of hot days and 10% of others, with no effect of its
    own. Marginally low water looks like a strong link; allowing for heat nothing is left of it."""
    days = 180
    hot, low, counts, episodes, checkins = heat_and_water(1, days, low_if_hot=(0.1, 0.7), rate_if_hot=(0.5, 1.5))
    report = analyse(episodes, checkins, today=NOW, window_days=days)
    heat, water = finding(report, "heat", 0), finding(report, "low_water", 0)
    assert heat["significant"] and heat["adjusted_for"] == []
    assert water["q_value"] < 0.001  # marginally a strong link
    assert not water["significant"]
    assert water["adjusted_for"] == [{"exposure": "heat", "lag": 0}]
    assert water["adjusted_p_value"] > 0.5
    assert water["sentence"].endswith(
        "but allowing for heat (same day) the link is not clear: it may only reflect that."
    )
    # stratified by heat by hand: the same exact conditional test within hot and other days, combined
    strata = [hot[:days], ~hot[:days]]
    x_e = [int(counts[s & low].sum()) for s in strata]
    t_e = [int((s & low).sum()) for s in strata]
    x_u = [int(counts[s & ~low].sum()) for s in strata]
    t_u = [int((s & ~low).sum()) for s in strata]
    _, p = stratified_compare(np.array(x_e), np.array(t_e), np.array(x_u), np.array(t_u))
    assert water["adjusted_p_value"] == pytest.approx(p, rel=1e-5)


# --- local days, frequency, duration, timing, where, relief ----------------------------------------------------------
def test_an_episode_late_in_the_evening_counts_for_its_local_day() -> None:
    late = episode(TODAY, 23, 30, tz="America/Los_Angeles")  # 2024-04-10 06:30 UTC
    early = episode(TODAY - dt.timedelta(days=6), 0, 30, tz="Asia/Tokyo")  # 04-02 15:30 UTC, previous UTC day
    assert late.started_at.date() == TODAY + dt.timedelta(days=1)
    assert early.started_at.date() == TODAY - dt.timedelta(days=7)
    tomorrow = episode(TODAY + dt.timedelta(days=1), 0, 30, tz="America/Los_Angeles")
    report = analyse([late, early, tomorrow], [], today=NOW)
    week = report["frequency"]["periods"]["7"]
    assert week["all"]["n"] == 2  # both inside the 7 local days, the one tomorrow is not
    assert report["timing"]["counts"] == {"night": 1, "morning": 0, "afternoon": 0, "evening": 1}
    # and for triggers: low water on TODAY (only) goes with the 23:30 episode
    first = TODAY - dt.timedelta(days=19)
    checkins = [checkin(first + dt.timedelta(days=i), *(["low_water"] if i % 4 == 3 else [])) for i in range(20)]
    episodes = [episode(first + dt.timedelta(days=i), 12, tz="America/Los_Angeles") for i in range(10)]
    report = analyse([*episodes, late], checkins, today=NOW, window_days=20)
    f = finding(report, "low_water", 0)
    assert f["exposed_episodes"] == sum(1 for i in range(10) if i % 4 == 3) + 1


def test_frequency_rates_and_trend_with_exact_interval() -> None:
    # first entry 60 days ago; 20 episodes in the last 28 days, 5 in the 28 before
    episodes = [episode(TODAY - dt.timedelta(days=59))]
    episodes += [episode(TODAY - dt.timedelta(days=i % 28), kind="cramp" if i % 2 else "twitch") for i in range(20)]
    episodes += [episode(TODAY - dt.timedelta(days=28 + i), kind="cramp") for i in range(5)]
    report = analyse(episodes, [], today=NOW)
    freq = report["frequency"]
    assert report["window"]["observed_days"] == 60
    p28 = freq["periods"]["28"]
    assert p28["all"] == {"n": 20, "per_day": pytest.approx(20 / 28, rel=1e-3), "per_week": pytest.approx(5.0)}
    assert p28["by_kind"]["cramp"]["n"] == 10 and p28["by_kind"]["spasm"]["n"] == 0
    assert freq["periods"]["90"]["observed_days"] == 60
    assert freq["periods"]["90"]["all"]["per_day"] == pytest.approx(26 / 60, rel=1e-3)
    trend = freq["trend"]
    assert trend["status"] == "rising"
    assert trend["rate_ratio"] == pytest.approx(4.0)
    # the day-level permutation test: 25 days with one episode each among 56, 20 of them in the recent 28;
    # exactly: the recent total is hypergeometric (56 days, 25 with an episode, 28 drawn)
    exact_greater = float(stats.hypergeom(56, 25, 28).sf(19))
    assert exact_greater < 1 / PERMUTATIONS  # so it is resolved by the third stage's draws
    assert trend["p_value"] is not None and mc_close(trend["p_value"] / 2, exact_greater, DEEP_PERMUTATIONS)
    assert trend["ci_low"] is not None and 1 < trend["ci_low"] < 4.0
    # no upper bound: however large the ratio, all 5 earlier episodes stay in the earlier 28 of the 56
    # days by chance with probability C(28, 5) / C(56, 5) = 0.0257, over the 2.5% a bound needs
    assert math.comb(28, 5) / math.comb(56, 5) > 0.025
    assert trend["ci_high"] is None
    assert trend["sentence"].startswith(
        "Episodes are rising: about 4 times as often in the last 28 days as in the 28 days before (4.0 times, 95% CI"
    )
    assert freq["trend_by_kind"]["twitch"]["status"] == "rising"  # 10 vs 0 -> ratio unbounded
    assert freq["trend_by_kind"]["twitch"]["rate_ratio"] is None


@pytest.mark.parametrize(
    ("recent", "previous", "status"), [(10, 10, "stable"), (3, 20, "falling"), (4, 3, "not enough data")]
)
def test_trend_status(recent: int, previous: int, status: str) -> None:
    episodes = [episode(TODAY - dt.timedelta(days=i % 28)) for i in range(recent)]
    episodes += [episode(TODAY - dt.timedelta(days=28 + i % 28)) for i in range(previous)]
    episodes.append(episode(TODAY - dt.timedelta(days=80), kind="twitch"))  # the diary started long ago
    trend = analyse(episodes, [], today=NOW)["frequency"]["trend_by_kind"]["cramp"]
    assert trend["status"] == status
    if status == "not enough data":
        assert trend["missing"] == "needs at least 10 cramps in the last 56 days (7 so far)"


def test_trend_needs_a_previous_period() -> None:
    episodes = [episode(TODAY - dt.timedelta(days=i)) for i in range(20)]
    trend = analyse(episodes, [], today=NOW)["frequency"]["trend"]
    assert trend["status"] == "not enough data" and trend["previous_days"] == 0
    assert trend["missing"] == "needs 14 more days of diary"


def test_duration_summary_matches_numpy() -> None:
    durations = [5, 12, 30, 45, 60, 61, 90, 120, 300, 1800]
    episodes = [episode(TODAY - dt.timedelta(days=i), duration_s=d) for i, d in enumerate(durations)]
    episodes.append(episode(TODAY, duration_s=None))  # ongoing
    episodes += [episode(TODAY, kind="twitch", duration_s=2)]
    report = analyse(episodes, [], today=NOW)
    cramp = report["duration"]["cramp"]
    q1, med, q3, p90 = np.percentile(durations, [25, 50, 75, 90])
    assert (cramp["n"], cramp["ongoing"]) == (10, 1)
    assert cramp["median_s"] == pytest.approx(med) and cramp["q1_s"] == pytest.approx(q1)
    assert cramp["q3_s"] == pytest.approx(q3) and cramp["p90_s"] == pytest.approx(p90, rel=1e-3)
    assert cramp["sentence"].startswith("Cramps lasted a median of 1 min (middle half 34 s to 1 min 52 s;")
    assert report["duration"]["twitch"]["sentence"].startswith("Too few timed twitches")
    assert "spasm" not in report["duration"]


def test_duration_trend() -> None:
    recent = [episode(TODAY - dt.timedelta(days=i), duration_s=300 + i) for i in range(8)]
    before = [episode(TODAY - dt.timedelta(days=30 + i), duration_s=60 + i) for i in range(8)]
    trend = analyse(recent + before, [], today=NOW)["duration"]["cramp"]["trend"]
    assert trend["status"] == "longer"
    assert trend["p_value"] == pytest.approx(
        stats.mannwhitneyu([300 + i for i in range(8)], [60 + i for i in range(8)]).pvalue, rel=1e-5
    )
    assert (trend["recent_median_s"], trend["previous_median_s"]) == (303.5, 63.5)


def test_timing_shares_and_mostly_at_night() -> None:
    hours = [1, 2, 3, 4, 5, 0, 23, 3, 9, 14, 2, 4]  # 9 at night of 12
    episodes = [episode(TODAY - dt.timedelta(days=i), h, tz="Europe/Berlin") for i, h in enumerate(hours)]
    timing = analyse(episodes, [], today=NOW)["timing"]
    assert timing["counts"] == {"night": 9, "morning": 1, "afternoon": 1, "evening": 1}
    assert timing["shares"]["night"] == pytest.approx(0.75)
    assert sum(v for v in timing["shares"].values() if v is not None) == pytest.approx(1.0, abs=1e-3)
    assert timing["mostly_at_night"] is True
    assert "Most of your cramps start at night." in timing["sentence"]
    few = analyse(episodes[:8], [], today=NOW)["timing"]
    assert few["mostly_at_night"] is None  # 8 episodes: not enough to say
    day_person = [episode(TODAY - dt.timedelta(days=i), 10 + i % 8) for i in range(12)]
    assert analyse(day_person, [], today=NOW)["timing"]["mostly_at_night"] is False


def test_where_hotspots() -> None:
    locations = ["calf"] * 6 + ["foot"] * 3 + ["upper_back"]
    episodes = [episode(TODAY - dt.timedelta(days=i), body_location=loc) for i, loc in enumerate(locations)]
    where = analyse(episodes, [], today=NOW)["where"]
    assert [(h["body_location"], h["n"], h["share"]) for h in where["hotspots"]] == [
        ("calf", 6, 0.6), ("foot", 3, 0.3), ("upper_back", 1, 0.1)
    ]  # fmt: skip
    assert (
        where["sentence"]
        == "Most often in the calf (60%), then the foot (30%) and the upper back (10%), of 10 episodes."
    )


def test_relief_means() -> None:
    rows = [
        (("stretching",), 8),
        (("stretching", "heat"), 6),
        (("stretching",), 7),
        (("ice",), 2),
        (("ice",), None),
        (("heat",), 9),
        (("heat",), 9),
    ]
    episodes = [episode(TODAY - dt.timedelta(days=i), relief=r, relief_score=s) for i, (r, s) in enumerate(rows)]
    relief = analyse(episodes, [], today=NOW)["relief"]
    by = {r["measure"]: r for r in relief}
    assert (by["stretching"]["mean_score"], by["stretching"]["n"], by["stretching"]["tried"]) == (7.0, 3, 3)
    assert (by["heat"]["mean_score"], by["heat"]["n"]) == (8.0, 3)
    assert (by["ice"]["mean_score"], by["ice"]["n"], by["ice"]["tried"]) == (2.0, 1, 2)
    assert [r["measure"] for r in relief] == ["heat", "stretching", "ice"]
    assert relief[0]["sentence"] == "Heat helped most: rated 8.0 out of 10 for relief on average (3 rated episodes)."
    assert "too few to say" in by["ice"]["sentence"]


# --- the snapshot as a whole -------------------------------------------------------------------------------------
def test_snapshot_is_plain_json_with_finite_numbers() -> None:
    episodes, checkins = synthetic(1, 90, effects={("low_water", 0): 3.0}, tag={"dehydration": 0.5})
    episodes.append(episode(TODAY, duration_s=None, relief=("none",), relief_score=0))
    for report in (
        analyse(episodes, checkins, today=NOW),
        analyse([], [], today=NOW),
        analyse(episodes[:3], [], today=NOW),
    ):
        for v in walk(report):
            assert v is None or isinstance(v, str | int | float | bool | list | dict)
            if isinstance(v, float):
                assert math.isfinite(v)
        assert json.loads(json.dumps(report, allow_nan=False)) == report
        assert report["version"] == an.ANALYSIS_VERSION == 2
        assert "not a diagnosis" in report["disclaimer"]
        for f in report["triggers"] + report["not_enough_data"] + report["suspected"] + report["relief"]:
            assert f["sentence"]


def test_empty_diary() -> None:
    report = analyse([], [], today=NOW)
    assert report["window"] == {
        "start": "2024-01-11",
        "end": "2024-04-09",
        "days": 90,
        "observed_days": 0,
        "episodes": 0,
        "checkin_days": 0,
    }
    assert report["frequency"]["periods"]["28"]["all"] == {"n": 0, "per_day": None, "per_week": None}
    assert report["triggers"] == [] and report["suspected"] == [] and report["relief"] == []


# diary/patterns/ minus the Django side (api, handlers, models, openapi, selectors, services, tasks)
PURE_CORE = ("analysis", "confirmation", "days", "duration", "exposures", "frequency", "multiplicity", "permutation",
             "relief", "rows", "rules", "sentences", "snapshot", "stats", "summary", "suspected", "timing", "triggers", "where")  # fmt: skip


def test_the_core_imports_no_django() -> None:
    django_side = {"__init__", "api", "handlers", "models", "openapi", "selectors", "services", "tasks"}
    assert {p.stem for p in (ROOT / "diary" / "patterns").glob("*.py")} == set(PURE_CORE) | django_side
    code = (
        "import importlib, sys; "
        f"[importlib.import_module('diary.patterns.' + m) for m in {PURE_CORE!r}]; "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env={"PYTHONPATH": str(ROOT)})


def test_five_years_are_analysed_well_under_100_ms() -> None:
    """5,000 episodes and 1,800 check-ins, the default 90-day window and the whole five years."""
    episodes, checkins = synthetic(2, 1800, base=2.8, effects={("low_water", 0): 1.5}, tag={"dehydration": 0.3})
    assert len(episodes) >= 5000 and len(checkins) == 1800
    for window in (90, 1800):
        analyse(episodes, checkins, today=NOW, window_days=window)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            analyse(episodes, checkins, today=NOW, window_days=window)
            times.append(time.perf_counter() - t0)
        assert statistics.median(times) < 0.1, (window, times)


# --- only complete local days: the day in progress is never analysed (issue 16, item 2) -----------------------------
def _report_items(report: Mapping[str, Any]) -> dict[str, Any]:
    """Every count of episodes the snapshot reports, by section."""
    return {
        "window": report["window"]["episodes"],
        "periods": {p: v["all"]["n"] for p, v in report["frequency"]["periods"].items()},
        "timing": report["timing"]["n"],
        "where": report["where"]["n"],
        "duration": {k: v["n"] for k, v in report["duration"].items()},
        "relief": {r["measure"]: r["tried"] for r in report["relief"]},
    }


def test_an_episode_today_is_not_counted_anywhere() -> None:
    first = TODAY - dt.timedelta(days=29)
    days = [first + dt.timedelta(days=i) for i in range(30)]
    past = [episode(d, 10, relief=("stretch",), relief_score=5) for d in days[::3]]
    checkins = [checkin(d) for d in days]
    without = analyse(past, checkins, today=NOW, window_days=30)
    # the day in progress: episodes (in the account's zone and in another zone whose local day is NOW too),
    # a check-in, a relief rating; none of it may show anywhere
    now_rows = [
        episode(NOW, 0, 5, relief=("stretch",), relief_score=9, body_location="foot", kind="spasm"),
        episode(NOW, 8, tz="Asia/Tokyo", body_location="back"),
    ]
    with_today = analyse([*past, *now_rows], [*checkins, checkin(NOW, "low_water")], today=NOW, window_days=30)
    assert _report_items(with_today) == _report_items(without)
    assert with_today["window"]["end"] == TODAY.isoformat()
    assert with_today["frequency"]["periods"]["7"]["end"] == TODAY.isoformat()
    assert with_today["window"]["checkin_days"] == 30
    assert with_today == without


def test_yesterdays_exposure_is_not_paired_with_today() -> None:
    first = TODAY - dt.timedelta(days=39)
    days = [first + dt.timedelta(days=i) for i in range(40)]
    # low water on every fourth day and on the last complete day; one episode a day, none yet today
    checkins = [checkin(d, *(["low_water"] if i % 4 == 0 or d == TODAY else [])) for i, d in enumerate(days)]
    episodes = [episode(d) for d in days]
    f = finding(analyse(episodes, checkins, today=NOW, window_days=40), "low_water", 1)
    # the next-day pairs: exposure on day d with episodes on d + 1 inside the complete days; TODAY's low water
    # has no complete next day yet, so it is in no pair (today's zero episodes so far would look protective)
    exposed_next = [d for i, d in enumerate(days[:-1]) if i % 4 == 0]
    assert f["exposed_days"] == len(exposed_next)
    assert f["exposed_episodes"] == len(exposed_next)
    assert f["exposed_days"] + f["unexposed_days"] == 39


def test_the_trend_is_not_falling_because_today_has_only_begun() -> None:
    """Many episodes a day, the same every day (no trend), and only two so far today: counting today as a
    whole day made the recent 28 days look lower (the bias the issue measured: 9 "falling", 0 "rising")."""
    first = TODAY - dt.timedelta(days=55)
    episodes = [episode(first + dt.timedelta(days=i), 8 + k % 12, k % 60) for i in range(56) for k in range(300)]
    episodes += [episode(NOW, 7), episode(NOW, 8)]
    trend = analyse(episodes, [], today=NOW, window_days=56)["frequency"]["trend"]
    assert trend["status"] == "stable"
    assert trend["recent_episodes"] == trend["previous_episodes"] == 28 * 300
    assert trend["recent_days"] == trend["previous_days"] == 28


@pytest.mark.parametrize("now", [dt.date(2024, 3, 11), dt.date(2024, 11, 4)])
def test_a_dst_change_day_counts_as_one_day(now: dt.date) -> None:
    """New York's 23-hour (2024-03-10) and 25-hour (2024-11-03) days are one local day each: an episode
    just after midnight and one just before the next belong to that day, and a rate divides by days."""
    tz = "America/New_York"
    change = now - dt.timedelta(days=1)
    days = [now - dt.timedelta(days=i) for i in range(7, 0, -1)]
    episodes = [episode(d, 12, tz=tz) for d in days] + [episode(change, 0, 30, tz=tz), episode(change, 23, 30, tz=tz)]
    episodes.append(episode(now, 0, 30, tz=tz))  # the day in progress
    report = analyse(episodes, [checkin(d) for d in days], today=now, window_days=7)
    week = report["frequency"]["periods"]["7"]
    assert week["observed_days"] == 7
    assert week["all"]["n"] == 9
    assert week["all"]["per_day"] == pytest.approx(9 / 7, abs=1e-3)  # rounded to 4 significant digits
    assert report["window"]["start"] == days[0].isoformat() and report["window"]["end"] == change.isoformat()
    assert report["timing"]["counts"]["night"] == 1 and report["timing"]["counts"]["evening"] == 1
