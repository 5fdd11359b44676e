"""The exposures a check-in records, which days had them, and the table of exposure x lag counts that
every trigger analysis starts from. Pure numpy (no Django).

Only days whose check-in logged the exposure's field count; lag 1 pairs the exposure on day d with the
episodes on day d + 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diary.patterns.days import CHECKIN_FIELDS, EpisodeDays
from diary.patterns.permutation import day_tests
from diary.patterns.rules import MIN_CHECKIN_DAYS, MIN_EXPOSED_DAYS, MIN_TEST_EPISODES, MIN_UNEXPOSED_DAYS
from diary.patterns.snapshot import Needs
from diary.patterns.stats import RateComparison
from diary.vocab import EPISODE_KINDS

LAGS = (0, 1)  # same day, next day


@dataclass(frozen=True)
class Exposure:
    code: str
    field: str  # CheckinRow field
    op: str  # lt | le | gt | ge | eq, applied to the field's numeric value (see days.checkin_days)
    threshold: float
    label: str  # short noun phrase
    when: str  # "on days {when}"
    when_not: str  # the unexposed days
    suspected_by: tuple[str, ...]  # TRIGGERS codes the person may tag that name this exposure


EXPOSURES: tuple[Exposure, ...] = (
    Exposure("low_water", "water_ml", "lt", 1500, "low water", "you drank under 1.5 L", "you drank 1.5 L or more", ("dehydration",)),
    Exposure("caffeine", "caffeine_servings", "ge", 3, "caffeine", "you had 3 or more caffeinated drinks", "you had fewer than 3 caffeinated drinks", ("caffeine",)),
    Exposure("vigorous_exercise", "exercise_intensity", "eq", 3, "vigorous exercise", "you exercised vigorously", "you did not exercise vigorously", ("strenuous_exercise",)),
    Exposure("heat", "hot_weather", "eq", 1, "heat", "you were in hot weather", "you were not in hot weather", ("heat",)),
    Exposure("short_sleep", "sleep_h", "lt", 6, "short sleep", "you slept under 6 hours", "you slept 6 hours or more", ("poor_sleep",)),
    Exposure("high_stress", "stress", "ge", 7, "high stress", "your stress was 7 or higher", "your stress was under 7", ("stress", "anxiety")),
    Exposure("long_sitting", "sitting_h", "gt", 8, "long sitting", "you sat for more than 8 hours", "you sat for 8 hours or less", ("prolonged_sitting",)),
    Exposure("medication", "medications", "ge", 1, "medication", "you took medication", "you took no medication", ("medication",)),
)  # fmt: skip
EXPOSURE_BY_TRIGGER = {t: e for e in EXPOSURES for t in e.suspected_by}
NOT_A_HYPOTHESIS = frozenset({"unknown"})


def exposure_matrix(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(exposures x days) booleans from the check-in values (days.CheckinDays.values): logged, exposed."""
    logged = np.zeros((len(EXPOSURES), values.shape[1]), dtype=bool)
    exposed = np.zeros_like(logged)
    with np.errstate(invalid="ignore"):
        for j, x in enumerate(EXPOSURES):
            v = values[CHECKIN_FIELDS.index(x.field)]
            logged[j] = ~np.isnan(v)
            if x.op == "lt":
                hit = v < x.threshold
            elif x.op == "le":
                hit = v <= x.threshold
            elif x.op == "gt":
                hit = v > x.threshold
            elif x.op == "ge":
                hit = v >= x.threshold
            else:
                hit = v == x.threshold
            exposed[j] = logged[j] & hit
    return logged, exposed


@dataclass
class ExposureTest:
    """One exposure x lag: episodes ``x_e`` on ``t_e`` exposed days vs ``x_u`` on ``t_u`` unexposed days."""

    exposure: Exposure
    lag: int
    t_e: int
    t_u: int
    x_e: int
    x_u: int
    x_e_kind: np.ndarray  # the episodes by kind (EPISODE_KINDS order)
    x_u_kind: np.ndarray

    @property
    def enough(self) -> bool:
        """Does it meet the minimum-data rules (and so take part in discovery)?"""
        return (
            self.t_e + self.t_u >= MIN_CHECKIN_DAYS
            and self.t_e >= MIN_EXPOSED_DAYS
            and self.t_u >= MIN_UNEXPOSED_DAYS
            and self.x_e + self.x_u >= MIN_TEST_EPISODES
        )

    def needs(self) -> Needs:
        need_e = max(0, MIN_EXPOSED_DAYS - self.t_e)
        need_u = max(0, MIN_UNEXPOSED_DAYS - self.t_u)
        return Needs(
            checkin_days=max(0, MIN_CHECKIN_DAYS - self.t_e - self.t_u, need_e + need_u),
            exposed_days=need_e,
            unexposed_days=need_u,
            episodes=max(0, MIN_TEST_EPISODES - self.x_e - self.x_u),
        )

    def missing(self, noun: str) -> str:
        """What the minimum-data rules still lack, said neutrally: the diary describes the data it has and
        never asks anyone to take or skip a medication, or change anything else, to fill a comparison
        (so no "N more days when you took no medication")."""
        need = self.needs()
        x = self.exposure
        days = "paired check-in" if self.lag else "check-in"
        parts = []
        if need["exposed_days"] or need["unexposed_days"]:
            parts.append(
                f"not enough days to compare yet ({self.t_e} days when {x.when}, {self.t_u} when {x.when_not})"
            )
        extra = need["checkin_days"] - need["exposed_days"] - need["unexposed_days"]
        if extra > 0:
            parts.append(f"{self.t_e + self.t_u} {days} days record {x.label} so far, {MIN_CHECKIN_DAYS} needed")
        if need["episodes"]:
            parts.append(
                f"too few {noun} on those days to compare ({self.x_e + self.x_u} so far, {MIN_TEST_EPISODES} needed)"
            )
        return "; ".join(parts)


def exposure_tests(ep: EpisodeDays, logged: np.ndarray, exposed: np.ndarray, days: int) -> list[ExposureTest]:
    """Every exposure x lag's counts (lags in LAGS order, exposures in EXPOSURES order)."""
    counts = day_counts(ep, days)
    kind_counts = np.stack(
        [np.bincount(ep.day[ep.kind == i], minlength=days) for i in range(len(EPISODE_KINDS))]
    ).astype(np.int64)
    out = []
    for lag in LAGS:
        if days - lag <= 0:
            continue
        e = exposed[:, : days - lag].astype(np.int64)
        u = (logged[:, : days - lag] & ~exposed[:, : days - lag]).astype(np.int64)
        y, yk = counts[lag:], kind_counts[:, lag:]
        t_e, t_u = e.sum(axis=1), u.sum(axis=1)
        x_e, x_u = e @ y, u @ y
        xk_e, xk_u = e @ yk.T, u @ yk.T
        for j, x in enumerate(EXPOSURES):
            out.append(ExposureTest(x, lag, int(t_e[j]), int(t_u[j]), int(x_e[j]), int(x_u[j]), xk_e[j], xk_u[j]))
    return out


def day_counts(ep: EpisodeDays, days: int) -> np.ndarray:
    return np.bincount(ep.day, minlength=days).astype(np.int64)


def comparisons(
    tests: list[ExposureTest],
    ep: EpisodeDays,
    logged: np.ndarray,
    exposed: np.ndarray,
    days: int,
    weekend: np.ndarray,
    confidence: float,
) -> dict[tuple[str, int], RateComparison]:
    """Every test with anything to compare (an exposed and an unexposed day, an episode), by (exposure
    code, lag): the day-level permutation test (permutation.py), one batch per lag, days exchanged
    within weekend / weekday of the episode day."""
    counts = day_counts(ep, days)
    out: dict[tuple[str, int], RateComparison] = {}
    for lag in LAGS:
        batch = [t for t in tests if t.lag == lag and t.t_e and t.t_u and t.x_e + t.x_u]
        if not batch:
            continue
        n = days - lag
        rows = [EXPOSURES.index(t.exposure) for t in batch]
        e = exposed[rows, :n]
        u = logged[rows, :n] & ~e
        for t, c in zip(batch, day_tests(counts[lag:], e, u, weekend[lag:], confidence), strict=True):
            out[(t.exposure.code, lag)] = c
    return out


def when(x: Exposure, lag: int) -> str:
    """'on days you drank under 1.5 L' / 'on the day after you drank under 1.5 L'."""
    return f"on days {x.when}" if lag == 0 else f"on the day after {x.when}"


def lag_name(lag: int) -> str:
    return "same day" if lag == 0 else "next day"
