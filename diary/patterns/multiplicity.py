"""Multiple-testing control: the families of hypotheses, their error rates, and how alpha passes between
them. Every choice that bounds false findings lives here (the confirmation step in confirmation.py only
ever removes findings, so it keeps these bounds).

False findings on a person with no real effect at most 5% overall:

- Suspected triggers (tagged by the person on at least ``MIN_SUSPECTED_TAGS`` episodes and
  ``MIN_SUSPECTED_SHARE`` of them, mapped to a check-in exposure) are pre-specified one-sided
  hypotheses ("more episodes when exposed", same day): Holm at ``ALPHA_SUSPECTED`` = 0.025. They are
  tested whenever there is anything to compare (the permutation test is valid at any size); the
  minimum-data rules only decide between "not supported" and "not enough data". A supported suspicion
  that a finding on another exposure explains is withdrawn (confirmation.explained_suspicion).
- Discovery: every exposure x lag tested, two-sided p-values, Benjamini-Hochberg at
  ``FDR_DISCOVERY`` = 0.025. When the suspected family tested nothing, or rejected every hypothesis
  it tested, its 0.025 passes on to discovery (BH at 0.05): the graphical (alpha-recycling) rule, so
  on a person with no effect at all the chance of any false finding stays at most 0.025 + 0.025.
- The discovery level is split by a hierarchy fixed before looking at the data
  (``discovery_families``): the PRIMARY family is the same-day "more episodes when exposed" tests,
  one-sided, Benjamini-Hochberg at ``PRIMARY_SHARE`` (half) of the level; "fewer episodes" (same day,
  one-sided the other way) and next-day tests (two-sided) are two SECONDARY families at
  ``SECONDARY_SHARE`` (a twentieth) of the level each, a tenth of the primary family's. The rest of
  the level is not spent, so the bound above still holds with room to spare (under the global null
  each BH family's chance of any rejection is at most its level). Why: a same-day "more" link is what
  a trigger is expected to look like and what people ask about; a protective or a delayed link is a
  priori much less likely, so it must clear a much higher bar (a first one-sided p of at most
  level / 20 / 7: about 0.0004 at the level 0.05). Measured from outside on 590 synthetic diaries, 14
  of 26 false claims were next-day links and 10 said "fewer", while every planted trigger was same-day
  "more"; with a quarter of the level each these families still made 106 of the 321 false claims of
  the quality bench (bench/patterns_quality.py), a tenth of the primary's level leaves them almost
  none. The one-sided primary family over 7-8 tests at half the level needs a one-sided p of at most
  level / 16 for its first rejection, the same bar as the old two-sided family over 14-16 tests
  (two-sided p at most level / 16 means one-sided at most level / 32), so the same-day recall can only
  go up. It is not cut further: the day-level test needs about twice the Poisson test's alpha to find
  a real trigger as often on 30 days of data (measured: RR 3 on 30 days, 0.340 at a one-sided 0.0036
  against the exact Poisson test's 0.338 at 0.0018).
"""

from __future__ import annotations

import numpy as np

from diary.patterns.snapshot import MultipleTesting
from diary.patterns.stats import bh_qvalues, holm_adjust

ALPHA_TOTAL = 0.05
ALPHA_SUSPECTED = 0.025  # Holm, one-sided, across the person's suspected triggers
FDR_DISCOVERY = 0.025  # Benjamini-Hochberg across every exposure x lag tested, split into three families:
PRIMARY_SHARE = 0.5  # same day, "more", one-sided
SECONDARY_SHARE = 0.05  # each of: same day "fewer" (one-sided), next day (two-sided); the rest is not spent

METHOD = (
    "Day-level permutation test per exposure and lag (days exchanged within weekend and weekday). Suspected "
    "triggers: one-sided, Holm "
    f"at {ALPHA_SUSPECTED}. Discovery at {FDR_DISCOVERY}, or at {ALPHA_TOTAL} when the suspected triggers "
    "tested nothing or were all supported, split into three Benjamini-Hochberg families: same-day 'more' "
    f"(one-sided, {PRIMARY_SHARE:g} of the level), same-day 'fewer' (one-sided) and next-day (two-sided), "
    f"{SECONDARY_SHARE:g} of the level each; a discovery that another one explains or weakens (re-tested "
    "stratified by it) is not reported as significant."
)


def suspected_adjusted(p_greater: np.ndarray) -> np.ndarray:
    """The suspected family's adjusted p-values (Holm); supported when within ``ALPHA_SUSPECTED``."""
    return holm_adjust(p_greater)


def trend_adjusted(p: np.ndarray) -> np.ndarray:
    """Duration trends, one Mann-Whitney test per episode kind: Holm across the kinds tested, so the chance
    of any false "lasting longer/shorter" for a person stays within rules.DURATION_TREND_P (it was stated
    at an uncorrected p < 0.05 per kind). The frequency trend is one test (all kinds together)."""
    return holm_adjust(p) if p.size else p


def discovery_level(suspected_tests: int, all_rejected: bool) -> tuple[float, bool]:
    """The discovery family's FDR level, and whether the suspected family's alpha was recycled into it."""
    recycled = suspected_tests == 0 or all_rejected
    return FDR_DISCOVERY + (ALPHA_SUSPECTED if recycled else 0.0), recycled


def discovery_qvalues(p: np.ndarray) -> np.ndarray:
    """One discovery family's q-values (Benjamini-Hochberg); significant when within its level."""
    return bh_qvalues(p)


def discovery_families(
    lag: np.ndarray, more: np.ndarray, p_two: np.ndarray, p_greater: np.ndarray, p_less: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each tested exposure x lag's q-value in the family its claim belongs to, and whether it is
    significant there (the module docstring's hierarchy). ``lag``: 0 or 1 per test; ``more``: the observed
    direction. Same day: every test is in the "more" family (``p_greater``) and the "fewer" family
    (``p_less``); the one its direction claims is the one that counts. Next day: two-sided ``p_two``."""
    same, nxt = lag == 0, lag != 0
    q = np.ones(len(lag))
    ok = np.zeros(len(lag), dtype=bool)
    for member, p, share, claims in (
        (same, p_greater, PRIMARY_SHARE, more),
        (same, p_less, SECONDARY_SHARE, ~more),
        (nxt, p_two, SECONDARY_SHARE, np.ones(len(lag), dtype=bool)),
    ):
        if not member.any():
            continue
        fq = np.ones(len(lag))
        fq[member] = discovery_qvalues(p[member])
        take = member & claims
        q[take] = fq[take]
        ok[take] = fq[take] <= share * level
    return q, ok


def claim_levels(lag: np.ndarray, more: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """For each test: which of its p-values its claim's family uses (0 greater, 1 less, 2 two-sided) and
    that family's level (``share * level``): the bar a discovery's re-test against an exposure whose
    days go with its own must stay within (confirmation.py)."""
    same = lag == 0
    side = np.where(same, np.where(more, 0, 1), 2)
    return side, np.where(side == 0, PRIMARY_SHARE, SECONDARY_SHARE) * level


def multiple_testing(*, suspected_tests: int, level: float, discovery_tests: int, recycled: bool) -> MultipleTesting:
    return MultipleTesting(
        suspected_alpha=ALPHA_SUSPECTED,
        suspected_tests=suspected_tests,
        discovery_fdr=level,
        discovery_tests=discovery_tests,
        recycled=recycled,
        method=METHOD,
    )
