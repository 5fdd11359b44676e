"""Triggers: does an exposure go with more (or fewer) episodes, the same day or the next?

For each exposure and lag the episode counts on exposed days are compared with unexposed days by the
day-level permutation test (permutation.py: the day is the unit, so episodes that cluster on a few bad
days are not counted as independent evidence; days exchanged within weekend / weekday), with the
Mantel-Haenszel rate ratio and the interval that inverts the same test. Trigger tests count all kinds
together (one family of tests, not one per kind); ``by_kind`` is descriptive. The order of the steps, each in its own module:

1. the exposure x lag table (exposures.exposure_tests); those short of the minimum data are reported
   as ``not_enough_data`` with what they need;
2. the suspected triggers, one-sided with Holm (suspected.py);
3. discovery over every exposure x lag with enough data, in the three Benjamini-Hochberg families of
   multiplicity.discovery_families (same-day "more" first; "fewer" and next-day need stronger evidence)
   at the level multiplicity.discovery_level gives (recycling the suspected family's alpha when it allows);
   a "fewer" or next-day claim on fewer than rules.MIN_SECONDARY_CLAIM_DAYS exposed or unexposed days
   is not made;
4. confirmation of the discoveries against each other (confirmation.py): one another explains, or one
   that is weaker once another is allowed for, is not presented as significant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diary.patterns import sentences as say
from diary.patterns.confirmation import Confirmation, confirm, explained_suspicion
from diary.patterns.days import EpisodeDays
from diary.patterns.exposures import ExposureTest, comparisons, exposure_tests, lag_name, when
from diary.patterns.multiplicity import claim_levels, discovery_families, discovery_level, multiple_testing
from diary.patterns.rules import CONFIDENCE, MIN_SECONDARY_CLAIM_DAYS
from diary.patterns.snapshot import (
    ExposureLag,
    Finding,
    KindCounts,
    Lacking,
    MultipleTesting,
    Suspected,
    finite,
    p_value,
)
from diary.patterns.stats import RateComparison, more_when_exposed
from diary.patterns.suspected import suspected
from diary.vocab import EPISODE_KINDS


@dataclass
class Triggers:
    """The snapshot's trigger sections."""

    findings: list[Finding]
    lacking: list[Lacking]
    suspected: list[Suspected]
    multiple_testing: MultipleTesting


def triggers(
    ep: EpisodeDays, logged: np.ndarray, exposed: np.ndarray, days: int, noun: str, weekend: np.ndarray
) -> Triggers:
    """Every trigger analysis in order (the module docstring); ``logged``/``exposed``: (exposures x days)
    from exposures.exposure_matrix; ``weekend``: (days,) whether each local day is a Saturday or Sunday."""
    tests = exposure_tests(ep, logged, exposed, days)
    by_key = {(t.exposure.code, t.lag): t for t in tests}
    ready = [t for t in tests if t.enough]
    compared = comparisons(tests, ep, logged, exposed, days, weekend, CONFIDENCE)
    suspects, n_suspected, all_rejected = suspected(ep, by_key, compared, noun)
    level, recycled = discovery_level(n_suspected, all_rejected)
    cs = [compared[(t.exposure.code, t.lag)] for t in ready]
    p = np.array([c.p_two_sided for c in cs])
    more = np.array([more_when_exposed(c) for c in cs], dtype=bool)
    q, significant = discovery_families(
        np.array([t.lag for t in ready], dtype=np.int64),
        more,
        p,
        np.array([c.p_greater for c in cs]),
        np.array([c.p_less for c in cs]),
        level,
    )
    primary = (np.array([t.lag for t in ready]) == 0) & more
    days_ok = np.array([min(t.t_e, t.t_u) >= MIN_SECONDARY_CLAIM_DAYS for t in ready], dtype=bool)
    significant &= primary | days_ok
    claims = claim_levels(np.array([t.lag for t in ready], dtype=np.int64), more, level)
    confirmations = confirm(ready, p, significant, level, claims, ep, logged, exposed, days, weekend)
    findings = [
        finding(
            t,
            compared[(t.exposure.code, t.lag)],
            float(q[i]),
            bool(significant[i]),
            confirmations.get(i),
            ready,
            noun,
        )
        for i, t in enumerate(ready)
    ]
    findings.sort(key=lambda f: (f["p_value"], f["lag"], f["exposure"]))
    kept = [t for i, t in enumerate(ready) if significant[i] and (i not in confirmations or confirmations[i].kept)]
    index = {(t.exposure.code, t.lag): i for i, t in enumerate(ready)}
    for s in suspects:
        if s["status"] != "supported" or s["exposure"] is None:
            continue
        test = by_key[(s["exposure"], 0)]
        own = confirmations.get(index.get((s["exposure"], 0), -1))
        if own is not None and not own.kept:  # its own finding is not clear once another is allowed for
            withdraw(s, test, compared[(s["exposure"], 0)], ready[own.others[0]], noun)
        elif (hit := explained_suspicion(test, kept, level, ep, logged, exposed, days, weekend)) is not None:
            withdraw(s, test, compared[(s["exposure"], 0)], hit[0], noun)
    return Triggers(
        findings=findings,
        lacking=[lacking(t, noun) for t in tests if not t.enough],
        suspected=suspects,
        multiple_testing=multiple_testing(
            suspected_tests=n_suspected, level=level, discovery_tests=len(ready), recycled=recycled
        ),
    )


def finding(
    t: ExposureTest,
    c: RateComparison,
    q: float,
    significant: bool,
    adj: Confirmation | None,
    ready: list[ExposureTest],
    noun: str,
) -> Finding:
    """One tested exposure x lag: ``significant`` in discovery, ``adj`` its confirmation (if re-tested)."""
    kept = significant and (adj is None or adj.kept)
    more = more_when_exposed(c)
    on = when(t.exposure, t.lag)
    others = " and ".join(f"{ready[j].exposure.label} ({lag_name(ready[j].lag)})" for j in adj.others) if adj else ""
    if kept:
        sentence = say.capital(say.rate_clause(noun, c, on)) + "."
    elif significant and adj and adj.overlap:
        sentence = (
            f"{say.capital(say.rate_clause(noun, c, on))}, but it is not clear once {others} is allowed for: "
            "it may partly reflect that."
        )
    elif significant:
        sentence = (
            f"{say.capital(say.rate_clause(noun, c, on))}, but allowing for {others} the link is not "
            "clear: it may only reflect that."
        )
    else:
        sentence = f"No clear link yet: {say.rate_clause(noun, c, on)}, which could be chance."
    if kept and adj:
        sentence += f" It holds after allowing for {others}."
    by_kind = {
        k: KindCounts(
            exposed_episodes=int(t.x_e_kind[j]),
            unexposed_episodes=int(t.x_u_kind[j]),
            rate_ratio=finite((t.x_e_kind[j] / t.t_e) / (t.x_u_kind[j] / t.t_u)) if t.x_u_kind[j] else None,
        )
        for j, k in enumerate(EPISODE_KINDS)
        if t.x_e_kind[j] + t.x_u_kind[j]
    }
    return Finding(
        exposure=t.exposure.code,
        label=t.exposure.label,
        lag=t.lag,
        exposed_days=c.t_e,
        unexposed_days=c.t_u,
        exposed_episodes=c.x_e,
        unexposed_episodes=c.x_u,
        exposed_rate=finite(c.x_e / c.t_e),
        unexposed_rate=finite(c.x_u / c.t_u),
        rate_ratio=finite(c.rate_ratio),
        ci_low=finite(c.ci_low),
        ci_high=finite(c.ci_high),
        p_value=p_value(c.p_two_sided),
        q_value=p_value(q),
        significant=kept,
        direction="more" if more else "fewer",
        adjusted_for=[ExposureLag(exposure=ready[j].exposure.code, lag=ready[j].lag) for j in adj.others]
        if adj
        else [],
        adjusted_rate_ratio=finite(adj.rate_ratio) if adj else None,
        adjusted_p_value=p_value(adj.p) if adj else None,
        by_kind=by_kind,
        sentence=sentence,
    )


def withdraw(s: Suspected, test: ExposureTest, c: RateComparison, other: ExposureTest, noun: str) -> None:
    """A supported suspicion another finding explains (confirmation.explained_suspicion): not supported."""
    s["status"] = "not supported"
    s["sentence"] = (
        f"You suspect {s['label']}; your check-ins show that {say.rate_clause(noun, c, when(test.exposure, 0))}, "
        f"but not once {other.exposure.label} ({lag_name(other.lag)}) is allowed for: it may only reflect that."
    )


def lacking(t: ExposureTest, noun: str) -> Lacking:
    missing = t.missing(noun)
    return Lacking(
        exposure=t.exposure.code,
        label=t.exposure.label,
        lag=t.lag,
        exposed_days=t.t_e,
        unexposed_days=t.t_u,
        episodes=t.x_e + t.x_u,
        needs=t.needs(),
        missing=missing,
        sentence=f"{say.capital(t.exposure.label)} ({lag_name(t.lag)}): {missing}.",
    )
