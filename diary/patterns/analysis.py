"""Pattern detection: the pure analysis core (numpy/scipy only, no Django anywhere in here).

``analyse(episodes, checkins, today=..., window_days=90)`` turns a person's rows into the snapshot the
API serves as-is: a JSON-serialisable dict (str/int/float/bool/None/list/dict only; every float finite
or None). The unit of every comparison is the LOCAL DAY: an episode belongs to the calendar day of its
start in its own zone (``EpisodeRow.tz``), a check-in to its ``day``. The window is the ``window_days``
local days ending with ``today`` (inclusive). Rates count only OBSERVED days: the window, but no
earlier than the person's first entry (episode or check-in) when that is inside the window.

Snapshot shape (``version`` 1)::

    {
      "version": 1,
      "disclaimer": str,                              # "... not a diagnosis ..."
      "window": {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD", "days": int, "observed_days": int,
                 "episodes": int, "checkin_days": int},
      "frequency": {
        "periods": {"7"|"28"|"90": {"start", "end", "days", "observed_days",
                                    "all": {"n", "per_day", "per_week"},
                                    "by_kind": {kind: {"n", "per_day", "per_week"}}}},
        "trend": TREND,                               # last 28 days vs the 28 before, all kinds
        "trend_by_kind": {kind: TREND},
        "sentence": str},
      TREND = {"status": "rising"|"falling"|"stable"|"not enough data", "recent_days", "previous_days",
               "recent_episodes", "previous_episodes", "rate_ratio", "ci_low", "ci_high", "p_value",
               "missing": str|None, "sentence": str}
      "duration": {kind: {"n", "ongoing", "median_s", "q1_s", "q3_s", "p90_s",
                          "trend": {"status": "longer"|"shorter"|"no clear change"|"not enough data",
                                    "recent_n", "previous_n", "recent_median_s", "previous_median_s",
                                    "p_value"},
                          "sentence"}},       # kinds with at least one episode in the window
      "timing": {"n", "shares": {"night"|"morning"|"afternoon"|"evening": float|None},
                 "counts": {part: int}, "mostly_at_night": bool|None,
                 "by_kind": {kind: {"n", "shares", "counts", "mostly_at_night"}}, "sentence"},
      "where": {"n", "hotspots": [{"body_location", "n", "share", "by_kind": {kind: n}}], "sentence"},
      "triggers": [FINDING, ...],                     # every exposure x lag that was tested, by p-value
      FINDING = {"exposure", "label", "lag" (0 same day | 1 next day), "exposed_days", "unexposed_days",
                 "exposed_episodes", "unexposed_episodes", "exposed_rate", "unexposed_rate" (per day),
                 "rate_ratio" (None = unbounded: no episode on unexposed days), "ci_low", "ci_high" (None =
                 unbounded), "p_value" (exact conditional, two-sided), "q_value" (Benjamini-Hochberg
                 over every exposure x lag tested), "significant": bool (q within the discovery level and
                 confirmed, below), "direction": "more"|"fewer", "adjusted_for": [{"exposure", "lag"}]
                 (the other discovery it was re-tested against; [] when not re-tested),
                 "adjusted_rate_ratio" (Mantel-Haenszel), "adjusted_p_value" (stratified exact test),
                 "by_kind": {kind: {"exposed_episodes", "unexposed_episodes", "rate_ratio"}}
                 (descriptive, not tested), "sentence"}
      "not_enough_data": [{"exposure", "label", "lag", "exposed_days", "unexposed_days", "episodes",
                           "needs": {"checkin_days", "exposed_days", "unexposed_days", "episodes"},
                           "missing": str, "sentence"}],
      "suspected": [{"trigger", "label", "tagged_episodes", "exposure" (None: no check-in records it),
                     "lag" (0|None), "status": "supported"|"not supported"|"not enough data",
                     "exposed_days", "unexposed_days", "exposed_episodes", "unexposed_episodes",
                     "rate_ratio", "ci_low", "ci_high", "p_value" (one-sided: more episodes when
                     exposed), "p_adjusted" (Holm across the person's tested suspected triggers),
                     "missing": str|None, "sentence"}],
      "relief": [{"measure", "label", "tried", "n" (rated), "mean_score", "sentence"}],
      "multiple_testing": {"suspected_alpha", "suspected_tests", "discovery_fdr", "discovery_tests",
                           "recycled": bool, "method": str},
      "rules": {name: number}                         # the minimum-data constants below
    }

Trigger statistics (see ``stats``): for each exposure and lag the episode count on exposed days is
compared with unexposed days by the exact conditional test of two Poisson rates (binomial given the
total), rate ratio with the Clopper-Pearson interval transformed. Only days whose check-in logged the
exposure's field count; lag 1 pairs the exposure on day d with the episodes on day d + 1.

Multiple testing (false findings on a person with no real effect at most 5% overall):
- Suspected triggers (tagged by the person on at least ``MIN_SUSPECTED_TAGS`` episodes and
  ``MIN_SUSPECTED_SHARE`` of them, mapped to a check-in exposure) are pre-specified one-sided
  hypotheses ("more episodes when exposed", same day): Holm at ``ALPHA_SUSPECTED`` = 0.025. They are
  tested whenever there is anything to compare (exact tests are valid at any size); the minimum-data
  rules only decide between "not supported" and "not enough data".
- Discovery: every exposure x lag tested, two-sided p-values, Benjamini-Hochberg at
  ``FDR_DISCOVERY`` = 0.025. When the suspected family tested nothing, or rejected every hypothesis
  it tested, its 0.025 passes on to discovery (BH at 0.05): the graphical (alpha-recycling) rule, so
  on a person with no effect at all the chance of any false finding stays at most 0.025 + 0.025.
- Confirmation (``_adjust``): with two or more discoveries, each is re-tested stratified by each other
  one's exposure status; a discovery explained by another (it fails adjusted for the other, the other
  survives adjusted for it) is no longer significant. This only ever removes findings, so the bounds
  above still hold; it keeps a link that merely mirrors another on overlapping days (low water on hot
  days) out of the findings, and the excess of false links a real trigger's extra episodes would cause.

The episode "noun" of the sentences is the kind when the window holds only one kind ("Cramps were ..."),
else "episodes". Trigger tests count all kinds together (one family of tests, not one per kind).
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from diary.patterns import sentences as say
from diary.patterns.stats import (
    RateComparison,
    bh_qvalues,
    compare_rates,
    holm_adjust,
    mann_whitney_p,
    stratified_compare,
)
from diary.vocab import EPISODE_KINDS, RELIEF

ANALYSIS_VERSION = 1

# --- periods -----------------------------------------------------------------------------------------
FREQUENCY_PERIODS = (7, 28, 90)
TREND_DAYS = 28  # last 28 days vs the 28 before
PARTS_OF_DAY = ("night", "morning", "afternoon", "evening")  # 00-06, 06-12, 12-18, 18-24 local time
PART_HOURS = {"night": "00-06", "morning": "06-12", "afternoon": "12-18", "evening": "18-24"}

# --- minimum-data rules --------------------------------------------------------------------------------
MIN_CHECKIN_DAYS = 14  # check-ins that logged the exposure's field (paired days for lag 1)
MIN_EXPOSED_DAYS = 5
MIN_UNEXPOSED_DAYS = 5
MIN_TEST_EPISODES = 10  # episodes on those days, exposed and unexposed together
MIN_TREND_DAYS = 14  # observed days in each of the two 28-day periods
MIN_TREND_EPISODES = 10
MIN_DURATION_N = 3  # timed episodes of a kind for a duration summary sentence
MIN_DURATION_TREND_N = 5  # timed episodes in each 28-day period for a duration trend
MIN_TIMING_EPISODES = 10  # before "mostly at night" is said (yes or no)
MIN_SUSPECTED_TAGS = 3  # a tagged trigger becomes a suspected-trigger hypothesis at 3 tags ...
MIN_SUSPECTED_SHARE = 0.10  # ... on at least 10% of the window's episodes
MIN_RELIEF_N = 3  # rated episodes before a relief measure is compared

# --- multiple testing ----------------------------------------------------------------------------------
ALPHA_TOTAL = 0.05
ALPHA_SUSPECTED = 0.025  # Holm, one-sided, across the person's suspected triggers
FDR_DISCOVERY = 0.025  # Benjamini-Hochberg across every exposure x lag tested
CONFIDENCE = 0.95
LAGS = (0, 1)
DURATION_TREND_P = 0.05


@dataclass(frozen=True)
class EpisodeRow:
    started_at: dt.datetime  # aware (UTC from the DB)
    tz: str  # IANA zone where it happened: defines its LOCAL DAY
    kind: str  # spasm | cramp | twitch
    body_location: str
    duration_s: int | None  # None while ongoing
    pain: int
    triggers: tuple[str, ...] = ()  # suspected triggers the person tagged (TRIGGERS codes or "custom:<text>")
    relief: tuple[str, ...] = ()  # what they tried (RELIEF codes)
    relief_score: int | None = None  # 0..10 how much it helped


@dataclass(frozen=True)
class CheckinRow:  # one per local day; every value may be None (not logged)
    day: dt.date
    water_ml: int | None = None
    caffeine_servings: int | None = None
    exercise_intensity: str | None = None  # none|light|moderate|vigorous
    hot_weather: bool | None = None
    sleep_h: float | None = None
    stress: int | None = None
    sitting_h: float | None = None
    medications: tuple[str, ...] = ()  # a check-in with none listed counts as "no medication that day"


# --- the exposure table ----------------------------------------------------------------------------------
CHECKIN_FIELDS = (
    "water_ml", "caffeine_servings", "exercise_intensity", "hot_weather", "sleep_h", "stress", "sitting_h",
    "medications",
)  # fmt: skip
_INTENSITY = {"none": 0.0, "light": 1.0, "moderate": 2.0, "vigorous": 3.0}


@dataclass(frozen=True)
class Exposure:
    code: str
    field: str  # CheckinRow field
    op: str  # lt | le | gt | ge | eq, applied to the field's numeric value (see _checkin_columns)
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

RULES = {
    "min_checkin_days": MIN_CHECKIN_DAYS,
    "min_exposed_days": MIN_EXPOSED_DAYS,
    "min_unexposed_days": MIN_UNEXPOSED_DAYS,
    "min_test_episodes": MIN_TEST_EPISODES,
    "min_trend_days": MIN_TREND_DAYS,
    "min_trend_episodes": MIN_TREND_EPISODES,
    "min_duration_n": MIN_DURATION_N,
    "min_duration_trend_n": MIN_DURATION_TREND_N,
    "min_timing_episodes": MIN_TIMING_EPISODES,
    "min_suspected_tags": MIN_SUSPECTED_TAGS,
    "min_suspected_share": MIN_SUSPECTED_SHARE,
    "min_relief_n": MIN_RELIEF_N,
}


# --- helpers -------------------------------------------------------------------------------------------------
def _f(x: float | None, digits: int = 4) -> float | None:
    """A JSON-safe float: finite and rounded to ``digits`` significant digits, else None."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    if x == 0:
        return 0.0
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def _p(x: float) -> float:
    """A p-value kept to 6 significant digits (tiny ones stay tiny, never rounded to 0)."""
    v = _f(x, 6)
    return 1.0 if v is None else v


_ZONES: dict[str, dt.tzinfo] = {}


def _zone(name: str) -> dt.tzinfo:
    z = _ZONES.get(name)
    if z is None:
        try:
            z = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            z = dt.UTC
        _ZONES[name] = z
    return z


@dataclass
class _Episodes:
    """The window's episodes as arrays (one entry per episode)."""

    day: np.ndarray  # int, index of the local day in the window
    hour: np.ndarray  # int, local hour
    kind: np.ndarray  # int, index in EPISODE_KINDS (-1: unknown kind)
    duration: np.ndarray  # float seconds, nan while ongoing
    location: list[str]
    triggers: list[tuple[str, ...]]
    relief: list[tuple[str, ...]]
    relief_score: np.ndarray  # float, nan when not rated
    earlier: bool  # some episode lies before the window


def _episode_arrays(episodes: Sequence[EpisodeRow], start: dt.date, today: dt.date) -> _Episodes:
    lo, hi = start - dt.timedelta(days=2), today + dt.timedelta(days=2)
    kind_index = {k: i for i, k in enumerate(EPISODE_KINDS)}
    day: list[int] = []
    hour: list[int] = []
    kind: list[int] = []
    duration: list[float] = []
    location: list[str] = []
    triggers: list[tuple[str, ...]] = []
    relief: list[tuple[str, ...]] = []
    score: list[float] = []
    earlier = False
    for e in episodes:
        at = e.started_at
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        rough = at.date()  # within a day of the local day whatever the offsets (at most 14 h each)
        if rough < lo:
            earlier = True
            continue
        if rough > hi:
            continue
        local = at.astimezone(_zone(e.tz))
        d = local.date()
        if d < start:
            earlier = True
            continue
        if d > today:
            continue
        day.append((d - start).days)
        hour.append(local.hour)
        kind.append(kind_index.get(e.kind, -1))
        duration.append(math.nan if e.duration_s is None or e.duration_s < 0 else float(e.duration_s))
        location.append(e.body_location)
        triggers.append(tuple(dict.fromkeys(e.triggers)))
        relief.append(tuple(dict.fromkeys(e.relief)))
        s = e.relief_score
        score.append(float(s) if s is not None and 0 <= s <= 10 else math.nan)
    return _Episodes(
        day=np.asarray(day, dtype=np.int64),
        hour=np.asarray(hour, dtype=np.int64),
        kind=np.asarray(kind, dtype=np.int64),
        duration=np.asarray(duration, dtype=float),
        location=location,
        triggers=triggers,
        relief=relief,
        relief_score=np.asarray(score, dtype=float),
        earlier=earlier,
    )


def _num(v: float | bool | None) -> float:
    return math.nan if v is None else float(v)


def _checkin_columns(checkins: Sequence[CheckinRow], start: dt.date, days: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """(fields x days) float matrix, nan = not logged; the days that have a check-in; any check-in earlier."""
    cols = np.full((len(CHECKIN_FIELDS), days), np.nan)
    has = np.zeros(days, dtype=bool)
    earlier = False
    for c in checkins:
        i = (c.day - start).days
        if i < 0:
            earlier = True
            continue
        if i >= days:
            continue
        has[i] = True
        intensity = math.nan if c.exercise_intensity is None else _INTENSITY.get(c.exercise_intensity, math.nan)
        cols[:, i] = (
            _num(c.water_ml),
            _num(c.caffeine_servings),
            intensity,
            _num(c.hot_weather),
            _num(c.sleep_h),
            _num(c.stress),
            _num(c.sitting_h),
            float(len(c.medications or ())),
        )
    return cols, has, earlier


def _exposure_matrix(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(exposures x days) booleans: logged, exposed."""
    logged = np.zeros((len(EXPOSURES), cols.shape[1]), dtype=bool)
    exposed = np.zeros_like(logged)
    with np.errstate(invalid="ignore"):
        for j, x in enumerate(EXPOSURES):
            v = cols[CHECKIN_FIELDS.index(x.field)]
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


def _when(x: Exposure, lag: int) -> str:
    return f"on days {x.when}" if lag == 0 else f"on the day after {x.when}"


def _lag_name(lag: int) -> str:
    return "same day" if lag == 0 else "next day"


def _comparison_fields(c: RateComparison) -> dict[str, Any]:
    return {
        "exposed_days": c.t_e,
        "unexposed_days": c.t_u,
        "exposed_episodes": c.x_e,
        "unexposed_episodes": c.x_u,
        "exposed_rate": _f(c.x_e / c.t_e),
        "unexposed_rate": _f(c.x_u / c.t_u),
        "rate_ratio": _f(c.rate_ratio),
        "ci_low": _f(c.ci_low),
        "ci_high": _f(c.ci_high),
    }


def _rate_clause(noun: str, c: RateComparison, when: str) -> str:
    """'cramps were 2.3 times as frequent on days you drank under 1.5 L (95% CI 1.4 to 3.8, 41 days)'."""
    ci = say.ci_text(c.ci_low, c.ci_high)
    if c.x_u == 0 and c.x_e > 0:
        return f"all {c.x_e} {noun} were {when} ({ci}, {say.plural(c.t_e, 'day')})"
    return f"{noun} were {say.times_as_frequent(c.rate_ratio)} {when} ({ci}, {say.plural(c.t_e, 'day')})"


# --- sections ------------------------------------------------------------------------------------------------
def _rate(n: int, days: int) -> dict[str, Any]:
    per_day = n / days if days > 0 else None
    return {"n": n, "per_day": _f(per_day), "per_week": _f(None if per_day is None else 7 * per_day)}


def _trend(recent: np.ndarray, previous: np.ndarray, noun: str) -> dict[str, Any]:
    """``recent``/``previous``: episode counts per observed day of each period."""
    t1, t2 = int(recent.size), int(previous.size)
    x1, x2 = int(recent.sum()), int(previous.sum())
    out: dict[str, Any] = {
        "status": "not enough data",
        "recent_days": t1,
        "previous_days": t2,
        "recent_episodes": x1,
        "previous_episodes": x2,
        "rate_ratio": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "missing": None,
    }
    missing = []
    if t1 < MIN_TREND_DAYS or t2 < MIN_TREND_DAYS:
        need = max(0, MIN_TREND_DAYS - t2) if t1 >= MIN_TREND_DAYS else MIN_TREND_DAYS + max(0, TREND_DAYS - t1)
        missing.append(f"{say.plural(need, 'more day')} of diary")
    if x1 + x2 < MIN_TREND_EPISODES:
        missing.append(f"at least {MIN_TREND_EPISODES} {noun} in the last {2 * TREND_DAYS} days ({x1 + x2} so far)")
    if missing:
        out["missing"] = "needs " + " and ".join(missing)
        out["sentence"] = f"Not enough data for a trend in {noun} yet: it {out['missing']}."
        return out
    c = compare_rates(x1, t1, x2, t2, CONFIDENCE)
    status = "rising" if c.ci_low > 1 else "falling" if c.ci_high < 1 else "stable"
    out.update(
        status=status,
        rate_ratio=_f(c.rate_ratio),
        ci_low=_f(c.ci_low),
        ci_high=_f(c.ci_high),
        p_value=_p(c.p_two_sided),
    )
    ci = say.ci_text(c.ci_low, c.ci_high)
    counts = f"{x1} in the last {t1} days, {x2} in the {t2} days before"
    if status == "rising":
        if x2 == 0:
            sentence = f"{say.capital(noun)} are rising: {counts} ({ci})."
        else:
            sentence = f"{say.capital(noun)} are rising: {say.times_as_frequent(c.rate_ratio)} in the last {t1} days as in the {t2} days before ({ci}; {counts})."
    elif status == "falling":
        sentence = f"{say.capital(noun)} are falling: {say.num(c.rate_ratio)} times the rate of the {t2} days before ({ci}; {counts})."
    else:
        sentence = f"No clear change in how often {noun} happen: {counts} (rate ratio {say.num(c.rate_ratio)}, {ci})."
    out["sentence"] = sentence
    return out


def _frequency(ep: _Episodes, today: dt.date, days: int, observed_from: int) -> dict[str, Any]:
    counts = np.bincount(ep.day, minlength=days)
    kind_counts = {k: np.bincount(ep.day[ep.kind == i], minlength=days) for i, k in enumerate(EPISODE_KINDS)}
    periods: dict[str, Any] = {}
    for p in [p for p in FREQUENCY_PERIODS if p <= days] or [days]:
        lo = max(days - p, observed_from)
        obs = max(0, days - lo)
        periods[str(p)] = {
            "start": (today - dt.timedelta(days=p - 1)).isoformat(),
            "end": today.isoformat(),
            "days": p,
            "observed_days": obs,
            "all": _rate(int(counts[lo:].sum()), obs),
            "by_kind": {k: _rate(int(kc[lo:].sum()), obs) for k, kc in kind_counts.items()},
        }
    r_lo = max(days - TREND_DAYS, observed_from, 0)
    p_lo, p_hi = max(days - 2 * TREND_DAYS, observed_from, 0), r_lo
    present = [k for k in EPISODE_KINDS if kind_counts[k].any()]
    noun = say.subject(present)
    trend = _trend(counts[r_lo:], counts[p_lo:p_hi], noun)
    trend_by_kind = {k: _trend(kind_counts[k][r_lo:], kind_counts[k][p_lo:p_hi], say.KIND_PLURAL[k]) for k in present}
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
            f"({say.num(per_week)} a week){detail}. {trend['sentence']}"
        )
    return {"periods": periods, "trend": trend, "trend_by_kind": trend_by_kind, "sentence": sentence}


def _duration(ep: _Episodes, days: int, observed_from: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    recent_lo = days - TREND_DAYS
    prev_lo = days - 2 * TREND_DAYS
    for i, k in enumerate(EPISODE_KINDS):
        sel = ep.kind == i
        if not sel.any():
            continue
        d = ep.duration[sel]
        timed = ~np.isnan(d)
        dd = d[timed]
        name = say.KIND_PLURAL[k]
        entry: dict[str, Any] = {"n": int(dd.size), "ongoing": int((~timed).sum())}
        if dd.size:
            q1, med, q3, p90 = np.percentile(dd, [25, 50, 75, 90])
            entry.update(median_s=_f(med), q1_s=_f(q1), q3_s=_f(q3), p90_s=_f(p90))
        else:
            entry.update(median_s=None, q1_s=None, q3_s=None, p90_s=None)
        day = ep.day[sel][timed]
        recent = dd[day >= recent_lo]
        previous = dd[(day >= max(prev_lo, observed_from)) & (day < recent_lo)]
        trend: dict[str, Any] = {
            "status": "not enough data",
            "recent_n": int(recent.size),
            "previous_n": int(previous.size),
            "recent_median_s": _f(float(np.median(recent))) if recent.size else None,
            "previous_median_s": _f(float(np.median(previous))) if previous.size else None,
            "p_value": None,
        }
        trend_text = ""
        if recent.size >= MIN_DURATION_TREND_N and previous.size >= MIN_DURATION_TREND_N:
            p = mann_whitney_p(recent, previous) if np.ptp(np.concatenate([recent, previous])) > 0 else 1.0
            rm, pm = float(np.median(recent)), float(np.median(previous))
            status = "no clear change" if p >= DURATION_TREND_P or rm == pm else "longer" if rm > pm else "shorter"
            trend.update(status=status, p_value=_p(p))
            compare = f"median {say.duration(rm)} in the last {TREND_DAYS} days vs {say.duration(pm)} before"
            if status == "no clear change":
                trend_text = f" No clear change in how long they last ({compare})."
            else:
                trend_text = f" They have been lasting {status} ({compare}, p = {say.num(p)})."
        entry["trend"] = trend
        if dd.size >= MIN_DURATION_N:
            entry["sentence"] = (
                f"{say.capital(name)} lasted a median of {say.duration(entry['median_s'])} "
                f"(middle half {say.duration(entry['q1_s'])} to {say.duration(entry['q3_s'])}; 9 in 10 lasted "
                f"{say.duration(entry['p90_s'])} or less; {dd.size} timed).{trend_text}"
            )
        else:
            entry["sentence"] = (
                f"Too few timed {name} to say how long they last ({dd.size} so far, {MIN_DURATION_N} needed)."
            )
        out[k] = entry
    return out


def _timing_counts(hours: np.ndarray) -> dict[str, Any]:
    counts = np.bincount(np.clip(hours // 6, 0, 3), minlength=4)
    n = int(counts.sum())
    shares = {p: (_f(counts[i] / n) if n else None) for i, p in enumerate(PARTS_OF_DAY)}
    mostly = None if n < MIN_TIMING_EPISODES else bool(counts[0] / n > 0.5)
    return {
        "n": n,
        "shares": shares,
        "counts": {p: int(counts[i]) for i, p in enumerate(PARTS_OF_DAY)},
        "mostly_at_night": mostly,
    }


def _timing(ep: _Episodes) -> dict[str, Any]:
    out = _timing_counts(ep.hour)
    out["by_kind"] = {
        k: _timing_counts(ep.hour[ep.kind == i]) for i, k in enumerate(EPISODE_KINDS) if (ep.kind == i).any()
    }
    present = list(out["by_kind"])
    noun = say.subject(present)
    n = out["n"]
    if n == 0:
        out["sentence"] = "No episodes to time yet."
        return out
    parts = ", ".join(
        f"{say.share(out['counts'][p] / n)} {'at night' if p == 'night' else 'in the ' + p} ({PART_HOURS[p]})"
        for p in PARTS_OF_DAY
    )
    sentence = f"Of {say.plural(n, 'episode')}, {parts}."
    night_kinds = [say.KIND_PLURAL[k] for k, v in out["by_kind"].items() if v["mostly_at_night"]]
    if out["mostly_at_night"]:
        sentence += f" Most of your {noun} start at night."
    elif night_kinds:
        sentence += f" Most of your {' and '.join(night_kinds)} start at night."
    elif n < MIN_TIMING_EPISODES:
        sentence += f" Too few to say whether they are mostly at night ({MIN_TIMING_EPISODES} needed)."
    out["sentence"] = sentence
    return out


def _where(ep: _Episodes) -> dict[str, Any]:
    n = len(ep.location)
    by_loc: dict[str, Counter[str]] = {}
    for loc, k in zip(ep.location, ep.kind.tolist(), strict=True):
        by_loc.setdefault(loc, Counter())[EPISODE_KINDS[k] if k >= 0 else "other"] += 1
    hotspots: list[dict[str, Any]] = sorted(
        (
            {"body_location": loc, "n": sum(c.values()), "share": _f(sum(c.values()) / n), "by_kind": dict(c)}
            for loc, c in by_loc.items()
        ),
        key=lambda h: (-h["n"], h["body_location"]),
    )
    if not hotspots:
        sentence = "No episodes logged yet."
    else:
        top = [f"the {say.words(h['body_location'])} ({say.share(h['n'] / n)})" for h in hotspots[:3]]
        rest = f", then {' and '.join(top[1:])}" if len(top) > 1 else ""
        sentence = f"Most often in {top[0]}{rest}, of {say.plural(n, 'episode')}."
    return {"n": n, "hotspots": hotspots, "sentence": sentence}


def _relief(ep: _Episodes) -> list[dict[str, Any]]:
    tried: Counter[str] = Counter()
    scores: dict[str, list[float]] = {}
    for measures, s in zip(ep.relief, ep.relief_score.tolist(), strict=True):
        for m in measures:
            tried[m] += 1
            if not math.isnan(s):
                scores.setdefault(m, []).append(s)
    order = {m: i for i, m in enumerate(RELIEF)}
    out: list[dict[str, Any]] = []
    for m in tried:
        sc = np.asarray(scores.get(m, []), dtype=float)
        mean = float(sc.mean()) if sc.size else None
        label = "nothing" if m == "none" else say.words(m)
        if sc.size >= MIN_RELIEF_N and mean is not None:
            what = "Trying nothing" if m == "none" else say.capital(label)
            sentence = f"{what}: rated {say.num(mean)} out of 10 for relief on average ({sc.size} rated episodes)."
        else:
            sentence = f"{say.capital(label)}: {say.plural(int(sc.size), 'rated episode')} so far, too few to say how much it helps ({MIN_RELIEF_N} needed)."
        out.append(
            {
                "measure": m,
                "label": label,
                "tried": tried[m],
                "n": int(sc.size),
                "mean_score": _f(mean),
                "sentence": sentence,
            }
        )
    out.sort(
        key=lambda r: (r["n"] < MIN_RELIEF_N, -(r["mean_score"] or 0.0), order.get(r["measure"], 99), r["measure"])
    )
    if (
        out
        and out[0]["n"] >= MIN_RELIEF_N
        and sum(r["n"] >= MIN_RELIEF_N for r in out) > 1
        and out[0]["measure"] != "none"
    ):
        out[0]["sentence"] = out[0]["sentence"].replace(":", " helped most:", 1)
    return out


@dataclass
class _Test:
    exposure: Exposure
    lag: int
    t_e: int
    t_u: int
    x_e: int
    x_u: int
    x_e_kind: np.ndarray
    x_u_kind: np.ndarray

    @property
    def enough(self) -> bool:
        return (
            self.t_e + self.t_u >= MIN_CHECKIN_DAYS
            and self.t_e >= MIN_EXPOSED_DAYS
            and self.t_u >= MIN_UNEXPOSED_DAYS
            and self.x_e + self.x_u >= MIN_TEST_EPISODES
        )

    def needs(self) -> dict[str, int]:
        need_e = max(0, MIN_EXPOSED_DAYS - self.t_e)
        need_u = max(0, MIN_UNEXPOSED_DAYS - self.t_u)
        return {
            "checkin_days": max(0, MIN_CHECKIN_DAYS - self.t_e - self.t_u, need_e + need_u),
            "exposed_days": need_e,
            "unexposed_days": need_u,
            "episodes": max(0, MIN_TEST_EPISODES - self.x_e - self.x_u),
        }

    def missing(self, noun: str) -> str:
        need = self.needs()
        x = self.exposure
        days = "paired check-in" if self.lag else "check-in"
        parts = []
        if need["exposed_days"]:
            parts.append(f"{say.plural(need['exposed_days'], 'more check-in day')} when {x.when} ({self.t_e} so far)")
        if need["unexposed_days"]:
            parts.append(
                f"{say.plural(need['unexposed_days'], 'more check-in day')} when {x.when_not} ({self.t_u} so far)"
            )
        extra = need["checkin_days"] - need["exposed_days"] - need["unexposed_days"]
        if extra > 0:
            parts.append(
                f"{say.plural(extra, 'more ' + days)} that record {x.label} ({self.t_e + self.t_u} so far, "
                f"{MIN_CHECKIN_DAYS} needed)"
            )
        if need["episodes"]:
            parts.append(f"at least {MIN_TEST_EPISODES} {noun} on those days ({self.x_e + self.x_u} so far)")
        return "needs " + "; ".join(parts)


def _tests(ep: _Episodes, logged: np.ndarray, exposed: np.ndarray, days: int) -> list[_Test]:
    counts = np.bincount(ep.day, minlength=days).astype(np.int64)
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
            out.append(_Test(x, lag, int(t_e[j]), int(t_u[j]), int(x_e[j]), int(x_u[j]), xk_e[j], xk_u[j]))
    return out


def _suspected(
    ep: _Episodes, tests: dict[tuple[str, int], _Test], comparisons: dict[tuple[str, int], RateComparison], noun: str
) -> tuple[list[dict[str, Any]], int, bool]:
    """Suspected-trigger entries; the number of hypotheses tested; whether every one was rejected.

    A suspected trigger is one pre-specified, one-sided hypothesis (same day), tested whenever there is
    anything to compare (an exposed and an unexposed day, an episode): the exact test is valid at any
    size, so strong evidence from a few weeks is "supported". The minimum-data rules decide only between
    "not supported" (enough data and no support) and "not enough data" (too little to say it is not).
    """
    n = len(ep.triggers)
    tagged: Counter[str] = Counter(t for ts in ep.triggers for t in ts if t not in NOT_A_HYPOTHESIS)
    entries: list[dict[str, Any]] = []
    # exposure code -> (comparison, minimum data met); stress and anxiety share one hypothesis
    family: dict[str, tuple[RateComparison, bool]] = {}
    for trigger, count in sorted(tagged.items(), key=lambda kv: (-kv[1], kv[0])):
        x = EXPOSURE_BY_TRIGGER.get(trigger)
        label = say.words(trigger)
        entry: dict[str, Any] = {
            "trigger": trigger,
            "label": label,
            "tagged_episodes": count,
            "exposure": x.code if x else None,
            "lag": 0 if x else None,
            "status": "not enough data",
            "exposed_days": None,
            "unexposed_days": None,
            "exposed_episodes": None,
            "unexposed_episodes": None,
            "rate_ratio": None,
            "ci_low": None,
            "ci_high": None,
            "p_value": None,
            "p_adjusted": None,
            "missing": None,
        }
        entries.append(entry)
        if x is None:
            entry["missing"] = "no check-in question records it"
            entry["sentence"] = (
                f"You tagged {label} on {say.plural(count, 'episode')}; the daily check-in does not record it, "
                "so the diary cannot check it against your days."
            )
            continue
        if count < MIN_SUSPECTED_TAGS or count < MIN_SUSPECTED_SHARE * n:
            need = max(MIN_SUSPECTED_TAGS, math.ceil(MIN_SUSPECTED_SHARE * n))
            entry["missing"] = f"tagged on {count} of {n} episodes; checked once tagged on {need}"
            entry["sentence"] = (
                f"You tagged {label} on {say.plural(count, 'episode')}; the diary checks a suspected trigger once it is "
                f"tagged on at least {MIN_SUSPECTED_TAGS} episodes and {say.share(MIN_SUSPECTED_SHARE)} of them."
            )
            continue
        test = tests[(x.code, 0)]
        entry["exposed_days"], entry["unexposed_days"] = test.t_e, test.t_u
        if not test.enough:
            entry["missing"] = test.missing(noun)
        if test.t_e == 0 or test.t_u == 0 or test.x_e + test.x_u == 0:  # nothing to compare at all
            entry["sentence"] = f"You suspect {label}; not enough data to check it yet: it {entry['missing']}."
            continue
        c = comparisons.get((x.code, 0)) or compare_rates(test.x_e, test.t_e, test.x_u, test.t_u, CONFIDENCE)
        entry.update(_comparison_fields(c))
        for k in ("exposed_rate", "unexposed_rate"):
            entry.pop(k)
        entry["p_value"] = _p(c.p_greater)
        family[x.code] = (c, test.enough)
    codes = list(family)
    adjusted = dict(zip(codes, holm_adjust(np.array([family[c][0].p_greater for c in codes])).tolist(), strict=True))
    for entry in entries:
        code = entry["exposure"]
        if entry["p_value"] is None or code not in adjusted:
            continue
        x = EXPOSURE_BY_TRIGGER[entry["trigger"]]
        c, enough = family[code]
        entry["p_adjusted"] = _p(adjusted[code])
        clause = _rate_clause(noun, c, _when(x, 0))
        if adjusted[code] <= ALPHA_SUSPECTED:
            entry["status"] = "supported"
            entry["sentence"] = f"You suspect {entry['label']}, and your check-ins support it: {clause}."
        elif enough:
            entry["status"] = "not supported"
            entry["sentence"] = f"You suspect {entry['label']}; your check-ins do not show it so far: {clause}."
        else:
            entry["sentence"] = (
                f"You suspect {entry['label']}; not enough data to check it yet ({clause}): it {entry['missing']}."
            )
    all_rejected = bool(codes) and all(a <= ALPHA_SUSPECTED for a in adjusted.values())
    return entries, len(codes), all_rejected


def _stratum(test: _Test, others: list[_Test], logged: np.ndarray, exposed: np.ndarray, days: int) -> np.ndarray:
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


def _adjust(
    ready: list[_Test],
    p: np.ndarray,
    significant: np.ndarray,
    level: float,
    ep: _Episodes,
    logged: np.ndarray,
    exposed: np.ndarray,
    days: int,
) -> dict[int, dict[str, Any]]:
    """Confirmation of the discoveries against each other (pairwise, backward elimination).

    With two or more discoveries, each is re-tested stratified by each other discovery's exposure status
    (exact conditional test of a common rate ratio across the strata: exposed, unexposed, not logged).
    Its bar is the Benjamini-Hochberg cut-off for the discoveries left (``level * R / m``), or the nominal
    ``level`` for a discovery significant at the Bonferroni level ``level / m`` on its own (a strong link
    is dropped only when allowing for the other leaves nothing of it). A discovery is EXPLAINED by another
    when it fails its bar adjusted for the other while the other passes its own adjusted for it; the
    explained discovery with the worst adjusted p is dropped and the rest re-checked, until none is
    explained. Those kept although they fail the BH cut-off adjusted for another are marked "overlap"
    (weaker once the other is allowed for). This removes links that only mirror another one on
    overlapping days (hot days that are also low-water days), and most of the excess of false links that
    a real trigger's extra episodes cause among the other exposures (the daily counts are overdispersed
    for those tests, which the Poisson test does not model).
    Returns, per tested discovery: the exposure it was adjusted for (its worst), the adjusted rate ratio
    and p, kept, overlap.
    """
    left = [int(i) for i in np.argsort(p, kind="stable") if significant[i]]
    if len(left) < 2:
        return {}
    counts = np.bincount(ep.day, minlength=days).astype(np.int64)
    pairs: dict[tuple[int, int], tuple[float, float]] = {}

    def pair(i: int, g: int) -> tuple[float, float]:
        if (i, g) not in pairs:
            t = ready[i]
            j = EXPOSURES.index(t.exposure)
            n = days - t.lag
            strata = _stratum(t, [ready[g]], logged, exposed, days)
            y = counts[t.lag :]
            e = exposed[j, :n]
            u = logged[j, :n] & ~e
            sums = [np.bincount(strata[m], weights=w, minlength=3) for m in (e, u) for w in (y[m], None)]
            pairs[(i, g)] = stratified_compare(sums[0], sums[1], sums[2], sums[3])
        return pairs[(i, g)]

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

    out: dict[int, dict[str, Any]] = {}
    while len(left) >= 2:
        cutoff = level * len(left) / len(ready)
        candidates = [(e, i) for i in left if (e := explained(i, cutoff)) is not None]
        if not candidates:
            break
        (p_adj, g), i = max(candidates)
        out[i] = {"for": [g], "rate_ratio": pair(i, g)[0], "p": p_adj, "kept": False, "overlap": False}
        left.remove(i)
    if len(left) >= 2:
        cutoff = level * len(left) / len(ready)
        for i in left:
            p_adj, g = max((pair(i, g)[1], g) for g in left if g != i)
            out[i] = {"for": [g], "rate_ratio": pair(i, g)[0], "p": p_adj, "kept": True, "overlap": p_adj > cutoff}
    return out


def _triggers(
    ep: _Episodes, logged: np.ndarray, exposed: np.ndarray, days: int, noun: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    tests = _tests(ep, logged, exposed, days)
    by_key = {(t.exposure.code, t.lag): t for t in tests}
    ready = [t for t in tests if t.enough]
    comparisons = {(t.exposure.code, t.lag): compare_rates(t.x_e, t.t_e, t.x_u, t.t_u, CONFIDENCE) for t in ready}
    suspected, n_suspected, all_rejected = _suspected(ep, by_key, comparisons, noun)
    recycled = n_suspected == 0 or all_rejected
    level = FDR_DISCOVERY + (ALPHA_SUSPECTED if recycled else 0.0)
    p = np.array([comparisons[(t.exposure.code, t.lag)].p_two_sided for t in ready])
    q = bh_qvalues(p)
    significant = q <= level
    adjustments = _adjust(ready, p, significant, level, ep, logged, exposed, days)
    findings = []
    for i, t in enumerate(ready):
        c = comparisons[(t.exposure.code, t.lag)]
        adj = adjustments.get(i)
        kept = bool(significant[i]) and (adj is None or adj["kept"])
        more = c.x_u == 0 or c.rate_ratio > 1
        when = _when(t.exposure, t.lag)
        others = (
            " and ".join(f"{ready[j].exposure.label} ({_lag_name(ready[j].lag)})" for j in adj["for"]) if adj else ""
        )
        if kept and more:
            sentence = say.capital(_rate_clause(noun, c, when)) + "."
        elif kept:
            sentence = (
                f"{say.capital(noun)} were less frequent {when}: {say.num(c.rate_ratio)} times the rate of other days "
                f"({say.ci_text(c.ci_low, c.ci_high)}, {say.plural(c.t_e, 'day')})."
            )
        elif significant[i]:
            sentence = (
                f"{say.capital(_rate_clause(noun, c, when))}, but allowing for {others} the link is not "
                "clear: it may only reflect that."
            )
        else:
            sentence = f"No clear link yet: {_rate_clause(noun, c, when)}, which could be chance."
        if kept and adj and adj["overlap"]:
            sentence += f" Allowing for {others} it is weaker, so it may partly reflect that."
        elif kept and adj:
            sentence += f" It holds after allowing for {others}."
        by_kind = {
            k: {
                "exposed_episodes": int(t.x_e_kind[j]),
                "unexposed_episodes": int(t.x_u_kind[j]),
                "rate_ratio": _f((t.x_e_kind[j] / t.t_e) / (t.x_u_kind[j] / t.t_u)) if t.x_u_kind[j] else None,
            }
            for j, k in enumerate(EPISODE_KINDS)
            if t.x_e_kind[j] + t.x_u_kind[j]
        }
        findings.append(
            {
                "exposure": t.exposure.code,
                "label": t.exposure.label,
                "lag": t.lag,
                **_comparison_fields(c),
                "p_value": _p(c.p_two_sided),
                "q_value": _p(float(q[i])),
                "significant": kept,
                "direction": "more" if more else "fewer",
                "adjusted_for": [{"exposure": ready[j].exposure.code, "lag": ready[j].lag} for j in adj["for"]]
                if adj
                else [],
                "adjusted_rate_ratio": _f(adj["rate_ratio"]) if adj else None,
                "adjusted_p_value": _p(adj["p"]) if adj else None,
                "by_kind": by_kind,
                "sentence": sentence,
            }
        )
    findings.sort(key=lambda f: (f["p_value"], f["lag"], f["exposure"]))
    lacking = []
    for t in tests:
        if t.enough:
            continue
        missing = t.missing(noun)
        lacking.append(
            {
                "exposure": t.exposure.code,
                "label": t.exposure.label,
                "lag": t.lag,
                "exposed_days": t.t_e,
                "unexposed_days": t.t_u,
                "episodes": t.x_e + t.x_u,
                "needs": t.needs(),
                "missing": missing,
                "sentence": f"Not enough data yet for {t.exposure.label} ({_lag_name(t.lag)}): it {missing}.",
            }
        )
    meta = {
        "suspected_alpha": ALPHA_SUSPECTED,
        "suspected_tests": n_suspected,
        "discovery_fdr": level,
        "discovery_tests": len(ready),
        "recycled": recycled,
        "method": (
            "Exact conditional test of two Poisson rates per exposure and lag. Suspected triggers: one-sided, Holm "
            f"at {ALPHA_SUSPECTED}. Discovery: two-sided, Benjamini-Hochberg at {FDR_DISCOVERY}, or at "
            f"{ALPHA_TOTAL} when the suspected triggers tested nothing or were all supported; a discovery that "
            "another one explains (re-tested stratified by it) is not reported as significant."
        ),
    }
    return findings, lacking, suspected, meta


# --- entry point -------------------------------------------------------------------------------------------
def analyse(
    episodes: Sequence[EpisodeRow], checkins: Sequence[CheckinRow], *, today: dt.date, window_days: int = 90
) -> dict[str, Any]:
    """The pattern-detection snapshot for one person (shape in the module docstring)."""
    if window_days < 1:
        raise ValueError("window_days must be at least 1")
    days = window_days
    start = today - dt.timedelta(days=days - 1)
    ep = _episode_arrays(episodes, start, today)
    cols, has_checkin, checkin_earlier = _checkin_columns(checkins, start, days)
    if ep.earlier or checkin_earlier:
        observed_from = 0
    else:
        firsts = [int(ep.day.min())] if ep.day.size else []
        if has_checkin.any():
            firsts.append(int(np.argmax(has_checkin)))
        observed_from = min(firsts) if firsts else days
    present = [k for i, k in enumerate(EPISODE_KINDS) if (ep.kind == i).any()]
    noun = say.subject(present)
    logged, exposed = _exposure_matrix(cols)
    findings, lacking, suspected, meta = _triggers(ep, logged, exposed, days, noun)
    return {
        "version": ANALYSIS_VERSION,
        "disclaimer": say.NOT_A_DIAGNOSIS,
        "window": {
            "start": start.isoformat(),
            "end": today.isoformat(),
            "days": days,
            "observed_days": days - observed_from,
            "episodes": int(ep.day.size),
            "checkin_days": int(has_checkin.sum()),
        },
        "frequency": _frequency(ep, today, days, observed_from),
        "duration": _duration(ep, days, observed_from),
        "timing": _timing(ep),
        "where": _where(ep),
        "triggers": findings,
        "not_enough_data": lacking,
        "suspected": suspected,
        "relief": _relief(ep),
        "multiple_testing": meta,
        "rules": dict(RULES),
    }
