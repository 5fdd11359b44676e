"""What the analysis reads: a person's episodes and check-ins as plain rows (selectors.analysis_rows
builds them from the database; tests and benchmarks build them by hand). Pure Python (no Django)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


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
