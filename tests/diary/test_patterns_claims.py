"""Claims that mean what they say (issue 16, item 3): a "fewer" or next-day claim needs stronger evidence
than a same-day "more" claim, a finding the stratified re-test weakens is not presented as real, and a
"fewer" or next-day claim is not made on fewer than two weeks of exposed and of unexposed days."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from diary.patterns.analysis import CheckinRow, EpisodeRow, analyse
from diary.patterns.multiplicity import discovery_families
from diary.patterns.rules import MIN_SECONDARY_CLAIM_DAYS
from tests.diary.golden_diaries import report as golden_report
from tests.diary.test_patterns_analysis import NOW, TODAY, checkin, episode, finding, heat_and_water

SEVEN = np.zeros(7, dtype=np.int64)


def families(p: float, lag: int, more: bool) -> tuple[float, bool]:
    """One test with p-value ``p`` (the p its claim's family uses) among 7 same-day and 7 next-day tests
    whose other p-values are 0.5, at the recycled discovery level 0.05; its q-value and significance."""
    lags = np.concatenate([SEVEN, SEVEN + 1])
    more_a = np.ones(14, dtype=bool)
    p_two, p_greater, p_less = np.full(14, 0.5), np.full(14, 0.5), np.full(14, 0.5)
    i = 0 if lag == 0 else 7
    more_a[i] = more
    (p_greater if lag == 0 and more else p_less if lag == 0 else p_two)[i] = p
    q, ok = discovery_families(lags, more_a, p_two, p_greater, p_less, 0.05)
    return float(q[i]), bool(ok[i])


def test_a_p_that_passes_the_same_day_more_family_does_not_pass_the_secondary_families() -> None:
    # 0.003: within the primary family's first BH cut-off (0.05 / 2 / 7 = 0.00357) and within the old
    # single two-sided family's (0.05 / 14 = 0.00357), but not the secondary families' (0.05 / 20 / 7)
    assert families(0.003, lag=0, more=True) == (0.003 * 7, True)
    assert families(0.003, lag=1, more=True)[1] is False
    assert families(0.003, lag=1, more=False)[1] is False
    assert families(0.003, lag=0, more=False)[1] is False
    # strong enough evidence still makes a secondary claim
    assert families(0.0003, lag=1, more=True)[1] is True
    assert families(0.0003, lag=0, more=False)[1] is True
    # a tenth of the primary's bar: 0.001 passed with a quarter of the level each (0.05 / 4 / 7 = 0.0018)
    assert families(0.001, lag=1, more=True)[1] is False
    assert families(0.001, lag=0, more=False)[1] is False


def next_day_diary(period: int) -> tuple[list[EpisodeRow], list[CheckinRow]]:
    """84 days, low water every ``period`` days; 4 episodes the day after low water, 1 on every other day."""
    first = TODAY - dt.timedelta(days=83)
    low = {i for i in range(84) if i % period == 2}
    checkins = [checkin(first + dt.timedelta(days=i), *(("low_water",) if i in low else ())) for i in range(84)]
    episodes = [
        episode(first + dt.timedelta(days=i), 9 + k) for i in range(84) for k in range(4 if i - 1 in low else 1)
    ]
    return episodes, checkins


def test_no_next_day_claim_on_fewer_than_two_weeks_of_exposed_days() -> None:
    episodes, checkins = next_day_diary(period=7)  # 12 low-water days: below the minimum
    report = analyse(episodes, checkins, today=NOW, window_days=84)
    f = finding(report, "low_water", 1)
    assert f["exposed_days"] < MIN_SECONDARY_CLAIM_DAYS
    assert f["q_value"] <= 0.001  # overwhelming evidence, still no claim on 12 days
    assert not f["significant"]
    assert f["sentence"].startswith("No clear link yet")
    assert not any("low water" in h["sentence"] for h in report["summary"]["headlines"])
    # with two weeks of exposed days (every 6th day: 14) the same link is claimed
    episodes, checkins = next_day_diary(period=6)
    f = finding(analyse(episodes, checkins, today=NOW, window_days=84), "low_water", 1)
    assert f["exposed_days"] >= MIN_SECONDARY_CLAIM_DAYS and f["significant"]


def test_a_finding_the_stratified_re_test_weakens_is_not_presented_as_real() -> None:
    """The golden "weaker" diary: low water (which follows heat) passes discovery, but re-tested allowing
    for heat it fails its bar (it was "weaker, so it may partly reflect that" and kept as significant)."""
    report = golden_report("weaker")
    f = finding(report, "low_water", 0)
    assert f["adjusted_for"] == [{"exposure": "heat", "lag": 0}]
    assert not f["significant"]
    assert "not clear once heat (same day) is allowed for" in f["sentence"]
    assert "weaker" not in report["summary"]["sentence"]
    assert not any("under 1.5 L" in h["sentence"] for h in report["summary"]["headlines"])
    # the person's own suspicion of dehydration rests on the same days: not supported either, and why
    dehydration = next(s for s in report["suspected"] if s["trigger"] == "dehydration")
    assert dehydration["status"] == "not supported"
    assert "but not once heat (same day) is allowed for" in dehydration["sentence"]


def duration_diary(kinds: tuple[str, ...]) -> list[EpisodeRow]:
    """Per kind: 6 timed episodes in the last 28 days and 6 in the 28 before, Mann-Whitney p = 0.026."""
    recent, previous = (4, 8, 10, 11, 12, 13), (1, 2, 3, 5, 7, 9)
    return [
        episode(TODAY - dt.timedelta(days=offset + i), kind=k, duration_s=60 * m)
        for k in kinds
        for offset, minutes in ((1, recent), (31, previous))
        for i, m in enumerate(minutes)
    ]


def test_duration_trends_are_holm_adjusted_across_kinds() -> None:
    one = analyse(duration_diary(("cramp",)), [], today=NOW, window_days=60)["duration"]["cramp"]
    assert one["trend"]["status"] == "longer"
    assert one["trend"]["p_value"] is not None and 0.02 < one["trend"]["p_value"] < 0.03
    # the same p for two kinds: Holm-adjusted 0.052, so neither is said to be lasting longer
    two = analyse(duration_diary(("cramp", "spasm")), [], today=NOW, window_days=60)["duration"]
    for k in ("cramp", "spasm"):
        assert two[k]["trend"]["status"] == "no clear change"
        assert "lasting longer" not in two[k]["sentence"]


def mirror_diary(seed: int = 95) -> tuple[list[EpisodeRow], list[CheckinRow]]:
    """90 days. Heat (30% of days, in no pattern) doubles the rate; low water is on 80% of hot days and
    15% of the others, with no effect of its own; on this seed's days low water's split of the
    episodes looks stronger than heat's own (as measured from outside: 23 of the 48 false claims of the
    quality bench's hot-runs family were such mirrors while heat itself fell short)."""
    return heat_and_water(seed, 90, low_if_hot=(0.15, 0.8), rate_if_hot=(0.5, 1.0))[3:]


def test_exposures_whose_days_go_together_are_linked_and_independent_ones_are_not() -> None:
    from diary.patterns import analysis as an
    from diary.patterns.confirmation import linked
    from diary.patterns.days import checkin_days, episode_days
    from diary.patterns.exposures import exposure_matrix, exposure_tests

    episodes, checkins = mirror_diary()
    end = TODAY - dt.timedelta(days=1)
    start = end - dt.timedelta(days=89)
    logged, exposed = exposure_matrix(checkin_days(checkins, start, 90).values)
    ready = [t for t in exposure_tests(episode_days(episodes, start, end), logged, exposed, 90) if t.enough]
    index = {(t.exposure.code, t.lag): i for i, t in enumerate(ready)}
    water = linked(index[("low_water", 0)], ready, logged, exposed, 90)
    assert index[("heat", 0)] in water  # 80% of hot days are low-water days, 15% of the others
    assert index[("low_water", 1)] not in water  # low water comes and goes independently from day to day
    rng = np.random.default_rng(3)
    independent = rng.random(exposed.shape[1]) < 0.3
    exposed2 = exposed.copy()
    exposed2[an.EXPOSURES.index(next(x for x in an.EXPOSURES if x.code == "heat"))] = independent
    assert index[("heat", 0)] not in linked(index[("low_water", 0)], ready, logged, exposed2, 90)


def test_a_mirror_of_a_real_trigger_that_fell_short_is_not_presented() -> None:
    episodes, checkins = mirror_diary()
    report = analyse(episodes, checkins, today=NOW, window_days=90)
    water = next(f for f in report["triggers"] if f["exposure"] == "low_water" and f["lag"] == 0)
    heat = next(f for f in report["triggers"] if f["exposure"] == "heat" and f["lag"] == 0)
    assert heat["q_value"] > 0.025  # heat falls short of its own bar: nothing else re-tests low water
    assert water["q_value"] <= 0.025  # low water alone clears the same-day family's bar ...
    assert not water["significant"]  # ... but not once heat, whose days it goes with, is allowed for
    assert water["adjusted_for"] == [{"exposure": "heat", "lag": 0}]
    assert water["adjusted_p_value"] is not None and water["adjusted_p_value"] > 0.05
    assert water["sentence"].endswith(
        "but it is not clear once heat (same day) is allowed for: it may partly reflect that."
    )


def test_fisher_p_is_scipys_fisher_exact() -> None:
    from scipy import stats

    from diary.patterns.stats import fisher_p

    rng = np.random.default_rng(1)
    for a, b, c, d in rng.integers(0, 40, (300, 4)):
        if min(a + b, c + d, a + c, b + d):
            assert fisher_p(a, b, c, d) == pytest.approx(stats.fisher_exact([[a, b], [c, d]]).pvalue, abs=1e-9)
