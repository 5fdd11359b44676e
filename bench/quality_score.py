"""Scoring for bench.patterns_quality: what a report presents as real, the oracles, the tallies.

A presented CLAIM is what a person is told is real: a trigger finding with ``significant`` true (either
direction, same day or next day) and a suspected trigger with status "supported" (a same-day "more"
claim). The summary's headlines are drawn from exactly these two (summary.py) plus the trend and the
best relief measure, so counting them again would count one claim twice. A claim is TRUE only when it
names the planted exposure, the same day, "more" episodes; anything else (another exposure, the day
after, "fewer") names an effect nobody planted. One claim per (exposure, lag, direction) per report.

A TREND claim is a frequency trend "rising"/"falling" or a duration trend "longer"/"shorter"; no cohort
has a trend, so every one is false. Balance: a two-sided binomial test of rising vs falling at 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from bench.quality_cohorts import Cohort
from diary.patterns.analysis import Snapshot

Claim = tuple[str, int, str]  # exposure, lag, direction


def claims(report: Snapshot) -> set[Claim]:
    out: set[Claim] = {(f["exposure"], f["lag"], f["direction"]) for f in report["triggers"] if f["significant"]}
    for s in report["suspected"]:
        if s["status"] == "supported" and s["exposure"] is not None:
            out.add((s["exposure"], 0, "more"))
    return out


def planted_found(report: Snapshot, code: str) -> bool:
    """The planted exposure claimed the only way that is true: same day, more episodes."""
    return (code, 0, "more") in claims(report)


@dataclass
class ClaimTally:
    """Presented claims pooled over people; false ones broken down by what makes them false."""

    people: int = 0
    people_with_false: int = 0
    claims: int = 0
    false: int = 0
    false_next_day: int = 0
    false_fewer: int = 0
    false_other_same_day_more: int = 0

    def add(self, report: Snapshot, code: str | None) -> None:
        cs = claims(report)
        wrong = [c for c in cs if c != (code, 0, "more")]
        self.people += 1
        self.people_with_false += bool(wrong)
        self.claims += len(cs)
        self.false += len(wrong)
        self.false_next_day += sum(c[1] == 1 for c in wrong)
        self.false_fewer += sum(c[1] == 0 and c[2] == "fewer" for c in wrong)
        self.false_other_same_day_more += sum(c[1] == 0 and c[2] == "more" for c in wrong)

    def merge(self, other: ClaimTally) -> None:
        for k in vars(self):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    @property
    def share(self) -> float:
        return self.false / self.claims if self.claims else 0.0

    def line(self) -> str:
        lo, hi = wilson(self.false, self.claims)
        return (
            f"{self.false:>4}/{self.claims:<5} = {self.share:5.3f} [{lo:.3f}, {hi:.3f}]  next-day {self.false_next_day:>3}"
            f"  fewer {self.false_fewer:>3}  other same-day more {self.false_other_same_day_more:>3}"
            f"  | people {self.people:>5}, with a false claim {self.people_with_false / max(self.people, 1):5.3f}"
        )


@dataclass
class TrendTally:
    """Trend claims on diaries with no trend: up / down / judged (a status other than not enough data)."""

    up: int = 0
    down: int = 0
    judged: int = 0

    def add(self, status: str, up: str, down: str) -> None:
        if status == "not enough data":
            return
        self.judged += 1
        self.up += status == up
        self.down += status == down

    @property
    def share(self) -> float:
        return (self.up + self.down) / self.judged if self.judged else 0.0

    @property
    def balance_p(self) -> float:
        n = self.up + self.down
        return float(stats.binomtest(self.up, n, 0.5).pvalue) if n else 1.0

    @property
    def ok(self) -> bool:
        return self.share <= 0.05 and self.balance_p >= 0.05


@dataclass
class Trends:
    frequency: TrendTally = field(default_factory=TrendTally)
    frequency_by_kind: TrendTally = field(default_factory=TrendTally)  # information
    duration: TrendTally = field(default_factory=TrendTally)

    def add(self, report: Snapshot) -> None:
        self.frequency.add(report["frequency"]["trend"]["status"], "rising", "falling")
        for t in report["frequency"]["trend_by_kind"].values():
            self.frequency_by_kind.add(t["status"], "rising", "falling")
        for d in report["duration"].values():
            self.duration.add(d["trend"]["status"], "longer", "shorter")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, mid - half), min(1.0, mid + half)


def split(c: Cohort, j: int, lag: int = 0) -> tuple[int, int, int, int]:
    e = c.exposed[j, : c.days - lag]
    y = c.counts[lag:]
    return int(y[e].sum()), int(e.sum()), int(y[~e].sum()), int((~e).sum())


def oracle_p(c: Cohort) -> tuple[float, float, bool]:
    """Two-sided and one-sided ("greater") exact conditional p for the planted exposure; rate ratio > 1."""
    assert c.planted is not None
    x_e, t_e, x_u, t_u = split(c, c.planted)
    n = x_e + x_u
    if n == 0:
        return 1.0, 1.0, False
    p0 = t_e / (t_e + t_u)
    two = stats.binomtest(x_e, n, p0).pvalue
    one = stats.binomtest(x_e, n, p0, alternative="greater").pvalue
    return float(two), float(one), x_e * t_u > x_u * t_e


def pearson_flags(c: Cohort) -> tuple[np.ndarray, np.ndarray]:
    """Naive tracker: Pearson r of the daily count with each exposure; flagged when |r| > 0.3 or p < 0.05."""
    y = c.counts.astype(float)
    n_exp = c.exposed.shape[0]
    flags = np.zeros(n_exp, dtype=bool)
    r_all = np.zeros(n_exp)
    if y.std() == 0:
        return flags, r_all
    for j in range(n_exp):
        x = c.exposed[j].astype(float)
        if x.std() == 0:
            continue
        r, p = stats.pearsonr(x, y)
        r_all[j] = r
        flags[j] = abs(r) > 0.3 or p < 0.05
    return flags, r_all


def reported_counts(report: Snapshot, code: str) -> tuple[int, int, int, int] | None:
    """The planted exposure's same-day counts as reported: (x_e, t_e, x_u, t_u)."""
    f = next((f for f in report["triggers"] if f["exposure"] == code and f["lag"] == 0), None)
    if f is None:
        return None
    return f["exposed_episodes"], f["exposed_days"], f["unexposed_episodes"], f["unexposed_days"]


def mean_se(v: list[bool] | list[float]) -> tuple[float, float]:
    a = np.asarray(v, dtype=float)
    if a.size == 0:
        return math.nan, math.nan
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size)) if a.size > 1 else 0.0


def fmt(v: list[bool] | list[float]) -> str:
    m, se = mean_se(v)
    return f"{m:5.3f}±{se:5.3f}"
