"""The day-level permutation test (diary/patterns/permutation.py, issue 16 item 1) against a reference
computation: exact enumeration of every within-strata assignment of the exposed days on small cases, the
interval inverted by brute force, the normal approximation against the Monte Carlo one on many days, and
a strongly clustered null diary where the per-episode Poisson test rejects and this test does not."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from diary.patterns import permutation
from diary.patterns.permutation import day_tests
from diary.patterns.stats import RateComparison, compare_rates


def studentized(v: np.ndarray, e: np.ndarray, u: np.ndarray, strata: np.ndarray) -> float:
    """Reference statistic, written out plainly: sum_s w_s (mean exposed - mean unexposed) over the strata
    with both, w_s = t_e t_u / m, divided by the root of sum_s w_s^2 (var_e / t_e + var_u / t_u), the two
    variances pooled within groups over those strata."""
    num = ss_e = ss_u = c_e = c_u = 0.0
    n_e = n_u = k = 0
    for s in np.unique(strata):
        ve, vu = v[(strata == s) & e], v[(strata == s) & u]
        if not ve.size or not vu.size:
            continue
        w = ve.size * vu.size / (ve.size + vu.size)
        num += w * (ve.mean() - vu.mean())
        ss_e += ((ve - ve.mean()) ** 2).sum()
        ss_u += ((vu - vu.mean()) ** 2).sum()
        c_e += w * w / ve.size
        c_u += w * w / vu.size
        n_e, n_u, k = n_e + ve.size, n_u + vu.size, k + 1
    return num / math.sqrt(c_e * ss_e / max(n_e - k, 1) + c_u * ss_u / max(n_u - k, 1) + 1e-12)


def exact(y: np.ndarray, e: np.ndarray, u: np.ndarray, strata: np.ndarray, theta: float = 1.0) -> tuple[float, float]:
    """Reference: (P(T >= observed), P(T <= observed)) over EVERY assignment of each stratum's exposed days
    among its logged days, T the studentized statistic of the counts with the exposed days' counts divided
    by ``theta`` (theta = 1: the plain test)."""
    v = np.where(e, np.asarray(y, dtype=float) / theta, np.asarray(y, dtype=float))
    logged = e | u
    observed = studentized(v, e, u, strata)
    parts = []
    for s in np.unique(strata):
        days = np.flatnonzero((strata == s) & logged)
        parts.append([set(c) for c in itertools.combinations(days.tolist(), int(e[days].sum()))])
    totals = []
    for pick in itertools.product(*parts):
        chosen = np.zeros(v.size, dtype=bool)
        chosen[[d for part in pick for d in part]] = True
        totals.append(studentized(v, chosen, logged & ~chosen, strata))
    t = np.array(totals)
    tol = 1e-9 * (1 + abs(observed))
    return float((t >= observed - tol).mean()), float((t <= observed + tol).mean())


def mc_close(p_mc: float, p_exact: float, draws: int) -> bool:
    """A Monte Carlo permutation p ((1 + count) / (B + 1)) within 4 standard errors of the exact one."""
    se = math.sqrt(max(p_exact * (1 - p_exact), 1e-12) / draws)
    return abs(p_mc - p_exact) <= 4 * se + 1.5 / (draws + 1)


def draws_for(c: RateComparison) -> int:
    """How many permutations decided ``c``'s p (permutation.py's stages)."""
    p = min(c.p_greater, c.p_less)
    if p <= permutation.DEEP_BELOW:
        return permutation.DEEP_PERMUTATIONS
    return permutation.PERMUTATIONS if p <= permutation.REFINE_BELOW else permutation.FIRST_PERMUTATIONS


def test_the_monte_carlo_p_matches_exact_enumeration_within_strata() -> None:
    rng = np.random.default_rng(7)
    for case in range(6):
        m = 16
        strata = (np.arange(m) % 7 >= 5).astype(np.int64)
        e = rng.random(m) < 0.35
        u = ~e
        u[rng.integers(m)] = False  # a day that did not log the exposure
        e[np.flatnonzero(~u)[:1]] = False
        y = rng.poisson(rng.gamma(1.0, 1.0, m)) + 3 * e * (case % 2)  # half the cases with an effect
        c = day_tests(y, e[None], u[None], strata)[0]
        g, lo = exact(y, e, u, strata)
        draws = draws_for(c)
        assert mc_close(c.p_greater, g, draws), (case, c.p_greater, g)
        assert mc_close(c.p_less, lo, draws), (case, c.p_less, lo)
        assert c.p_two_sided == pytest.approx(min(1.0, 2 * min(c.p_greater, c.p_less)))


def test_the_smallest_p_is_one_over_the_draws_plus_one_and_never_zero() -> None:
    y = np.array([5, 6, 7, 5, 6, 5, 6, 7] + [0] * 16)
    e = y > 0
    c = day_tests(y, e[None], (~e)[None], np.zeros(24, dtype=np.int64))[0]
    # exact: 1 / C(24, 8) = 1.4e-6, below what the deepest stage resolves
    assert c.p_greater == pytest.approx(1 / (permutation.DEEP_PERMUTATIONS + 1))
    assert c.p_less == 1.0


def test_a_p_below_the_second_stage_is_resolved_by_the_third() -> None:
    """The secondary claim families' bars (multiplicity.py: about 0.00036 two-sided) lie below the
    second stage's smallest p (1 / 4,001 one-sided); a p that small gets DEEP_PERMUTATIONS. Before the
    third stage this p was 1 / 4,001 = 2.5e-4 whatever the data, and no next-day or "fewer" claim could
    be made on under 200 days."""
    y = np.array([5, 6, 7, 5, 6] + [0] * 15)
    e = y > 0
    c = day_tests(y, e[None], (~e)[None], np.zeros(20, dtype=np.int64))[0]
    exact_p = 1 / math.comb(20, 5)  # 6.5e-5: only the observed assignment puts every episode on exposed days
    assert c.p_greater < 1 / (permutation.PERMUTATIONS + 1)
    assert mc_close(c.p_greater, exact_p, permutation.DEEP_PERMUTATIONS)


def test_the_rate_ratio_is_mantel_haenszel_over_the_strata_and_crude_with_one() -> None:
    y = np.array([2, 0, 1, 3, 1, 0, 4, 2])
    e = np.array([1, 0, 1, 1, 0, 0, 1, 0], dtype=bool)
    one = day_tests(y, e[None], (~e)[None], np.zeros(8, dtype=np.int64))[0]
    assert one.rate_ratio == pytest.approx((10 / 4) / (3 / 4))
    strata = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    two = day_tests(y, e[None], (~e)[None], strata)[0]
    # stratum 0: 6 on 3 exposed days, 0 on 1; stratum 1: 4 on 1 exposed, 3 on 3; MH: sum(x_e t_u / m) / sum(x_u t_e / m)
    assert two.rate_ratio == pytest.approx((6 * 1 / 4 + 4 * 3 / 4) / (0 * 3 / 4 + 3 * 1 / 4))


def test_the_interval_inverts_the_same_test() -> None:
    """Each bound is where the one-sided test of "the ratio is theta" crosses 2.5%: checked against exact
    enumeration just inside and just outside it; and the interval excludes 1 exactly when p <= 0.05."""
    rng = np.random.default_rng(11)
    m = 14
    strata = np.zeros(m, dtype=np.int64)
    e = np.zeros(m, dtype=bool)
    e[:6] = True
    y = np.concatenate([rng.poisson(3.0, 6), rng.poisson(1.0, 8)])
    c = day_tests(y, e[None], (~e)[None], strata)[0]
    assert 0 < c.ci_low < c.rate_ratio < c.ci_high < math.inf
    draws = draws_for(c)
    tol = 4 * math.sqrt(0.025 * 0.975 / draws) + 2 / draws
    assert exact(y, e, ~e, strata, c.ci_low * 0.9)[0] <= 0.025 + tol  # below the interval: rejected
    assert exact(y, e, ~e, strata, c.ci_low * 1.1)[0] > 0.025 - tol
    assert exact(y, e, ~e, strata, c.ci_high * 1.1)[1] <= 0.025 + tol
    assert exact(y, e, ~e, strata, c.ci_high * 0.9)[1] > 0.025 - tol
    for case in range(40):
        y = rng.poisson(rng.gamma(1.0, 1.5, 30)) + (rng.random(30) < 0.3) * (case % 3)
        ex = rng.random(30) < 0.4
        c = day_tests(y, ex[None], (~ex)[None], (np.arange(30) % 7 >= 5).astype(np.int64))[0]
        assert (c.p_two_sided <= 0.05) == (c.ci_low > 1 or c.ci_high < 1), (case, c)


def test_a_strongly_clustered_null_diary_fools_the_poisson_test_but_not_this_one() -> None:
    """60 days, nothing on most; three bad days of 8 episodes with nothing to do with the exposure (20
    days), two of which happen to fall on exposed days. Per episode that is 16 + 2 on 20 days vs 8 + 2 on
    40: the exact Poisson test says p < 0.001. By day it is 2 bad days out of 3 on a third of the days:
    about a one in four chance."""
    y = np.zeros(60, dtype=np.int64)
    e = np.zeros(60, dtype=bool)
    e[::3] = True  # 20 exposed days
    y[[0, 3, 1]] = 8  # two bad days exposed, one not
    y[[6, 9, 4, 7]] = 1  # and a few single episodes: 2 exposed, 2 not
    old = compare_rates(int(y[e].sum()), 20, int(y[~e].sum()), 40)
    assert old.p_two_sided < 0.001 and old.ci_low > 1.5
    c = day_tests(y, e[None], (~e)[None], np.zeros(60, dtype=np.int64))[0]
    assert c.p_greater > 0.1 and c.p_two_sided > 0.2
    assert c.ci_low < 1 < c.ci_high
    assert c.rate_ratio == pytest.approx(old.rate_ratio)  # the same estimate, honest uncertainty


def test_the_normal_approximation_matches_the_monte_carlo_test_on_many_days() -> None:
    rng = np.random.default_rng(7)
    m = 900
    y = rng.poisson(rng.gamma(2.0, 0.75, m))
    e = rng.random(m) < 0.3
    y = y + (e & (rng.random(m) < 0.25))
    strata = (np.arange(m) % 7 >= 5).astype(np.int64)
    normal = day_tests(y, e[None], (~e)[None], strata)[0]  # over MC_MAX_DAYS days: normal
    assert m > permutation.MC_MAX_DAYS and min(e.sum(), (~e).sum()) >= permutation.NORMAL_MIN_SIDE
    old = permutation.MC_MAX_DAYS
    permutation.MC_MAX_DAYS = 10**6
    try:
        mc = day_tests(y, e[None], (~e)[None], strata)[0]
    finally:
        permutation.MC_MAX_DAYS = old
    # the same statistic, its permutation distribution drawn or taken as standard normal: the same
    # estimate, the same decision, p and the interval within a few percent
    assert normal.rate_ratio == pytest.approx(mc.rate_ratio)
    assert 0.001 < mc.p_two_sided < 0.05
    assert normal.p_two_sided == pytest.approx(mc.p_two_sided, rel=0.6)
    assert normal.ci_low == pytest.approx(mc.ci_low, rel=0.05)
    assert normal.ci_high == pytest.approx(mc.ci_high, rel=0.05)


def test_the_same_data_give_the_same_answer() -> None:
    rng = np.random.default_rng(3)
    y = rng.poisson(1.0, 90)
    e = rng.random((7, 90)) < 0.3
    strata = (np.arange(90) % 7 >= 5).astype(np.int64)
    assert day_tests(y, e, ~e, strata) == day_tests(y.copy(), e.copy(), ~e, strata)


def test_a_weekly_rhythm_is_not_read_as_an_exposure_effect() -> None:
    """Twice the episodes at weekends, vigorous exercise mostly at weekends, no effect of exercise within
    weekends or within weekdays: compared across all days it looks like a trigger, within them it is not."""
    days = 182
    weekend = (np.arange(days) % 7 >= 5).astype(np.int64)
    y = np.where(weekend, 2, 1).astype(np.int64)
    e = np.zeros(days, dtype=bool)
    e[weekend == 1] = np.arange(int(weekend.sum())) % 5 != 0  # 80% of weekend days
    e[weekend == 0] = np.arange(int((weekend == 0).sum())) % 10 == 0  # 10% of weekdays
    crude = day_tests(y, e[None], (~e)[None], np.zeros(days, dtype=np.int64))[0]
    assert crude.p_greater < 0.001 and crude.rate_ratio > 1.5
    within = day_tests(y, e[None], (~e)[None], weekend)[0]
    assert within.rate_ratio == pytest.approx(1.0)
    assert within.p_two_sided == 1.0
