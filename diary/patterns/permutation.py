"""Day-level permutation tests of "more (or fewer) episodes on exposed days". Pure numpy/scipy (no Django).

Why not a test per episode: episodes cluster (a trigger or a bad week makes several on one day), so the
day counts are overdispersed, and the exact conditional Poisson test (binomial per episode, stats.py)
then treats ten episodes of one bad day as ten independent pieces of evidence. Measured from outside,
this made about one presented claim in seven false (most of them other exposures' same-day "more" in
diaries with clustered days, a weekly rhythm, or hot days in runs).

The test here takes the DAY as the unit. For one exposure, the statistic is the episode total on its
exposed days, ``x_e``. Under "the exposure makes no difference", which days were exposed is
exchangeable with the days' counts, so the null distribution of ``x_e`` is that of the total of a random
set of ``t_e`` of the same days: exact given the day counts whatever their distribution (no Poisson
assumption, clustering included). Days are exchanged only within a STRATUM: weekend vs weekday of the
episode day (a weekly rhythm, e.g. more episodes and more exercise at weekends, is not read as an
exposure effect), and the same set of logged exposures (a day that did not log an exposure never moves
into its comparison).

- ``p_greater = (1 + #{permutations with total >= x_e}) / (B + 1)`` (``p_less`` alike), the Monte Carlo
  permutation p-value, valid at any B; ``B = PERMUTATIONS``; two-sided ``min(1, 2 min(p_greater,
  p_less))``. The permutations are seeded from the data (a hash of the day counts, exposures and strata),
  so the same diary always gets the same answer.
- The rate ratio is the Mantel-Haenszel rate ratio over the strata (with one stratum: the crude ratio).
  It is the value of ``theta`` at which the observed total equals its permutation mean once the exposed
  days' counts are divided by ``theta``, the estimate that belongs to this test.
- The confidence interval inverts the same test: ``theta`` is in the 95% interval when neither one-sided
  test of "the ratio is theta" (exposed days' counts divided by ``theta``, then permuted) rejects at
  2.5%. With the same permutations each bound is an order statistic of ``(x_e - a_k) / b_k``, where
  ``a_k`` and ``b_k`` are the k-th permutation's totals of the counts drawn from exposed and from
  unexposed days: so the interval excludes 1 exactly when the two-sided p is at most 0.05.
- With many days (over ``MC_MAX_DAYS`` compared, and at least ``NORMAL_MIN_SIDE`` exposed and unexposed),
  the same permutation distribution is taken as normal with its exact mean and variance (the
  finite-population central limit theorem; each side's total sums hundreds of days), and the interval
  inverts that: five years of data stay fast.
- With no episodes on one side in the strata that compare anything, the ratio has no finite estimate and
  the inversion leaves that bound open; the other bound is then the exact Poisson one (stats.py), moved
  to 1 if needed so that the interval still excludes 1 exactly when the permutation test rejects.
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np

from diary.patterns.stats import RateComparison, compare_rates

# Monte Carlo in two stages: FIRST_PERMUTATIONS for every exposure; those with a one-sided p at most
# REFINE_BELOW get PERMUTATIONS in all (the p that decides a claim is then precise to about 1/PERMUTATIONS).
# The reported p is valid at every level: below REFINE_BELOW it can only be the full run's (itself valid),
# above, it is at most the first stage's.
FIRST_PERMUTATIONS = 500
PERMUTATIONS = 4000
REFINE_BELOW = 0.02
MC_MAX_DAYS = 400  # beyond this many days compared, exposures with ...
NORMAL_MIN_SIDE = 100  # ... at least this many exposed and unexposed days use the normal approximation


def refine(strata: np.ndarray, logged: np.ndarray) -> np.ndarray:
    """Stratum ids (0..n-1) combining ``strata`` with each day's pattern of logged exposures."""
    _, first = np.unique(strata, return_inverse=True)
    key = first.reshape(-1).astype(np.int64)
    for row in logged:  # one bit per exposure
        key = key * 2 + row
    _, ids = np.unique(key, return_inverse=True)
    return ids.reshape(-1)


@functools.lru_cache(maxsize=32)
def _pool(n: int, block: int) -> np.ndarray:
    """PERMUTATIONS independent uniform permutations of ``range(n)`` (rows), the ``block``-th such pool for
    size ``n``: fixed seeds, generated once per process and shared by every analysis (the draws must be
    independent of the data, not of other people's)."""
    rng = np.random.default_rng([n, block, 20261205])
    dtype = np.int16 if n < 2**15 else np.int32
    return rng.permuted(np.broadcast_to(np.arange(n, dtype=dtype), (PERMUTATIONS, n)), axis=1)


def _draws(sid: np.ndarray, y: np.ndarray, exposed: np.ndarray, rows: slice) -> np.ndarray:
    """The permutations ``rows`` (of PERMUTATIONS) that move each day only within its stratum, as four
    sums per permutation, exposure (row of ``exposed``) and stratum, over the days that land on exposed
    days: of the counts drawn from exposed days, of all counts, of the squared counts drawn from exposed
    days, of all squared counts. Shape (4, permutations, exposures, strata). Each stratum takes its own
    pool (strata of one size take different blocks), so the strata are permuted independently and
    uniformly."""
    b = len(range(*rows.indices(PERMUTATIONS)))
    strata = int(sid.max()) + 1
    out = np.zeros((4, b, exposed.shape[0], strata))
    used: dict[int, int] = {}
    for s in range(strata):
        idx = np.flatnonzero(sid == s)
        block = used.get(idx.size, 0)
        used[idx.size] = block + 1
        es = exposed[:, idx].astype(np.float32)
        ys = y[idx].astype(np.float32)
        if not es.any() or not ys.any():
            continue
        perm = _pool(idx.size, block)[rows]
        yp = ys[perm]
        out[1, :, :, s] = yp @ es.T
        out[3, :, :, s] = (yp * yp) @ es.T
        for j, e in enumerate(es):
            if e.any():
                out[0, :, j, s] = (ys * e)[perm] @ e
                out[2, :, j, s] = (ys * ys * e)[perm] @ e
    return out


class _Studentized:
    """One exposure's studentized statistic under every permutation, for any ratio ``theta``.

    Under "the ratio is theta" the exposed days' counts are divided by theta. In each stratum that
    compares anything (exposed and unexposed days), ``d_s`` is the exposed days' mean minus the unexposed
    days' mean; the statistic is ``sum_s w_s d_s / sqrt(V)``, ``w_s = t_e t_u / m`` (the Mantel-Haenszel
    weights), ``V`` its variance from the spread WITHIN the exposed and within the unexposed days
    (pooled over the strata). Dividing by the spread within the groups, not around the overall mean,
    keeps a real effect from inflating its own null spread (the plain total lost a quarter of the
    recall of a planted trigger at 30 days); the permutation distribution keeps it exact."""

    def __init__(self, draws: np.ndarray, y: np.ndarray, e: np.ndarray, u: np.ndarray, sid: np.ndarray) -> None:
        n = draws.shape[-1]
        yf = y.astype(float)

        def per(weights: np.ndarray) -> np.ndarray:
            return np.bincount(sid, weights=weights, minlength=n)

        t_e, t_u = per(e.astype(float)), per(u.astype(float))
        keep = (t_e > 0) & (t_u > 0)
        self.t_e, self.t_u = t_e[keep], t_u[keep]
        self.e1, self.u1 = per(yf * e)[keep], per(yf * u)[keep]
        self.e2, self.u2 = per(yf * yf * e)[keep], per(yf * yf * u)[keep]
        self.a1, self.a2 = draws[0][:, keep], draws[2][:, keep]
        self.b1, self.b2 = draws[1][:, keep] - self.a1, draws[3][:, keep] - self.a2
        self.w = self.t_e * self.t_u / (self.t_e + self.t_u)
        df_e = max(float(self.t_e.sum()) - int(keep.sum()), 1.0)
        df_u = max(float(self.t_u.sum()) - int(keep.sum()), 1.0)
        self.c_e = float((self.w * self.w / self.t_e).sum()) / df_e
        self.c_u = float((self.w * self.w / self.t_u).sum()) / df_u

    def _stat(self, theta: float, a1: np.ndarray, b1: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
        se, se2 = a1 / theta + b1, a2 / (theta * theta) + b2
        su = self.e1 / theta + self.u1 - se
        su2 = self.e2 / (theta * theta) + self.u2 - se2
        d = se / self.t_e - su / self.t_u
        ss_e = np.maximum(se2 - se * se / self.t_e, 0.0).sum(axis=-1)
        ss_u = np.maximum(su2 - su * su / self.t_u, 0.0).sum(axis=-1)
        return np.asarray((self.w * d).sum(axis=-1) / np.sqrt(self.c_e * ss_e + self.c_u * ss_u + 1e-12))

    def p(self, theta: float) -> tuple[float, float]:
        """Monte Carlo p-values of "the ratio is theta": ``(1 + #{T_k >= T}) / (B + 1)`` and with ``<=``."""
        t = self._stat(theta, self.a1, self.b1, self.a2, self.b2)
        z = np.zeros_like(self.e1)
        obs = float(self._stat(theta, self.e1, z, self.e2, z))
        tol = 1e-9 * (1 + abs(obs))
        n = t.size + 1
        return (1 + int(np.count_nonzero(t >= obs - tol))) / n, (1 + int(np.count_nonzero(t <= obs + tol))) / n

    def bounds(self, estimate: float, alpha: float) -> tuple[float, float]:
        """The interval: the ``theta`` where each one-sided p crosses ``alpha / 2`` (bisection on log theta
        either side of the estimate; 0 or unbounded when it never does within a factor of e^8)."""

        def cross(side: int, outward: float) -> float:
            inside, outside = math.log(estimate), math.log(estimate) + outward
            if self.p(math.exp(outside))[side] > alpha / 2:
                return 0.0 if outward < 0 else math.inf
            if self.p(estimate)[side] <= alpha / 2:
                return estimate
            for _ in range(16):
                mid = (inside + outside) / 2
                if self.p(math.exp(mid))[side] > alpha / 2:
                    inside = mid
                else:
                    outside = mid
            return math.exp((inside + outside) / 2)

        return cross(0, -8.0), cross(1, 8.0)


class _Normal:
    """One exposure's permutation distribution as normal (module docstring): the mean and variance of the
    exposed total of ``y (e + theta u)`` are ``mean0 + mean1 theta`` and ``var0 + var1 theta + var2
    theta^2`` (sums over the strata that compare anything of the finite-population formulas)."""

    def __init__(self, y: np.ndarray, e: np.ndarray, u: np.ndarray, sid: np.ndarray) -> None:
        n = int(sid.max()) + 1
        yf = y.astype(float)
        m = np.bincount(sid, weights=(e | u).astype(float), minlength=n)
        t_e = np.bincount(sid, weights=e.astype(float), minlength=n)
        e1, u1 = np.bincount(sid, weights=yf * e, minlength=n), np.bincount(sid, weights=yf * u, minlength=n)
        e2 = np.bincount(sid, weights=yf * yf * e, minlength=n)
        u2 = np.bincount(sid, weights=yf * yf * u, minlength=n)
        keep = (t_e > 0) & (t_e < m)
        m, t_e, e1, u1, e2, u2 = m[keep], t_e[keep], e1[keep], u1[keep], e2[keep], u2[keep]
        c = t_e * (m - t_e) / (m * (m - 1))
        self.observed = float(e1.sum())
        self.mean0, self.mean1 = float((t_e * e1 / m).sum()), float((t_e * u1 / m).sum())
        self.var0 = float((c * (e2 - e1 * e1 / m)).sum())
        self.var1 = float((c * (-2 * e1 * u1 / m)).sum())
        self.var2 = float((c * (u2 - u1 * u1 / m)).sum())

    def z(self, theta: float, shift: float) -> float:
        """The observed total moved by ``shift`` (the half-unit continuity correction: -0.5 for the upper
        tail, +0.5 for the lower), standardised under "the ratio is theta" (falls as theta grows)."""
        var = self.var0 + theta * (self.var1 + theta * self.var2)
        d = self.observed + shift - self.mean0 - self.mean1 * theta
        return d / math.sqrt(var) if var > 0 else math.copysign(math.inf, d) if d else 0.0

    def bound(self, z: float, shift: float) -> float:
        """``theta`` where ``self.z(theta, shift) == z`` (bisection on log theta)."""
        lo, hi = -12.0, 12.0
        if self.z(math.exp(lo), shift) < z:
            return 0.0
        if self.z(math.exp(hi), shift) > z:
            return math.inf
        for _ in range(50):
            mid = (lo + hi) / 2
            if self.z(math.exp(mid), shift) > z:
                lo = mid
            else:
                hi = mid
        return math.exp((lo + hi) / 2)


def _upper(z: float) -> float:
    """P(Z >= z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def mantel_haenszel(y: np.ndarray, e: np.ndarray, u: np.ndarray, sid: np.ndarray) -> tuple[float, float]:
    """The Mantel-Haenszel rate ratio's numerator and denominator over the strata."""
    n = int(sid.max()) + 1 if sid.size else 0
    yf = y.astype(float)
    t_e = np.bincount(sid, weights=e.astype(float), minlength=n)
    t_u = np.bincount(sid, weights=u.astype(float), minlength=n)
    m = t_e + t_u
    x_e = np.bincount(sid, weights=yf * e, minlength=n)
    x_u = np.bincount(sid, weights=yf * u, minlength=n)
    ok = m > 0
    return float((x_e * t_u / np.where(ok, m, 1))[ok].sum()), float((x_u * t_e / np.where(ok, m, 1))[ok].sum())


def _open_bounds(c: RateComparison, lo: float, hi: float, num: float, den: float) -> tuple[float, float]:
    """With no episodes on one side the permutation interval leaves that side's bound open; the other is
    the exact Poisson one, on the side of 1 the permutation test decided (module docstring)."""
    if not (den == 0 and num > 0) and not (num == 0 and den > 0):
        return lo, hi
    poisson = compare_rates(c.x_e, c.t_e, c.x_u, c.t_u)
    if den == 0 and num > 0:
        significant = c.p_greater <= 0.025
        return (max(poisson.ci_low, 1.0) if significant else min(poisson.ci_low, 1.0)), math.inf
    if num == 0 and den > 0:
        significant = c.p_less <= 0.025
        return 0.0, (min(poisson.ci_high, 1.0) if significant else max(poisson.ci_high, 1.0))
    return lo, hi


def day_tests(
    y: np.ndarray, exposed: np.ndarray, unexposed: np.ndarray, strata: np.ndarray, confidence: float = 0.95
) -> list[RateComparison]:
    """One comparison per row of ``exposed``/``unexposed`` (exposures x days, disjoint; a day in neither
    did not log that exposure), of the day counts ``y``, exchanging days within ``strata`` (module
    docstring). A row with no exposed or no unexposed day gets p 1 and an open interval."""
    y = np.asarray(y, dtype=np.int64)
    exposed = np.atleast_2d(np.asarray(exposed, dtype=bool))
    unexposed = np.atleast_2d(np.asarray(unexposed, dtype=bool))
    logged = exposed | unexposed
    used = logged.any(axis=0)
    y, exposed, unexposed, logged = y[used], exposed[:, used], unexposed[:, used], logged[:, used]
    sid = refine(np.asarray(strata)[used], logged)
    alpha = 1 - confidence
    k, m = exposed.shape
    t_e, t_u = exposed.sum(axis=1), unexposed.sum(axis=1)
    x_e, x_u = exposed @ y, unexposed @ y
    out: list[RateComparison | None] = [None] * k
    monte_carlo = []
    for j in range(k):
        num, den = mantel_haenszel(y, exposed[j], unexposed[j], sid)
        if t_e[j] == 0 or t_u[j] == 0 or x_e[j] + x_u[j] == 0 or num + den == 0:
            rr = math.nan if num + den == 0 else (math.inf if den == 0 else num / den)
            out[j] = RateComparison(int(x_e[j]), int(t_e[j]), int(x_u[j]), int(t_u[j]), rr, 0.0, math.inf, 1.0, 1.0)
        elif m > MC_MAX_DAYS and min(t_e[j], t_u[j]) >= NORMAL_MIN_SIDE:
            s = _Normal(y, exposed[j], unexposed[j], sid)
            p_g, p_l = _upper(s.z(1.0, -0.5)), 1 - _upper(s.z(1.0, 0.5))
            z = NormalDist().inv_cdf(1 - alpha / 2)
            c = RateComparison(
                int(x_e[j]), int(t_e[j]), int(x_u[j]), int(t_u[j]), math.inf if den == 0 else num / den,
                s.bound(z, -0.5), s.bound(-z, 0.5), min(1.0, 2 * min(p_g, p_l)), p_g, p_l,
            )  # fmt: skip
            lo, hi = _open_bounds(c, c.ci_low, c.ci_high, num, den)
            out[j] = RateComparison(c.x_e, c.t_e, c.x_u, c.t_u, c.rate_ratio, lo, hi, c.p_two_sided, p_g, p_l)
        else:
            monte_carlo.append((j, num, den))
    if monte_carlo:
        rows = [j for j, _, _ in monte_carlo]
        draws = _draws(sid, y, exposed[rows], slice(0, FIRST_PERMUTATIONS))
        refine_rows = []
        for col, (j, _, _) in enumerate(monte_carlo):
            first = _Studentized(draws[:, :, col], y, exposed[j], unexposed[j], sid)
            if min(first.p(1.0)) <= REFINE_BELOW:
                refine_rows.append(col)
        if refine_rows:
            more = _draws(sid, y, exposed[[rows[c] for c in refine_rows]], slice(FIRST_PERMUTATIONS, PERMUTATIONS))
        for col, (j, num, den) in enumerate(monte_carlo):
            d = draws[:, :, col]
            if col in refine_rows:
                d = np.concatenate([d, more[:, :, refine_rows.index(col)]], axis=1)
            st = _Studentized(d, y, exposed[j], unexposed[j], sid)
            p_g, p_l = st.p(1.0)
            rr = math.inf if den == 0 else num / den
            lo, hi = st.bounds(rr, alpha) if 0 < rr < math.inf else (0.0, math.inf)
            # the interval holds 1 exactly when neither one-sided test rejects at alpha / 2
            lo = max(lo, 1.0) if p_g <= alpha / 2 else min(lo, 1.0)
            hi = min(hi, 1.0) if p_l <= alpha / 2 else max(hi, 1.0)
            c = RateComparison(
                int(x_e[j]), int(t_e[j]), int(x_u[j]), int(t_u[j]), rr, lo, hi, min(1.0, 2 * min(p_g, p_l)), p_g, p_l
            )
            lo, hi = _open_bounds(c, lo, hi, num, den)
            out[j] = RateComparison(c.x_e, c.t_e, c.x_u, c.t_u, rr, lo, hi, c.p_two_sided, p_g, p_l)
    return [c for c in out if c is not None]
