"""Exact tests for two Poisson rates and multiple-testing adjustments. Pure numpy/scipy (no Django).

The comparison of two Poisson rates (episodes on ``t_e`` exposed days vs ``t_u`` unexposed days) is
the exact conditional test: given the total ``N = x_e + x_u``, ``x_e ~ Binomial(N, p0)`` with
``p0 = t_e / (t_e + t_u)`` under equal rates. The rate ratio ``(x_e / t_e) / (x_u / t_u)`` is a
monotone function of the binomial proportion ``pi``: ``RR = pi / (1 - pi) * t_u / t_e``, so its exact
confidence interval is the Clopper-Pearson interval of ``pi`` transformed the same way.

The two-sided p-value is the "minlike" one (sum of the probabilities of every outcome no more likely
than the one observed), exactly what ``scipy.stats.binomtest(..., alternative="two-sided")`` returns;
the one-sided ``p_greater`` is ``P(X >= x_e)`` and ``p_less`` is ``P(X <= x_e)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

# scipy.stats.binomtest's relative tolerance when it compares probabilities for the two-sided p-value
_RERR = 1 + 1e-7


@dataclass(frozen=True)
class RateComparison:
    """Episodes ``x_e`` on ``t_e`` exposed days vs ``x_u`` on ``t_u`` unexposed days."""

    x_e: int
    t_e: int
    x_u: int
    t_u: int
    rate_ratio: float  # inf when x_u == 0 < x_e; nan when there are no episodes at all
    ci_low: float
    ci_high: float  # inf when x_u == 0
    p_two_sided: float
    p_greater: float  # one-sided: more episodes on exposed days
    p_less: float = 1.0  # one-sided: fewer episodes on exposed days, ``P(X <= x_e)``


def more_when_exposed(c: RateComparison) -> bool:
    """The direction a comparison points: more episodes on exposed days (an unbounded ratio counts)."""
    if math.isnan(c.rate_ratio):
        return c.x_e * c.t_u > c.x_u * c.t_e
    return c.rate_ratio > 1


def binom_p_two_sided(k: int, n: int, p: float) -> float:
    """Two-sided exact binomial p-value, the same "minlike" rule and tolerance as scipy.stats.binomtest."""
    if n <= 0:
        return 1.0
    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    d = pmf[k]
    if k == p * n:
        return 1.0
    return float(min(1.0, pmf[pmf <= d * _RERR].sum()))


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for a binomial proportion ``k / n``."""
    if n <= 0:
        return 0.0, 1.0
    a = (1 - confidence) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def _odds_to_ratio(pi: float, scale: float) -> float:
    if pi >= 1.0:
        return math.inf
    return pi / (1.0 - pi) * scale


def compare_rates(x_e: int, t_e: int, x_u: int, t_u: int, confidence: float = 0.95) -> RateComparison:
    """Exact conditional comparison of two Poisson rates (``t_e``, ``t_u`` > 0)."""
    x_e, t_e, x_u, t_u = int(x_e), int(t_e), int(x_u), int(t_u)
    if t_e <= 0 or t_u <= 0:
        raise ValueError("both exposure times must be positive")
    n = x_e + x_u
    p0 = t_e / (t_e + t_u)
    scale = t_u / t_e
    if n == 0:
        return RateComparison(x_e, t_e, x_u, t_u, math.nan, 0.0, math.inf, 1.0, 1.0)
    rate_ratio = math.inf if x_u == 0 else (x_e / t_e) / (x_u / t_u)
    lo, hi = clopper_pearson(x_e, n, confidence)
    p_greater = float(stats.binom.sf(x_e - 1, n, p0))
    return RateComparison(
        x_e=x_e,
        t_e=t_e,
        x_u=x_u,
        t_u=t_u,
        rate_ratio=rate_ratio,
        ci_low=_odds_to_ratio(lo, scale),
        ci_high=_odds_to_ratio(hi, scale),
        p_two_sided=binom_p_two_sided(x_e, n, p0),
        p_greater=min(1.0, p_greater),
        p_less=min(1.0, float(stats.binom.cdf(x_e, n, p0))),
    )


def stratified_compare(x_e: np.ndarray, t_e: np.ndarray, x_u: np.ndarray, t_u: np.ndarray) -> tuple[float, float]:
    """Exact conditional test of a common rate ratio across strata (one entry per stratum).

    Given each stratum's total, ``x_e,s ~ Binomial(N_s, t_e,s / (t_e,s + t_u,s))`` independently under
    equal rates, so ``sum_s x_e,s`` has the convolution of those binomials as its exact null distribution;
    the two-sided p-value is the minlike one on it (with one stratum: exactly ``binom_p_two_sided``).
    Returns (Mantel-Haenszel rate ratio, two-sided p). Strata without exposed or unexposed days carry
    no information and drop out.
    """
    x_e, t_e, x_u, t_u = (np.asarray(a, dtype=np.int64) for a in (x_e, t_e, x_u, t_u))
    informative = (t_e > 0) & (t_u > 0)
    x_e, t_e, x_u, t_u = x_e[informative], t_e[informative], x_u[informative], t_u[informative]
    total = t_e + t_u
    num = float((x_e * t_u / total).sum()) if total.size else 0.0
    den = float((x_u * t_e / total).sum()) if total.size else 0.0
    rate_ratio = math.nan if num == 0 and den == 0 else math.inf if den == 0 else num / den
    n = x_e + x_u
    if not n.any():
        return rate_ratio, 1.0
    pmf = np.ones(1)
    for n_s, p_s in zip(n[n > 0].tolist(), (t_e / total)[n > 0].tolist(), strict=True):
        pmf = np.convolve(pmf, stats.binom.pmf(np.arange(n_s + 1), n_s, p_s))
    d = pmf[int(x_e.sum())]
    return rate_ratio, float(min(1.0, pmf[pmf <= d * _RERR].sum()))


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values): ``q_(i) = min_{j >= i} m p_(j) / j``, capped at 1."""
    p = np.asarray(p, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def holm_adjust(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values: ``max_{j <= i} (m - j + 1) p_(j)``, capped at 1."""
    p = np.asarray(p, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adj_sorted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    adj = np.empty(m)
    adj[order] = adj_sorted
    return adj


def mann_whitney_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value (scipy picks the exact or normal method)."""
    return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def fisher_p(a: int, b: int, c: int, d: int) -> float:
    """Fisher's exact test of the 2x2 table [[a, b], [c, d]], two-sided: the probability, given the
    margins, of every table no more likely than this one (scipy.stats.fisher_exact's definition, in one
    vectorised hypergeometric call: fisher_exact took 1.4 ms a table on five years of days)."""
    n, row, col = a + b + c + d, a + b, a + c
    support = np.arange(max(0, col - (n - row)), min(row, col) + 1)
    pmf = stats.hypergeom.pmf(support, n, row, col)
    observed = pmf[a - support[0]]
    return float(min(1.0, pmf[pmf <= observed * (1 + 1e-7)].sum()))
