"""Fixed, seeded diaries whose insights snapshots are kept as golden JSON (tests/diary/fixtures/).

The snapshot is what the API serves and what InsightSnapshot stores, so a refactoring of the analysis must
leave it byte for byte the same. Each case here is chosen to walk a different set of branches: an empty
diary, a sparse one (not enough data everywhere, ongoing episodes, zones, custom and "unknown" tags),
planted same-day and next-day effects, a protective exposure, two overlapping exposures (one explained
by the other), a null person, rising and falling trends, short windows, relief ratings.

Regenerate only for an intended change of the snapshot (and say so in the commit):

    .venv/bin/python -m tests.diary.golden_diaries
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from diary.patterns.analysis import CheckinRow, EpisodeRow, Snapshot, analyse
from diary.vocab import EPISODE_KINDS, RELIEF

TODAY = dt.date(2024, 4, 9)
GOLDEN = Path(__file__).resolve().parent / "fixtures" / "insights_golden.json"
NORMAL: dict[str, Any] = {"water_ml": 2000, "caffeine_servings": 1, "exercise_intensity": "light", "hot_weather": False,
          "sleep_h": 7.5, "stress": 3, "sitting_h": 5.0}  # fmt: skip
EXPOSED: dict[str, dict[str, Any]] = {"low_water": {"water_ml": 1000}, "caffeine": {"caffeine_servings": 4},
           "vigorous_exercise": {"exercise_intensity": "vigorous"}, "heat": {"hot_weather": True},
           "short_sleep": {"sleep_h": 5.0}, "high_stress": {"stress": 8}, "long_sitting": {"sitting_h": 9.5},
           "medication": {"medications": ("statin",)}}  # fmt: skip


@dataclass(frozen=True)
class Case:
    """A synthetic person: ``days`` of diary ending ``TODAY`` (check-ins on ``checkin_share`` of days, each
    field logged with ``logged``), episodes Poisson with ``base`` per day times ``effects[(exposure, lag)]``,
    ``trend`` multiplying the rate linearly from the first day to the last."""

    seed: int
    days: int
    window_days: int = 90
    base: float = 0.5
    effects: dict[tuple[str, int], float] = field(default_factory=dict)
    shares: dict[str, float] = field(default_factory=dict)
    follows: dict[str, tuple[str, float]] = field(default_factory=dict)  # exposure -> (other, P(on | other on))
    tag: dict[str, float] = field(default_factory=dict)  # trigger -> share of episodes tagged with it
    kinds: tuple[float, float, float] = (0.0, 1.0, 0.0)  # spasm, cramp, twitch
    night: float = 0.25  # share of episodes between 00 and 06
    night_by_kind: dict[str, float] = field(default_factory=dict)
    quiet: int = 0  # no episodes on the first ``quiet`` days
    zones: tuple[str, ...] = ("UTC",)
    checkin_share: float = 1.0
    logged: float = 1.0
    trend: float = 1.0
    longer: float = 1.0  # durations in the last 28 days times this
    ongoing: float = 0.0
    relief: float = 0.0  # share of episodes with a relief measure (and a score on most)
    medication: float = 0.0


def diary(case: Case) -> tuple[list[EpisodeRow], list[CheckinRow]]:
    rng = np.random.default_rng(case.seed)
    codes = list(EXPOSED)
    present = {c: rng.random(case.days) < case.shares.get(c, 0.25) for c in codes}
    present["medication"] = rng.random(case.days) < case.medication
    for code, (other, p) in case.follows.items():
        present[code] = np.where(present[other], rng.random(case.days) < p, present[code])
    has_checkin = rng.random(case.days) < case.checkin_share
    rate = np.full(case.days, case.base) * np.linspace(1.0, case.trend, case.days)
    for (code, lag), rr in case.effects.items():
        hit = np.zeros(case.days, dtype=bool)
        hit[lag:] = present[code][: case.days - lag]
        rate = np.where(hit, rate * rr, rate)
    rate[: case.quiet] = 0.0
    counts = rng.poisson(rate)
    first = TODAY - dt.timedelta(days=case.days - 1)
    checkins = []
    for i in range(case.days):
        if not has_checkin[i]:
            continue
        values: dict[str, Any] = dict(NORMAL)
        for c in codes:
            if present[c][i]:
                values |= EXPOSED[c]
        for name in list(values):
            if rng.random() >= case.logged:
                values[name] = None
        checkins.append(CheckinRow(day=first + dt.timedelta(days=i), **values))
    episodes = []
    for i in range(case.days):
        for _ in range(int(counts[i])):
            zone = case.zones[int(rng.integers(len(case.zones)))]
            kind = EPISODE_KINDS[int(rng.choice(3, p=np.array(case.kinds) / sum(case.kinds)))]
            night = case.night_by_kind.get(kind, case.night)
            hour = int(rng.integers(0, 6)) if rng.random() < night else int(rng.integers(6, 24))
            local = dt.datetime.combine(first + dt.timedelta(days=i), dt.time(hour, int(rng.integers(60))))
            duration: int | None = int(rng.lognormal(4.5, 1.3) * (case.longer if i >= case.days - 28 else 1.0))
            if rng.random() < case.ongoing:
                duration = None
            tags = tuple(t for t, s in case.tag.items() if rng.random() < s)
            relief: tuple[str, ...] = ()
            score = None
            if rng.random() < case.relief:
                relief = (RELIEF[int(rng.integers(len(RELIEF)))],)
                score = int(rng.integers(0, 11)) if rng.random() < 0.8 else None
            episodes.append(
                EpisodeRow(
                    started_at=local.replace(tzinfo=ZoneInfo(zone if "/A_" not in zone else "UTC")).astimezone(dt.UTC),
                    tz=zone,
                    kind=kind,
                    body_location=("calf", "foot", "hamstring", "eyelid", "custom_spot")[int(rng.integers(5))],
                    duration_s=duration,
                    pain=int(rng.integers(11)),
                    triggers=tags,
                    relief=relief,
                    relief_score=score,
                )
            )
    return episodes, checkins


CASES: dict[str, Case] = {
    "empty": Case(seed=0, days=0),
    "sparse": Case(
        seed=1, days=12, base=0.4, checkin_share=0.5, logged=0.7, kinds=(1, 1, 1), ongoing=0.3,
        zones=("America/Los_Angeles", "Asia/Tokyo", "Not/A_Zone"),
        tag={"dehydration": 0.5, "unknown": 0.5, "custom:late shifts": 0.4, "cold": 0.3}, relief=0.6,
    ),
    "planted": Case(
        seed=2, days=150, base=1.2, effects={("low_water", 0): 2.5, ("short_sleep", 1): 2.0},
        follows={"heat": ("low_water", 0.8)}, kinds=(1, 3, 1), zones=("Europe/Berlin", "America/Los_Angeles"),
        tag={"dehydration": 0.35, "heat": 0.3, "stress": 0.15, "anxiety": 0.1, "custom:new shoes": 0.12,
             "fatigue": 0.2, "cold": 0.02},
        relief=0.7, ongoing=0.05, longer=2.5, night=0.6, medication=0.3, logged=0.97,
    ),
    "protective": Case(
        seed=3, days=90, base=1.2, effects={("vigorous_exercise", 0): 0.2, ("caffeine", 0): 1.8},
        shares={"vigorous_exercise": 0.4}, trend=0.3, kinds=(0, 0, 1), night=0.7,
        tag={"strenuous_exercise": 0.2, "caffeine": 0.3}, relief=0.9,
    ),
    "rising": Case(
        seed=4, days=60, window_days=60, base=0.4, trend=4.0, kinds=(1, 0, 0), longer=0.3,
        effects={("high_stress", 0): 3.0}, tag={"stress": 0.5, "caffeine": 0.15}, relief=0.5,
    ),
    "falling": Case(seed=10, days=100, base=8.0, trend=0.05, kinds=(1, 1, 0), longer=0.5),
    "fresh_start": Case(seed=11, days=56, window_days=56, base=0.8, quiet=28, tag={"heat": 0.5}),
    "null": Case(
        seed=5, days=200, window_days=120, base=0.8, kinds=(1, 2, 0), checkin_share=0.8, logged=0.9,
        tag={"dehydration": 0.2, "heat": 0.2, "poor_sleep": 0.2, "prolonged_sitting": 0.2, "medication": 0.2},
        relief=0.4, medication=0.2, night_by_kind={"spasm": 0.9, "cramp": 0.05},
    ),
    "overlap": Case(
        seed=6, days=200, window_days=180, base=0.8, effects={("heat", 0): 3.0, ("long_sitting", 0): 2.5},
        follows={"low_water": ("heat", 0.9)}, shares={"heat": 0.3}, tag={"heat": 0.4, "dehydration": 0.4},
    ),
    "weaker": Case(
        seed=45, days=120, window_days=120, base=0.8, effects={("heat", 0): 2.2, ("long_sitting", 0): 2.2},
        follows={"low_water": ("heat", 0.6)}, shares={"heat": 0.3}, tag={"heat": 0.4, "dehydration": 0.4},
    ),
    "only_exposed": Case(
        seed=7, days=40, window_days=30, base=0.0, effects={("heat", 0): 1.0}, kinds=(0, 1, 1),
        tag={"heat": 0.9},
    ),
    "no_checkins": Case(seed=12, days=30, base=0.8, checkin_share=0.0, tag={"dehydration": 0.5}),
    "week": Case(seed=8, days=20, window_days=7, base=2.0, kinds=(1, 1, 1), relief=1.0, night=0.9),
    "one_day": Case(seed=9, days=3, window_days=1, base=3.0),
}  # fmt: skip


def only_exposed(case: Case) -> tuple[list[EpisodeRow], list[CheckinRow]]:
    """Episodes only on hot days (none on the others): an unbounded rate ratio."""
    episodes, checkins = diary(case)
    hot = {c.day for c in checkins if c.hot_weather}
    tz = ZoneInfo("UTC")
    extra = [
        EpisodeRow(started_at=dt.datetime.combine(d, dt.time(14), tzinfo=tz), tz="UTC", kind="cramp",
                   body_location="calf", duration_s=90, pain=5, triggers=("heat",))
        for d in sorted(hot) for _ in range(2)
    ]  # fmt: skip
    return episodes + extra, checkins


def odd_rows(case: Case) -> tuple[list[EpisodeRow], list[CheckinRow]]:
    """Rows the window must leave out or read carefully: a naive time, episodes and a check-in after
    today, a twitch still going on (no duration at all for its kind)."""
    episodes, checkins = diary(case)
    utc = ZoneInfo("UTC")
    at = dt.datetime.combine(TODAY, dt.time(9))
    row = EpisodeRow(started_at=at, tz="UTC", kind="cramp", body_location="calf", duration_s=30, pain=2)
    extra = [
        row,
        replace(row, started_at=at.replace(tzinfo=utc) + dt.timedelta(days=1)),
        replace(row, started_at=at.replace(tzinfo=utc) + dt.timedelta(days=9)),
        replace(row, started_at=at.replace(tzinfo=utc) - dt.timedelta(hours=1), kind="twitch", duration_s=None),
        replace(row, started_at=at.replace(tzinfo=utc), kind="twitch", duration_s=-5, relief_score=11),
    ]
    return episodes + extra, [*checkins, CheckinRow(day=TODAY + dt.timedelta(days=1), water_ml=500)]


BUILD = {"only_exposed": only_exposed, "sparse": odd_rows}


def report(name: str) -> Snapshot:
    case = CASES[name]
    episodes, checkins = BUILD.get(name, diary)(case)
    return analyse(episodes, checkins, today=TODAY, window_days=case.window_days)


def golden_text(name: str) -> str:
    """The snapshot as the API would send it, keys in the order the analysis builds them."""
    return json.dumps(report(name), allow_nan=False, ensure_ascii=False)


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    cases = {name: json.loads(golden_text(name)) for name in CASES}
    GOLDEN.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size:,} bytes, {len(cases)} cases)")
