"""How often: episodes per day and week over the last 7, 28 and 90 days, and the trend (the last 28 days
against the 28 before). Only observed days count.

The trend test is the day-level permutation test (permutation.py) of the last 28 days' episode total
against the 28 days before: a bad week of clustered episodes is evidence from a few days, not from each
of its episodes (the exact Poisson test took each episode as independent evidence)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from diary.patterns import sentences as say
from diary.patterns.days import EpisodeDays
from diary.patterns.permutation import day_tests
from diary.patterns.rules import CONFIDENCE, FREQUENCY_PERIODS, MIN_TREND_DAYS, MIN_TREND_EPISODES, TREND_DAYS
from diary.patterns.snapshot import Frequency, Period, Rate, Trend, TrendStatus, finite, p_value
from diary.patterns.stats import RateComparison
from diary.vocab import EPISODE_KINDS


def rate(n: int, days: int) -> Rate:
    per_day = n / days if days > 0 else None
    return Rate(n=n, per_day=finite(per_day), per_week=finite(None if per_day is None else 7 * per_day))


def trend(recent: np.ndarray, previous: np.ndarray, noun: str) -> Trend:
    """``recent``/``previous``: episode counts per observed day of each period."""
    t1, t2 = int(recent.size), int(previous.size)
    x1, x2 = int(recent.sum()), int(previous.sum())

    def shaped(
        sentence: str, status: TrendStatus, c: RateComparison | None = None, missing: str | None = None
    ) -> Trend:
        return Trend(
            status=status,
            recent_days=t1,
            previous_days=t2,
            recent_episodes=x1,
            previous_episodes=x2,
            rate_ratio=finite(c.rate_ratio) if c else None,
            ci_low=finite(c.ci_low) if c else None,
            ci_high=finite(c.ci_high) if c else None,
            p_value=p_value(c.p_two_sided) if c else None,
            missing=missing,
            sentence=sentence,
        )

    missing = []
    if t1 < MIN_TREND_DAYS or t2 < MIN_TREND_DAYS:
        need = max(0, MIN_TREND_DAYS - t2) if t1 >= MIN_TREND_DAYS else MIN_TREND_DAYS + max(0, TREND_DAYS - t1)
        missing.append(f"{say.plural(need, 'more day')} of diary")
    if x1 + x2 < MIN_TREND_EPISODES:
        missing.append(f"at least {MIN_TREND_EPISODES} {noun} in the last {2 * TREND_DAYS} days ({x1 + x2} so far)")
    if missing:
        needs = "needs " + " and ".join(missing)
        return shaped(f"Not enough data for a trend in {noun} yet: it {needs}.", "not enough data", missing=needs)
    days = np.concatenate([recent, previous])
    is_recent = np.arange(days.size) < t1
    c = day_tests(days, is_recent[None], ~is_recent[None], np.zeros(days.size, dtype=np.int64), CONFIDENCE)[0]
    status: TrendStatus = "rising" if c.ci_low > 1 else "falling" if c.ci_high < 1 else "stable"
    ci = say.ci_text(c.ci_low, c.ci_high)
    counts = f"{x1} in the last {t1} days, {x2} in the {t2} days before"
    ratio = f"{say.num(c.rate_ratio)} times, {ci}; {counts}"
    if status == "rising" and x2 == 0:
        sentence = f"{say.capital(noun)} are rising: {counts} ({ci})."
    elif status != "stable":
        sentence = (
            f"{say.capital(noun)} are {status}: {say.how_often(c.rate_ratio)} in the last {t1} days "
            f"as in the {t2} days before ({ratio})."
        )
    else:
        sentence = f"No clear change in how often {noun} happen: {counts} (rate ratio {say.num(c.rate_ratio)}, {ci})."
    return shaped(sentence, status, c)


def frequency(ep: EpisodeDays, end: dt.date, days: int, observed_from: int) -> Frequency:
    """The periods are the last 7, 28 and 90 complete days, ending ``end`` (yesterday)."""
    counts = np.bincount(ep.day, minlength=days)
    kind_counts = {k: np.bincount(ep.day[ep.kind == i], minlength=days) for i, k in enumerate(EPISODE_KINDS)}
    periods: dict[str, Period] = {}
    for p in [p for p in FREQUENCY_PERIODS if p <= days] or [days]:
        lo = max(days - p, observed_from)
        obs = max(0, days - lo)
        periods[str(p)] = Period(
            start=(end - dt.timedelta(days=p - 1)).isoformat(),
            end=end.isoformat(),
            days=p,
            observed_days=obs,
            all=rate(int(counts[lo:].sum()), obs),
            by_kind={k: rate(int(kc[lo:].sum()), obs) for k, kc in kind_counts.items()},
        )
    r_lo = max(days - TREND_DAYS, observed_from, 0)
    p_lo, p_hi = max(days - 2 * TREND_DAYS, observed_from, 0), r_lo
    present = [k for k in EPISODE_KINDS if kind_counts[k].any()]
    noun = say.subject(present)
    overall = trend(counts[r_lo:], counts[p_lo:p_hi], noun)
    by_kind = {k: trend(kind_counts[k][r_lo:], kind_counts[k][p_lo:p_hi], say.KIND_PLURAL[k]) for k in present}
    main = periods.get("28") or periods[max(periods, key=int)]
    n, obs = main["all"]["n"], main["observed_days"]
    if obs == 0:
        sentence = "Nothing logged yet."
    else:
        parts = [say.plural(main["by_kind"][k]["n"], k, say.KIND_PLURAL[k]) for k in present if main["by_kind"][k]["n"]]
        per_week = main["all"]["per_week"] or 0.0
        detail = f": {', '.join(parts)}" if len(parts) > 1 else ""
        sentence = (
            f"In the last {obs} days you logged {say.plural(n, 'episode')} "
            f"({say.num(per_week)} a week){detail}. {overall['sentence']}"
        )
    return Frequency(periods=periods, trend=overall, trend_by_kind=by_kind, sentence=sentence)
