"""Day-level permutation tests of "more (or fewer) episodes on exposed days". Pure numpy/scipy (no Django).

Why not a test per episode: episodes cluster (a trigger or a bad week makes several on one day), so the
day counts are overdispersed, and the exact conditional Poisson test (binomial per episode, stats.py)
then treats ten episodes of one bad day as ten independent pieces of evidence. Measured from outside,
this made about one presented claim in seven false (most of them other exposures' same-day "more" in
diaries with clustered days, a weekly rhythm, or hot days in runs).

The test here takes the DAY as the unit. Under "the exposure makes no difference", which days were
exposed is exchangeable with the days' counts, so any statistic's null distribution is its distribution
over re-assignments of the exposed days among the same days: exact given the day counts whatever their
distribution (no Poisson assumption, clustering included). Days are exchanged only within a STRATUM:
weekend vs weekday of the episode day (a weekly rhythm, e.g. more episodes and more exercise at weekends,
is not read as an exposure effect), and the same set of logged exposures (a day that did not log an
exposure never moves into its comparison).

- The statistic (``_Studentized``): in each stratum with exposed and unexposed days, the exposed days'
  mean count minus the unexposed days', weighted ``t_e t_u / m`` and summed, divided by its standard
  error from the spread within the exposed and within the unexposed days. (The plain exposed total is
  also exact, but its permutation spread includes a real effect's own variance: it lost a quarter of the
  recall of planted triggers at 30 days.)
- ``p_greater = (1 + #{permutations with a statistic >= the observed}) / (B + 1)`` (``p_less`` alike),
  valid at any B; two-sided ``min(1, 2 min(p_greater, p_less))``. Monte Carlo in three stages: every
  exposure gets FIRST_PERMUTATIONS, those with a one-sided p at most REFINE_BELOW get PERMUTATIONS in all,
  those still at most DEEP_BELOW get DEEP_PERMUTATIONS (the bars of the secondary claim families).
  The permutations come from fixed-seed pools (``_pool``), so the same diary always gets the same answer.
- The rate ratio is the Mantel-Haenszel rate ratio over the strata (with one stratum: the crude ratio):
  the ratio at which the exposed days, their counts divided by it, match the others on average.
- The confidence interval inverts the same test: ``theta`` is in the 95% interval when neither one-sided
  test of "the ratio is theta" (exposed days' counts divided by ``theta``, then permuted with the same
  permutations) rejects at 2.5%; each bound by bisection on log theta over the first FIRST_PERMUTATIONS
  permutations (started from the normal form's bound), and the interval holds 1 exactly
  when the two-sided p is over 0.05.
- With many days (over ``MC_MAX_DAYS`` compared, and at least ``NORMAL_MIN_SIDE`` exposed and unexposed),
  the studentized statistic is taken as standard normal (its large-sample permutation distribution; a
  Welch-type comparison of the day counts within the strata), and the interval inverts that: a year or
  five of data stay fast.
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

# Monte Carlo in stages: FIRST_PERMUTATIONS for every exposure; those with a one-sided p at most
# REFINE_BELOW get PERMUTATIONS in all (the p that decides a claim is then precise to about 1/PERMUTATIONS),
# and those with a one-sided p still at most DEEP_BELOW get DEEP_PERMUTATIONS: the secondary claim
# families' bars (multiplicity.py) lie below what 4,000 permutations can resolve (their smallest
# two-sided p is 2 / 4,001 = 0.0005, the next-day family's first bar about 0.00036).
# The reported p is valid at every level: each stage's p is itself valid, and a stage only replaces the
# one before when the one before was already small.
FIRST_PERMUTATIONS = 500
PERMUTATIONS = 4000
DEEP_PERMUTATIONS = 20000
REFINE_BELOW = 0.02
DEEP_BELOW = 0.001
POOL = 4000  # permutations per generated pool chunk
MC_MAX_DAYS = 200  # beyond this many days compared, exposures with ...
NORMAL_MIN_SIDE = 50  # ... at least this many exposed and unexposed days use the normal approximation


def refine(strata: np.ndarray, logged: np.ndarray) -> np.ndarray:
    """Stratum ids (0..n-1) combining ``strata`` with each day's pattern of logged exposures."""
    _, first = np.unique(strata, return_inverse=True)
    key = first.reshape(-1).astype(np.int64)
    for row in logged:  # one bit per exposure
        key = key * 2 + row
    _, ids = np.unique(key, return_inverse=True)
    return ids.reshape(-1)


@functools.lru_cache(maxsize=32)
def _chunk(n: int, block: int, chunk: int) -> np.ndarray:
    """POOL independent uniform permutations of ``range(n)`` (rows): chunk ``chunk`` of the ``block``-th
    pool for size ``n``. Fixed seeds, generated once per process and shared by every analysis (the draws
    must be independent of the data, not of other people's)."""
    rng = np.random.default_rng([n, block, 20261205] + ([chunk] if chunk else []))
    dtype = np.int16 if n < 2**15 else np.int32
    return rng.permuted(np.broadcast_to(np.arange(n, dtype=dtype), (POOL, n)), axis=1)


def _pool(n: int, block: int, rows: slice) -> np.ndarray:
    """Rows ``rows`` of the ``block``-th pool of permutations of ``range(n)`` (as many chunks as needed)."""
    start, stop, _ = rows.indices(DEEP_PERMUTATIONS)
    parts = []
    for chunk in range(start // POOL, (stop - 1) // POOL + 1):
        lo, hi = max(start, chunk * POOL) - chunk * POOL, min(stop, (chunk + 1) * POOL) - chunk * POOL
        parts.append(_chunk(n, block, chunk)[lo:hi])
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _draws(sid: np.ndarray, y: np.ndarray, exposed: np.ndarray, rows: slice) -> np.ndarray:
    """The permutations ``rows`` (of DEEP_PERMUTATIONS) that move each day only within its stratum, as four
    sums per permutation, exposure (row of ``exposed``) and stratum, over the days that land on exposed
    days: of the counts drawn from exposed days, of all counts, of the squared counts drawn from exposed
    days, of all squared counts. Shape (4, permutations, exposures, strata). Each stratum takes its own
    pool (strata of one size take different blocks), so the strata are permuted independently and
    uniformly."""
    b = len(range(*rows.indices(DEEP_PERMUTATIONS)))
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
        perm = _pool(idx.size, block, rows)
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
        zero = np.zeros((1, int(keep.sum())))
        self.a1 = np.vstack([self.e1[None, :], draws[0][:, keep]])  # row 0: the observed assignment
        self.a2 = np.vstack([self.e2[None, :], draws[2][:, keep]])
        self.b1 = np.vstack([zero, draws[1][:, keep] - draws[0][:, keep]])
        self.b2 = np.vstack([zero, draws[3][:, keep] - draws[2][:, keep]])
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

    def p(self, theta: float, draws: tuple[np.ndarray, ...] | None = None) -> tuple[float, float]:
        """Monte Carlo p-values of "the ratio is theta": ``(1 + #{T_k >= T}) / (B + 1)`` and with ``<=``
        (over ``draws``, (a1, b1, a2, b2), all of them by default). Row 0 of each is the observed
        assignment (the exposed days' own sums), so one pass gives T and every T_k."""
        a1, b1, a2, b2 = draws or (self.a1, self.b1, self.a2, self.b2)
        t = self._stat(theta, a1, b1, a2, b2)
        obs = float(t[0])
        tol = 1e-9 * (1 + abs(obs))
        n = t.size
        return (int(np.count_nonzero(t >= obs - tol))) / n, (int(np.count_nonzero(t <= obs + tol))) / n

    def normal_p(self, theta: float) -> tuple[float, float]:
        """The same one-sided p-values with the statistic taken as standard normal (many days)."""
        z = np.zeros_like(self.e1)
        upper = _upper(float(self._stat(theta, self.e1, z, self.e2, z)))
        return upper, 1 - upper

    def normal_bounds(self, alpha: float) -> tuple[float, float] | None:
        """``normal_p``'s interval in closed form. With ``x = 1 / theta`` only the exposed days' values
        scale, so the statistic is ``(A x - C) / sqrt(D x^2 + F)``; each bound solves a quadratic in x
        (the root on the side of the estimate). None when the spread is degenerate (then: bisection)."""
        a = float((self.w * self.e1 / self.t_e).sum())
        c = float((self.w * self.u1 / self.t_u).sum())
        d = self.c_e * float((self.e2 - self.e1 * self.e1 / self.t_e).sum())
        f = self.c_u * float((self.u2 - self.u1 * self.u1 / self.t_u).sum())
        if a <= 0 or c <= 0 or d <= 0 or f <= 0:
            return None
        z = NormalDist().inv_cdf(1 - alpha / 2)
        qa, qb, qc = a * a - z * z * d, -2 * a * c, c * c - z * z * f
        disc = qb * qb - 4 * qa * qc
        roots = [] if disc < 0 or qa == 0 else [(-qb - math.sqrt(disc)) / (2 * qa), (-qb + math.sqrt(disc)) / (2 * qa)]
        up = [x for x in roots if x > 0 and a * x - c > 0]  # z(theta) = +z: the lower bound
        down = [x for x in roots if x > 0 and a * x - c < 0]  # z(theta) = -z: the upper bound
        lo = 1 / min(up) if up else 0.0
        hi = 1 / max(down) if down else math.inf
        return lo, hi

    def bounds(self, estimate: float, alpha: float, normal: bool = False) -> tuple[float, float]:
        """The interval: the ``theta`` where each one-sided p crosses ``alpha / 2``, by bisection on log theta.
        The Monte Carlo search uses the first FIRST_PERMUTATIONS draws, in a bracket of a factor of 2 around
        the normal form's bound when that holds the crossing (else from the estimate out to a factor of
        e^8; 0 or unbounded when it never crosses there); day_tests then keeps the interval on the side of
        1 the full test decided."""
        closed = self.normal_bounds(alpha)
        if normal and closed is not None:
            return closed
        if normal:
            p = self.normal_p
        else:
            first = slice(0, FIRST_PERMUTATIONS + 1)
            a1, b1, a2, b2 = self.a1[first], self.b1[first], self.a2[first], self.b2[first]

            def p(theta: float) -> tuple[float, float]:
                return self.p(theta, (a1, b1, a2, b2))

        def holds(theta: float, side: int) -> bool:
            return p(theta)[side] > alpha / 2

        def cross(side: int, outward: float) -> float:
            guess = None if closed is None else closed[side]
            inside, outside = math.log(estimate), math.log(estimate) + outward
            steps = 16
            if guess is not None and 0 < guess < math.inf:
                lo_g, hi_g = (
                    math.log(guess) - 0.7 * math.copysign(1, outward),
                    math.log(guess) + 0.7 * math.copysign(1, outward),
                )
                if holds(math.exp(lo_g), side) and not holds(math.exp(hi_g), side):
                    inside, outside, steps = lo_g, hi_g, 8
            if steps == 16:
                if holds(math.exp(outside), side):
                    return 0.0 if outward < 0 else math.inf
                if not holds(estimate, side):
                    return estimate
            for _ in range(steps):
                mid = (inside + outside) / 2
                if holds(math.exp(mid), side):
                    inside = mid
                else:
                    outside = mid
            return math.exp((inside + outside) / 2)

        return cross(0, -8.0), cross(1, 8.0)


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


def _comparison(
    st: _Studentized, p: tuple[float, float], normal: bool, x_e: int, t_e: int, x_u: int, t_u: int,
    num: float, den: float, alpha: float,
) -> RateComparison:  # fmt: skip
    """One exposure's comparison: the estimate, the p-values ``p`` (greater, less) and the interval that
    inverts the same test; the interval holds 1 exactly when neither one-sided test rejects at alpha / 2."""
    p_g, p_l = p
    rr = math.inf if den == 0 else num / den
    lo, hi = st.bounds(rr, alpha, normal) if 0 < rr < math.inf else (0.0, math.inf)
    lo = max(lo, 1.0) if p_g <= alpha / 2 else min(lo, 1.0)
    hi = min(hi, 1.0) if p_l <= alpha / 2 else max(hi, 1.0)
    c = RateComparison(x_e, t_e, x_u, t_u, rr, lo, hi, min(1.0, 2 * min(p_g, p_l)), p_g, p_l)
    lo, hi = _open_bounds(c, lo, hi, num, den)
    return RateComparison(x_e, t_e, x_u, t_u, rr, lo, hi, c.p_two_sided, p_g, p_l)


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
            st = _Studentized(np.zeros((4, 0, int(sid.max()) + 1)), y, exposed[j], unexposed[j], sid)
            out[j] = _comparison(
                st, st.normal_p(1.0), True, int(x_e[j]), int(t_e[j]), int(x_u[j]), int(t_u[j]), num, den, alpha
            )
        else:
            monte_carlo.append((j, num, den))
    if monte_carlo:
        rows = [j for j, _, _ in monte_carlo]
        draws = list(_draws(sid, y, exposed[rows], slice(0, FIRST_PERMUTATIONS)).transpose(2, 0, 1, 3))
        done = FIRST_PERMUTATIONS
        for below, upto in ((REFINE_BELOW, PERMUTATIONS), (DEEP_BELOW, DEEP_PERMUTATIONS)):
            small = [
                col
                for col, (j, _, _) in enumerate(monte_carlo)
                if draws[col].shape[1] == done
                and min(_Studentized(draws[col], y, exposed[j], unexposed[j], sid).p(1.0)) <= below
            ]
            if small:
                more = _draws(sid, y, exposed[[rows[c] for c in small]], slice(done, upto))
                for k, col in enumerate(small):
                    draws[col] = np.concatenate([draws[col], more[:, :, k]], axis=1)
            done = upto
        for col, (j, num, den) in enumerate(monte_carlo):
            st = _Studentized(draws[col], y, exposed[j], unexposed[j], sid)
            out[j] = _comparison(
                st, st.p(1.0), False, int(x_e[j]), int(t_e[j]), int(x_u[j]), int(t_u[j]), num, den, alpha
            )
    return [c for c in out if c is not None]
