"""The shape of the insights snapshot, and how its numbers are written. Pure Python (no Django).

The snapshot is what the API serves as ``report`` and what ``InsightSnapshot.report`` stores: plain
JSON (str/int/float/bool/None/list/dict; every float finite or None). These TypedDicts are that JSON
exactly: the keys in the order the analysis writes them, every key always present. mypy checks each
section against them, and drf-spectacular documents the API's ``report`` from ``Snapshot``.

Maps keyed by a vocabulary (episode kinds, parts of the day, the frequency periods "7", "28", "90",
body locations) are ``dict[str, ...]``; everything else is a fixed set of keys.
"""

from __future__ import annotations

import math
from typing import Literal, TypedDict

ANALYSIS_VERSION = 2  # 2: ``summary`` added (every version-1 key kept as it was)


# --- numbers -------------------------------------------------------------------------------------------
def finite(x: float | None, digits: int = 4) -> float | None:
    """A JSON-safe float: finite and rounded to ``digits`` significant digits, else None."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    if x == 0:
        return 0.0
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def p_value(x: float) -> float:
    """A p-value kept to 6 significant digits (tiny ones stay tiny, never rounded to 0)."""
    v = finite(x, 6)
    return 1.0 if v is None else v


# --- window and frequency ------------------------------------------------------------------------------
class Window(TypedDict):
    """The ``days`` local days ending ``end``; ``observed_days`` from the person's first entry."""

    start: str  # YYYY-MM-DD
    end: str
    days: int
    observed_days: int
    episodes: int
    checkin_days: int


class Rate(TypedDict):
    n: int
    per_day: float | None  # None when no day was observed
    per_week: float | None


class Period(TypedDict):
    start: str
    end: str
    days: int
    observed_days: int
    all: Rate
    by_kind: dict[str, Rate]  # every episode kind


TrendStatus = Literal["rising", "falling", "stable", "not enough data"]


class Trend(TypedDict):
    """The last 28 days against the 28 before (observed days only)."""

    status: TrendStatus
    recent_days: int
    previous_days: int
    recent_episodes: int
    previous_episodes: int
    rate_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    missing: str | None  # "needs ...": what would make a trend possible
    sentence: str


class Frequency(TypedDict):
    periods: dict[str, Period]  # "7", "28", "90" (those within the window; the window itself when shorter)
    trend: Trend  # all kinds
    trend_by_kind: dict[str, Trend]  # kinds with an episode in the window
    sentence: str


# --- duration, timing, where, relief -------------------------------------------------------------------
DurationStatus = Literal["longer", "shorter", "no clear change", "not enough data"]


class DurationTrend(TypedDict):
    status: DurationStatus
    recent_n: int
    previous_n: int
    recent_median_s: float | None
    previous_median_s: float | None
    p_value: float | None  # Mann-Whitney, two-sided


class Duration(TypedDict):
    """One episode kind's durations (timed episodes; ``ongoing`` have none yet)."""

    n: int
    ongoing: int
    median_s: float | None
    q1_s: float | None
    q3_s: float | None
    p90_s: float | None
    trend: DurationTrend
    sentence: str


class TimingCounts(TypedDict):
    n: int
    shares: dict[str, float | None]  # night, morning, afternoon, evening (00-06, 06-12, 12-18, 18-24)
    counts: dict[str, int]
    mostly_at_night: bool | None  # None: too few episodes to say


class Timing(TimingCounts):
    by_kind: dict[str, TimingCounts]  # kinds with an episode in the window
    sentence: str


class Hotspot(TypedDict):
    body_location: str
    n: int
    share: float | None
    by_kind: dict[str, int]  # episode kind ("other" for an unknown kind) -> episodes


class Where(TypedDict):
    n: int
    hotspots: list[Hotspot]  # most episodes first
    sentence: str


class Relief(TypedDict):
    measure: str
    label: str
    tried: int
    n: int  # rated episodes
    mean_score: float | None  # 0..10
    sentence: str


# --- triggers ------------------------------------------------------------------------------------------
class ExposureLag(TypedDict):
    exposure: str
    lag: int


class KindCounts(TypedDict):
    """Descriptive, not tested."""

    exposed_episodes: int
    unexposed_episodes: int
    rate_ratio: float | None


class Finding(TypedDict):
    """One exposure x lag that was tested (lag 0: same day, 1: next day); rates are per day."""

    exposure: str
    label: str
    lag: int
    exposed_days: int
    unexposed_days: int
    exposed_episodes: int
    unexposed_episodes: int
    exposed_rate: float | None
    unexposed_rate: float | None
    rate_ratio: float | None  # None: unbounded (no episode on unexposed days)
    ci_low: float | None
    ci_high: float | None  # None: unbounded
    p_value: float  # day-level permutation test, two-sided
    q_value: float  # Benjamini-Hochberg over every exposure x lag tested
    significant: bool  # q within the discovery level, and confirmed against the other discoveries
    direction: Literal["more", "fewer"]
    adjusted_for: list[ExposureLag]  # the discovery it was re-tested against ([] when not re-tested)
    adjusted_rate_ratio: float | None  # Mantel-Haenszel
    adjusted_p_value: float | None  # the same test within the strata of the other exposure
    by_kind: dict[str, KindCounts]
    sentence: str


class Needs(TypedDict):
    checkin_days: int
    exposed_days: int
    unexposed_days: int
    episodes: int


class Lacking(TypedDict):
    """An exposure x lag not tested for want of data, and what it needs."""

    exposure: str
    label: str
    lag: int
    exposed_days: int
    unexposed_days: int
    episodes: int
    needs: Needs
    missing: str
    sentence: str


class Suspected(TypedDict):
    """A trigger the person tagged, checked (when a check-in records it) as a one-sided hypothesis."""

    trigger: str
    label: str
    tagged_episodes: int
    exposure: str | None  # None: no check-in question records it
    lag: int | None  # 0, or None with no exposure
    status: Literal["supported", "not supported", "not enough data"]
    exposed_days: int | None
    unexposed_days: int | None
    exposed_episodes: int | None
    unexposed_episodes: int | None
    rate_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None  # one-sided: more episodes when exposed
    p_adjusted: float | None  # Holm across the person's tested suspected triggers
    missing: str | None
    sentence: str


class MultipleTesting(TypedDict):
    suspected_alpha: float
    suspected_tests: int
    discovery_fdr: float  # the discovery level used: 0.025, or 0.05 when the suspected alpha was recycled
    discovery_tests: int
    recycled: bool
    method: str


class Rules(TypedDict):
    """The minimum-data rules (diary/patterns/rules.py)."""

    min_checkin_days: int
    min_exposed_days: int
    min_unexposed_days: int
    min_test_episodes: int
    min_trend_days: int
    min_trend_episodes: int
    min_duration_n: int
    min_duration_trend_n: int
    min_timing_episodes: int
    min_suspected_tags: int
    min_suspected_share: float
    min_relief_n: int


class Headline(TypedDict):
    kind: Literal["trigger", "suspected", "trend", "relief"]
    sentence: str  # the detail's own sentence, numbers and n included


class Summary(TypedDict):
    """What a person reads first (summary.py): at most three headlines, strongest first, then one
    sentence for every comparison with no clear link, then that this is not a diagnosis."""

    headlines: list[Headline]
    no_clear_link: str | None  # None when every tested comparison is a headline (or none was tested)
    sentence: str  # the whole summary as one paragraph


class Snapshot(TypedDict):
    """One person's insights (``version`` 2: version 1 plus ``summary``)."""

    version: int
    disclaimer: str  # "... not a diagnosis ..."
    summary: Summary
    window: Window
    frequency: Frequency
    duration: dict[str, Duration]  # kinds with an episode in the window
    timing: Timing
    where: Where
    triggers: list[Finding]  # every exposure x lag tested, by p-value
    not_enough_data: list[Lacking]
    suspected: list[Suspected]
    relief: list[Relief]
    multiple_testing: MultipleTesting
    rules: Rules
