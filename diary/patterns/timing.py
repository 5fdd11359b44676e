"""When in the day episodes start (local time): shares of night, morning, afternoon and evening, and
whether they are mostly at night, overall and per kind."""

from __future__ import annotations

import numpy as np

from diary.patterns import sentences as say
from diary.patterns.days import EpisodeDays, kinds_present
from diary.patterns.rules import MIN_TIMING_EPISODES
from diary.patterns.snapshot import Timing, TimingCounts, finite
from diary.vocab import EPISODE_KINDS

PARTS_OF_DAY = ("night", "morning", "afternoon", "evening")  # 00-06, 06-12, 12-18, 18-24 local time
PART_HOURS = {"night": "00-06", "morning": "06-12", "afternoon": "12-18", "evening": "18-24"}


def timing_counts(hours: np.ndarray) -> TimingCounts:
    counts = np.bincount(np.clip(hours // 6, 0, 3), minlength=4)
    n = int(counts.sum())
    return TimingCounts(
        n=n,
        shares={p: (finite(counts[i] / n) if n else None) for i, p in enumerate(PARTS_OF_DAY)},
        counts={p: int(counts[i]) for i, p in enumerate(PARTS_OF_DAY)},
        mostly_at_night=None if n < MIN_TIMING_EPISODES else bool(counts[0] / n > 0.5),
    )


def timing(ep: EpisodeDays) -> Timing:
    overall = timing_counts(ep.hour)
    by_kind = {k: timing_counts(ep.hour[ep.kind == EPISODE_KINDS.index(k)]) for k in kinds_present(ep)}
    return Timing(**overall, by_kind=by_kind, sentence=_sentence(overall, by_kind))


def _sentence(overall: TimingCounts, by_kind: dict[str, TimingCounts]) -> str:
    n = overall["n"]
    if n == 0:
        return "No episodes to time yet."
    parts = ", ".join(
        f"{say.share(overall['counts'][p] / n)} {'at night' if p == 'night' else 'in the ' + p} ({PART_HOURS[p]})"
        for p in PARTS_OF_DAY
    )
    sentence = f"Of {say.plural(n, 'episode')}, {parts}."
    night_kinds = [say.KIND_PLURAL[k] for k, v in by_kind.items() if v["mostly_at_night"]]
    if overall["mostly_at_night"]:
        sentence += f" Most of your {say.subject(list(by_kind))} start at night."
    elif night_kinds:
        sentence += f" Most of your {' and '.join(night_kinds)} start at night."
    elif n < MIN_TIMING_EPISODES:
        sentence += f" Too few to say whether they are mostly at night ({MIN_TIMING_EPISODES} needed)."
    return sentence
