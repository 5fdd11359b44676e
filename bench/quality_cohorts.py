"""Synthetic diaries for bench.patterns_quality: one person's check-ins and episodes, seeded.

A person keeps a check-in every day for 30, 90 or 180 local days that END YESTERDAY in their zone (the
analysis gets ``today=TODAY``, the day in progress, which it never counts). Episodes arrive at a base
rate of 0.5 a day; seven check-in exposures are logged (medication never is: 7 exposures x 2 lags = 14
tests). What varies between cohort families (``Spec``):

- ``planted``/``rate_ratio``: one exposure, present on 30% of days, multiplies that day's rate;
- ``gamma_shape``: a negative-binomial day effect, each day's rate times a gamma multiplier of mean 1
  (shape 2: variance 0.5; bad days with several episodes that no exposure explains);
- ``hot_runs``: hot weather follows a two-state Markov chain (hot days come in runs of ~3.3 on average,
  30% of days) and low water goes with heat (P(low water | hot) 0.8, otherwise 0.15), so a heat
  effect shows up on low-water days and on the day after a hot day without either being a cause;
- ``weekend_ratio``: the weekend rate is this multiple of the weekday rate (same mean over a week) and
  vigorous exercise is a weekend habit (60% of weekend days, 15% of weekdays): a weekly rhythm that an
  exposure with a weekly rhythm of its own can borrow.

Every family has no trend over time, so any "rising"/"falling"/"longer"/"shorter" is a false claim.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from diary.patterns.analysis import EXPOSURES, CheckinRow, EpisodeRow

TODAY = dt.date(2026, 6, 30)  # the day in progress for every person; the diary's last day is the day before
BASE_RATE = 0.5
PLANTED_SHARE = 0.30
NULL_SHARE = (0.15, 0.35)
USED = tuple(x for x in EXPOSURES if x.code != "medication")  # the 7 exposures the cohorts log
CODES = tuple(x.code for x in USED)
N_TESTS = len(USED) * 2  # exposure x lag tests
TAG_SHARE = 0.4
ZONES = ("Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo", "UTC")
KINDS = ("spasm", "cramp", "twitch")
LOCATIONS = ("calf", "foot", "hamstring", "neck", "lower_back", "eyelid")
WATER, EXERCISE, HOT = 0, 2, 3  # rows of ``exposed`` (USED order)
HOT_STAY = 0.7  # P(hot tomorrow | hot today); P(hot tomorrow | not hot) keeps 30% of days hot
LOW_WATER_IF_HOT = (0.15, 0.8)


@dataclass(frozen=True)
class Spec:
    """One cohort family's generating model (module docstring)."""

    name: str
    rate_ratio: float = 1.0
    gamma_shape: float | None = None
    hot_runs: bool = False
    weekend_ratio: float = 1.0


@dataclass
class Cohort:
    days: int
    tz: str
    exposed: np.ndarray  # (7, days) bool
    counts: np.ndarray  # (days,) episodes per local day
    planted: int | None  # index into USED
    checkins: list[CheckinRow]
    episode_base: list[tuple[dt.datetime, str, str, int, int, tuple[str, ...], int]]  # everything but triggers
    tag_draw: np.ndarray  # (episodes, 2) uniform: tagged trigger j when below TAG_SHARE


def hot_chain(rng: np.random.Generator, days: int) -> np.ndarray:
    """Hot days in runs: a stationary two-state Markov chain with 30% hot days, P(stay hot) HOT_STAY."""
    enter = PLANTED_SHARE * (1 - HOT_STAY) / (1 - PLANTED_SHARE)
    out = np.zeros(days, dtype=bool)
    u = rng.random(days)
    state = bool(u[0] < PLANTED_SHARE)
    for i in range(days):
        if i:
            state = bool(u[i] < (HOT_STAY if state else enter))
        out[i] = state
    return out


def exposures(rng: np.random.Generator, spec: Spec, days: int, planted: int | None, weekend: np.ndarray) -> np.ndarray:
    shares = rng.uniform(*NULL_SHARE, size=len(USED))
    if planted is not None:
        shares[planted] = PLANTED_SHARE
    exposed = rng.random((len(USED), days)) < shares[:, None]
    if spec.hot_runs:
        exposed[HOT] = hot_chain(rng, days)
        exposed[WATER] = rng.random(days) < np.where(exposed[HOT], LOW_WATER_IF_HOT[1], LOW_WATER_IF_HOT[0])
    if spec.weekend_ratio != 1.0:
        exposed[EXERCISE] = rng.random(days) < np.where(weekend, 0.6, 0.15)
    return exposed


def make_cohort(rng: np.random.Generator, spec: Spec, days: int, planted: int | None) -> Cohort:
    start = TODAY - dt.timedelta(days=days)  # ends yesterday
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    weekend = np.array([d.weekday() >= 5 for d in dates])
    exposed = exposures(rng, spec, days, planted, weekend)
    rate = np.full(days, BASE_RATE)
    if planted is not None:
        rate = np.where(exposed[planted], rate * spec.rate_ratio, rate)
    if spec.weekend_ratio != 1.0:
        weekday_rate = 7 / (5 + 2 * spec.weekend_ratio)
        rate = rate * np.where(weekend, weekday_rate * spec.weekend_ratio, weekday_rate)
    if spec.gamma_shape is not None:
        rate = rate * rng.gamma(spec.gamma_shape, 1 / spec.gamma_shape, days)
    counts = rng.poisson(rate)
    tz = ZONES[int(rng.integers(len(ZONES)))]
    # check-in values consistent with each exposure's rule (both sides of every threshold)
    water = np.where(exposed[0], rng.integers(500, 1500, days), rng.integers(1500, 3200, days))
    caffeine = np.where(exposed[1], rng.integers(3, 7, days), rng.integers(0, 3, days))
    intensity = np.where(exposed[2], "vigorous", rng.choice(np.array(["none", "light", "moderate"]), days))
    hot = exposed[3]
    sleep = np.where(exposed[4], rng.uniform(3.0, 5.9, days), rng.uniform(6.0, 9.5, days)).round(1)
    stress = np.where(exposed[5], rng.integers(7, 11, days), rng.integers(0, 7, days))
    sitting = np.where(exposed[6], rng.uniform(8.5, 13, days), rng.uniform(0, 8, days)).round(1)
    checkins = [
        CheckinRow(
            day=dates[i], water_ml=int(water[i]), caffeine_servings=int(caffeine[i]),
            exercise_intensity=str(intensity[i]), hot_weather=bool(hot[i]), sleep_h=float(sleep[i]),
            stress=int(stress[i]), sitting_h=float(sitting[i]), medications=(),
        )
        for i in range(days)
    ]  # fmt: skip
    zone = ZoneInfo(tz)
    n = int(counts.sum())
    day_of = np.repeat(np.arange(days), counts)
    minute = rng.integers(0, 24 * 60, n)
    kinds = rng.integers(0, len(KINDS), n)
    locs = rng.integers(0, len(LOCATIONS), n)
    durations = rng.lognormal(4.0, 1.0, n).astype(int) + 1
    pain = rng.integers(0, 9, n)
    score = rng.integers(0, 11, n)
    base: list[tuple[dt.datetime, str, str, int, int, tuple[str, ...], int]] = []
    for i in range(n):
        local = dt.datetime.combine(dates[int(day_of[i])], dt.time(), tzinfo=zone)
        at = (local + dt.timedelta(minutes=int(minute[i]))).astimezone(dt.UTC)
        base.append(
            (at, KINDS[kinds[i]], LOCATIONS[locs[i]], int(durations[i]), int(pain[i]), ("stretching",), int(score[i]))
        )
    return Cohort(days, tz, exposed, counts, planted, checkins, base, rng.random((n, 2)))


def episodes(c: Cohort, tagged: list[str]) -> list[EpisodeRow]:
    """The cohort's episodes; each of ``tagged`` on ~TAG_SHARE of them (independent draws per trigger)."""
    rows = []
    for i, (at, kind, loc, dur, pain, relief, score) in enumerate(c.episode_base):
        tags = tuple(t for j, t in enumerate(tagged) if c.tag_draw[i, j] < TAG_SHARE)
        rows.append(EpisodeRow(at, c.tz, kind, loc, dur, pain, tags, relief, score))
    return rows
