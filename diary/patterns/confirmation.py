"""Confirmation of the discoveries against each other (pairwise, backward elimination) and against the
exposures whose days go with theirs.

With two or more discoveries, each is re-tested stratified by each other one's exposure status; a
discovery explained by another (it fails adjusted for the other, the other survives adjusted for it) is
no longer significant, and so is one that fails the BH cut-off once another is allowed for (weakened).
Any discovery is also re-tested against the exposures linked with it (``linked``) and is not presented
when it loses its nominal significance allowing for one of them. This
only ever removes findings, so the bounds of multiplicity.py still hold; it
keeps a link that merely mirrors another on overlapping days (low water on hot days) out of the
findings, and the excess of false links a real trigger's extra episodes would cause.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diary.patterns.days import EpisodeDays
from diary.patterns.exposures import EXPOSURES, ExposureTest, day_counts
from diary.patterns.multiplicity import ALPHA_SUSPECTED
from diary.patterns.permutation import day_tests
from diary.patterns.stats import RateComparison, fisher_p

# Exposures whose days go together beyond this (Fisher's exact test, two-sided) are re-tested against each
# other (``linked``): a 1% level, so that in a diary of independent exposures about one pair in a hundred is.
LINKED_P = 0.01


@dataclass(frozen=True)
class Confirmation:
    """A discovery re-tested against the others: ``others`` (indices into the tested list) is the one it
    was adjusted for (its worst), with its adjusted rate ratio and p."""

    others: tuple[int, ...]
    rate_ratio: float
    p: float
    kept: bool  # still significant (neither explained nor weakened)
    overlap: bool  # not explained, but it fails its bar adjusted for the other: not clear once that is allowed for


def stratum(
    test: ExposureTest, others: list[ExposureTest], logged: np.ndarray, exposed: np.ndarray, days: int
) -> np.ndarray:
    """For each of ``test``'s day pairs: the joint status of the ``others`` exposures on the day each of
    them refers to (0 unexposed, 1 exposed, 2 not logged), as one stratum number."""
    n = days - test.lag
    out = np.zeros(n, dtype=np.int64)
    base = np.arange(n) + test.lag  # the episode day of each pair
    for g in others:
        j = EXPOSURES.index(g.exposure)
        idx = base - g.lag
        valid = (idx >= 0) & (idx < days)
        safe = np.clip(idx, 0, days - 1)
        status = np.where(valid & logged[j, safe], exposed[j, safe].astype(np.int64), 2)
        out = out * 3 + status
    return out


def adjusted(
    test: ExposureTest,
    other: ExposureTest,
    counts: np.ndarray,
    logged: np.ndarray,
    exposed: np.ndarray,
    days: int,
    weekend: np.ndarray,
) -> RateComparison:
    """``test`` re-tested allowing for ``other``: the day-level permutation test (permutation.py) with
    days exchanged only among days of the same ``other`` status (exposed, unexposed, not logged) and
    the same weekend / weekday."""
    j = EXPOSURES.index(test.exposure)
    n = days - test.lag
    strata = stratum(test, [other], logged, exposed, days) * 2 + weekend[test.lag :]
    e = exposed[j, :n]
    return day_tests(counts[test.lag :], e[None], (logged[j, :n] & ~e)[None], strata)[0]


def explained_suspicion(
    test: ExposureTest,
    kept: list[ExposureTest],
    level: float,
    ep: EpisodeDays,
    logged: np.ndarray,
    exposed: np.ndarray,
    days: int,
    weekend: np.ndarray,
) -> tuple[ExposureTest, RateComparison] | None:
    """A supported suspicion (``test``, same day, "more") checked against the findings kept as
    significant (``kept``) on other exposures: EXPLAINED by one when, allowing for it, the suspicion's
    one-sided p exceeds ALPHA_SUSPECTED while that finding still passes ``level`` (two-sided) allowing
    for the suspicion; the worst such finding and the suspicion's adjusted comparison, else None. This
    only ever withdraws support, so the suspected family's error rate still holds; it keeps a tagged
    exposure that merely overlaps a real one (short sleep on low-water days) from being called supported.
    """
    counts = day_counts(ep, days)
    worst: tuple[float, ExposureTest, RateComparison] | None = None
    for g in kept:
        if g.exposure == test.exposure:
            continue
        c = adjusted(test, g, counts, logged, exposed, days, weekend)
        if c.p_greater <= ALPHA_SUSPECTED:
            continue
        if adjusted(g, test, counts, logged, exposed, days, weekend).p_two_sided > level:
            continue
        if worst is None or c.p_greater > worst[0]:
            worst = (c.p_greater, g, c)
    return None if worst is None else (worst[1], worst[2])


def confirm(
    ready: list[ExposureTest],
    p: np.ndarray,
    significant: np.ndarray,
    level: float,
    claims: tuple[np.ndarray, np.ndarray],
    ep: EpisodeDays,
    logged: np.ndarray,
    exposed: np.ndarray,
    days: int,
    weekend: np.ndarray,
) -> dict[int, Confirmation]:
    """Re-test the discoveries (``significant`` among ``ready``, two-sided ``p``) against each other and
    against the exposures whose days go with theirs; ``claims``: each test's claim side and family level
    (multiplicity.claim_levels).

    Each is re-tested stratified by each other discovery's exposure status (``adjusted``: the day-level
    permutation test within the strata exposed, unexposed, not logged). Its bar is the
    Benjamini-Hochberg cut-off for the discoveries left (``level * R / m``), or the nominal ``level`` for
    a discovery significant at the Bonferroni level ``level / m`` on its own (a strong link is dropped
    only when allowing for the other leaves nothing of it). A discovery is EXPLAINED by another when it
    fails its bar adjusted for the other while the other passes its own adjusted for it; the explained
    discovery with the worst adjusted p is dropped and the rest re-checked, until none is explained.
    Those left that fail the BH cut-off adjusted for another are marked ``overlap`` and are not kept
    either: a finding that is only "weaker, so it may partly reflect" another is not presented as real
    (measured from outside: 10 of the 12 findings presented that way were false). This removes links
    that only mirror another one on overlapping days, and most of the excess of false links that a real
    trigger's extra episodes cause among the other exposures.

    A discovery is also re-tested against each exposure whose days go with its own (``linked``) that is
    not a discovery itself, and is marked ``overlap`` when, allowing for it, its p on its claim's side
    is over its family's level (``claims``): a real trigger that fell short of its own bar (heat on 90
    days) still shows on the days that go with it (low water on hot days), and that mirror is not
    presented in its place. The bar is the family's nominal level, not its cut-off, because an
    exposure whose days mostly coincide with another's leaves the re-test few days to compare: a real
    trigger keeps its nominal significance allowing for a mirror, a mirror rarely keeps it allowing for
    the trigger. In diaries whose exposures come and go independently almost no exposure is linked.
    Returns, per re-tested discovery (index into ``ready``): its Confirmation.
    """
    left = [int(i) for i in np.argsort(p, kind="stable") if significant[i]]
    if not left:
        return {}
    counts = day_counts(ep, days)
    claim_side, claim_level = claims
    tested: dict[tuple[int, int], RateComparison] = {}

    def retest(i: int, g: int) -> RateComparison:
        """``i`` adjusted for ``g`` (each pair tested once)."""
        if (i, g) not in tested:
            tested[(i, g)] = adjusted(ready[i], ready[g], counts, logged, exposed, days, weekend)
        return tested[(i, g)]

    def pair(i: int, g: int) -> tuple[float, float]:
        """``i`` adjusted for ``g``: its rate ratio and two-sided p."""
        c = retest(i, g)
        return c.rate_ratio, c.p_two_sided

    def own_p(i: int, g: int) -> float:
        """``i`` adjusted for ``g``: its p on its own claim's side (one-sided for a same-day claim)."""
        c = retest(i, g)
        return (c.p_greater, c.p_less, c.p_two_sided)[int(claim_side[i])]

    strong = level / len(ready)

    def bar(i: int, cutoff: float) -> float:
        """What ``i``'s adjusted p must stay within: the BH cut-off, or the nominal level for a discovery
        significant at the Bonferroni level on its own (a strong link is dropped only when allowing for
        the other leaves nothing of it, not when it merely weakens)."""
        return level if p[i] <= strong else cutoff

    def explained(i: int, cutoff: float) -> tuple[float, int] | None:
        """The other discovery that explains ``i`` (``i`` fails its bar adjusted for it, it passes its own
        adjusted for ``i``), with ``i``'s adjusted p; None when none does."""
        found = [
            (pair(i, g)[1], g)
            for g in left
            if g != i and pair(i, g)[1] > bar(i, cutoff) and pair(g, i)[1] <= bar(g, cutoff)
        ]
        return max(found) if found else None

    out: dict[int, Confirmation] = {}
    while len(left) >= 2:
        cutoff = level * len(left) / len(ready)
        candidates = [(e, i) for i in left if (e := explained(i, cutoff)) is not None]
        if not candidates:
            break
        (p_adj, g), i = max(candidates)
        out[i] = Confirmation(others=(g,), rate_ratio=pair(i, g)[0], p=p_adj, kept=False, overlap=False)
        left.remove(i)
    cutoff = level * len(left) / len(ready)
    for i in left:
        found = [(pair(i, g)[1], g) for g in left if g != i]
        weaker = bool(found) and max(found)[0] > cutoff
        # exposures whose days go with this one's, not discoveries: the claim must keep its family's level
        mirrors = [
            (own_p(i, g), g)
            for g in linked(i, ready, logged, exposed, days)
            if g not in left and own_p(i, g) > claim_level[i]
        ]
        mirrored = bool(mirrors)
        if not found and not mirrors:
            continue
        g = (max(mirrors) if mirrored or not found else max(found))[1]
        out[i] = Confirmation(
            others=(g,), rate_ratio=pair(i, g)[0], p=pair(i, g)[1], kept=not (weaker or mirrored),
            overlap=weaker or mirrored,
        )  # fmt: skip
    return out


def linked(i: int, ready: list[ExposureTest], logged: np.ndarray, exposed: np.ndarray, days: int) -> list[int]:
    """The other tested exposures (either lag; the same exposure at the other lag included) whose status
    goes with ``ready[i]``'s on its days beyond chance: Fisher's exact test on the days both were logged,
    two-sided p within ``LINKED_P``. Such an exposure can stand in for the real cause (low water on hot
    days, yesterday's heat in a hot spell) whether or not it is a discovery itself, so a discovery is
    re-tested allowing for each; in a diary whose exposures come and go independently almost none is."""
    test = ready[i]
    n = days - test.lag
    j = EXPOSURES.index(test.exposure)
    mine_logged, mine = logged[j, :n], exposed[j, :n]
    out = []
    for g, other in enumerate(ready):
        if g == i:
            continue
        status = stratum(test, [other], logged, exposed, days)  # 0 unexposed, 1 exposed, 2 not logged
        both = mine_logged & (status != 2)
        a = int((mine & both & (status == 1)).sum())
        b = int((mine & both & (status == 0)).sum())
        c = int((~mine & both & (status == 1)).sum())
        d = int((~mine & both & (status == 0)).sum())
        if min(a + b, c + d, a + c, b + d) and fisher_p(a, b, c, d) <= LINKED_P:
            out.append(g)
    return out
