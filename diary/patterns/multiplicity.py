"""Multiple-testing control: the families of hypotheses, their error rates, and how alpha passes between
them. Every choice that bounds false findings lives here (the confirmation step in confirmation.py only
ever removes findings, so it keeps these bounds).

False findings on a person with no real effect at most 5% overall:

- Suspected triggers (tagged by the person on at least ``MIN_SUSPECTED_TAGS`` episodes and
  ``MIN_SUSPECTED_SHARE`` of them, mapped to a check-in exposure) are pre-specified one-sided
  hypotheses ("more episodes when exposed", same day): Holm at ``ALPHA_SUSPECTED`` = 0.025. They are
  tested whenever there is anything to compare (exact tests are valid at any size); the minimum-data
  rules only decide between "not supported" and "not enough data".
- Discovery: every exposure x lag tested, two-sided p-values, Benjamini-Hochberg at
  ``FDR_DISCOVERY`` = 0.025. When the suspected family tested nothing, or rejected every hypothesis
  it tested, its 0.025 passes on to discovery (BH at 0.05): the graphical (alpha-recycling) rule, so
  on a person with no effect at all the chance of any false finding stays at most 0.025 + 0.025.
"""

from __future__ import annotations

import numpy as np

from diary.patterns.snapshot import MultipleTesting
from diary.patterns.stats import bh_qvalues, holm_adjust

ALPHA_TOTAL = 0.05
ALPHA_SUSPECTED = 0.025  # Holm, one-sided, across the person's suspected triggers
FDR_DISCOVERY = 0.025  # Benjamini-Hochberg across every exposure x lag tested

METHOD = (
    "Exact conditional test of two Poisson rates per exposure and lag. Suspected triggers: one-sided, Holm "
    f"at {ALPHA_SUSPECTED}. Discovery: two-sided, Benjamini-Hochberg at {FDR_DISCOVERY}, or at "
    f"{ALPHA_TOTAL} when the suspected triggers tested nothing or were all supported; a discovery that "
    "another one explains (re-tested stratified by it) is not reported as significant."
)


def suspected_adjusted(p_greater: np.ndarray) -> np.ndarray:
    """The suspected family's adjusted p-values (Holm); supported when within ``ALPHA_SUSPECTED``."""
    return holm_adjust(p_greater)


def discovery_level(suspected_tests: int, all_rejected: bool) -> tuple[float, bool]:
    """The discovery family's FDR level, and whether the suspected family's alpha was recycled into it."""
    recycled = suspected_tests == 0 or all_rejected
    return FDR_DISCOVERY + (ALPHA_SUSPECTED if recycled else 0.0), recycled


def discovery_qvalues(p: np.ndarray) -> np.ndarray:
    """The discovery family's q-values (Benjamini-Hochberg); significant when within the level."""
    return bh_qvalues(p)


def multiple_testing(*, suspected_tests: int, level: float, discovery_tests: int, recycled: bool) -> MultipleTesting:
    return MultipleTesting(
        suspected_alpha=ALPHA_SUSPECTED,
        suspected_tests=suspected_tests,
        discovery_fdr=level,
        discovery_tests=discovery_tests,
        recycled=recycled,
        method=METHOD,
    )
