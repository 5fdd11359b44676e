"""How long episodes last, per kind: median, quartiles and 90th percentile of the timed ones, and whether
they have been lasting longer or shorter (the last 28 days against the 28 before, Mann-Whitney).

A duration trend is a claim like any trigger, so it gets the same discipline: one test per kind, Holm
across the kinds tested (multiplicity.trend_adjusted), "longer"/"shorter" only when the adjusted p is
within ``DURATION_TREND_P``. Stated at an uncorrected p < 0.05 it was measured false for 18 of 404 kinds
with no trend; the sentence gives the adjusted p.
"""

from __future__ import annotations

import numpy as np

from diary.patterns import sentences as say
from diary.patterns.days import EpisodeDays
from diary.patterns.multiplicity import trend_adjusted
from diary.patterns.rules import DURATION_TREND_P, MIN_DURATION_N, MIN_DURATION_TREND_N, TREND_DAYS
from diary.patterns.snapshot import Duration, DurationStatus, DurationTrend, finite, p_value
from diary.patterns.stats import mann_whitney_p
from diary.vocab import EPISODE_KINDS


def _raw_p(recent: np.ndarray, previous: np.ndarray) -> float | None:
    """One kind's Mann-Whitney p (None when either period has too few timed episodes)."""
    if recent.size >= MIN_DURATION_TREND_N and previous.size >= MIN_DURATION_TREND_N:
        return mann_whitney_p(recent, previous) if np.ptp(np.concatenate([recent, previous])) > 0 else 1.0
    return None


def _trend(
    recent: np.ndarray, previous: np.ndarray, p: float | None, p_adj: float | None, tested: int
) -> tuple[DurationTrend, str]:
    """The trend of one kind's durations, and its clause for the sentence ("" without a trend); ``p_adj``
    Holm-adjusted across the ``tested`` kinds."""
    status: DurationStatus = "not enough data"
    text = ""
    if p is not None and p_adj is not None:
        rm, pm = float(np.median(recent)), float(np.median(previous))
        status = "no clear change" if p_adj >= DURATION_TREND_P or rm == pm else "longer" if rm > pm else "shorter"
        compare = f"median {say.duration(rm)} in the last {TREND_DAYS} days vs {say.duration(pm)} before"
        if status == "no clear change":
            text = f" No clear change in how long they last ({compare})."
        elif tested > 1:
            text = (
                f" They have been lasting {status} ({compare}, p = {say.num(p_adj)} allowing for the "
                f"{tested} kinds compared)."
            )
        else:
            text = f" They have been lasting {status} ({compare}, p = {say.num(p_adj)})."
    shaped = DurationTrend(
        status=status,
        recent_n=int(recent.size),
        previous_n=int(previous.size),
        recent_median_s=finite(float(np.median(recent))) if recent.size else None,
        previous_median_s=finite(float(np.median(previous))) if previous.size else None,
        p_value=None if p is None else p_value(p),
    )
    return shaped, text


def duration(ep: EpisodeDays, days: int, observed_from: int) -> dict[str, Duration]:
    """Per kind with an episode in the window."""
    out: dict[str, Duration] = {}
    recent_lo = days - TREND_DAYS
    prev_lo = days - 2 * TREND_DAYS
    periods: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for i, k in enumerate(EPISODE_KINDS):
        sel = ep.kind == i
        if sel.any():
            d = ep.duration[sel]
            timed = ~np.isnan(d)
            day = ep.day[sel][timed]
            dd = d[timed]
            periods[k] = (dd[day >= recent_lo], dd[(day >= max(prev_lo, observed_from)) & (day < recent_lo)])
    raw = {k: _raw_p(*periods[k]) for k in periods}
    tested = [k for k in raw if raw[k] is not None]
    adjusted = dict(zip(tested, trend_adjusted(np.array([raw[k] for k in tested], dtype=float)).tolist(), strict=True))
    for i, k in enumerate(EPISODE_KINDS):
        sel = ep.kind == i
        if not sel.any():
            continue
        d = ep.duration[sel]
        timed = ~np.isnan(d)
        dd = d[timed]
        name = say.KIND_PLURAL[k]
        q1 = med = q3 = p90 = None
        if dd.size:
            q1, med, q3, p90 = (finite(v) for v in np.percentile(dd, [25, 50, 75, 90]))
        trend, trend_text = _trend(*periods[k], raw[k], adjusted.get(k), len(tested))
        if dd.size >= MIN_DURATION_N and med is not None and q1 is not None and q3 is not None and p90 is not None:
            sentence = (
                f"{say.capital(name)} lasted a median of {say.duration(med)} "
                f"(middle half {say.duration(q1)} to {say.duration(q3)}; 9 in 10 lasted "
                f"{say.duration(p90)} or less; {dd.size} timed).{trend_text}"
            )
        else:
            sentence = f"Too few timed {name} to say how long they last ({dd.size} so far, {MIN_DURATION_N} needed)."
        out[k] = Duration(
            n=int(dd.size),
            ongoing=int((~timed).sum()),
            median_s=med,
            q1_s=q1,
            q3_s=q3,
            p90_s=p90,
            trend=trend,
            sentence=sentence,
        )
    return out
