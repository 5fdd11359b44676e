"""Pattern detection: the pure analysis core's entry point (numpy/scipy only, no Django anywhere in it).

``analyse(episodes, checkins, today=..., window_days=90)`` turns a person's rows (rows.py) into the
snapshot the API serves as-is (its shape: snapshot.Snapshot). ``today`` is the person's local day IN
PROGRESS: it is never analysed. The window is the ``window_days`` COMPLETE local days that end at the
start of ``today`` (the last ends yesterday), so no count, rate, trend, next-day pair, duration, timing,
place or relief rating includes a partial day (a day in progress would count as a day with few or no
episodes: a "falling" trend, next-day links paired with a partial count). The zone rule: ``today`` is
the date in the account's zone; each episode's local day is the date of its start in its own zone
(``EpisodeRow.tz``), and an episode whose local day is ``today`` or later is left out, wherever it
happened. A local day is one day whatever its length (DST days of 23 or 25 hours count once).
One module per job:

- days.py: local-day bucketing of episodes and check-ins, the observed days;
- frequency.py, duration.py, timing.py, where.py, relief.py: one section each;
- exposures.py: the exposure table and the exposure x lag counts every trigger analysis starts from;
- triggers.py: the trigger analyses in order (suspected.py, discovery, confirmation.py), with
  multiplicity.py holding every error rate and how alpha passes between the families;
- summary.py: the headlines a person reads first;
- rules.py: the minimum-data rules; permutation.py: the day-level tests; stats.py: BH, Holm and the exact
  Poisson interval; sentences.py: the wording;
  snapshot.py: the JSON's shape and number rules.

The episode "noun" of the sentences is the kind when the window holds only one kind ("Cramps were ..."),
else "episodes".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from diary.patterns import sentences as say
from diary.patterns.days import checkin_days, episode_days, kinds_present, observed_from
from diary.patterns.duration import duration
from diary.patterns.exposures import EXPOSURES, exposure_matrix
from diary.patterns.frequency import frequency
from diary.patterns.relief import relief
from diary.patterns.rows import CheckinRow, EpisodeRow
from diary.patterns.rules import RULES
from diary.patterns.snapshot import ANALYSIS_VERSION, Snapshot, Window
from diary.patterns.summary import summary
from diary.patterns.timing import timing
from diary.patterns.triggers import triggers
from diary.patterns.where import where

__all__ = ["ANALYSIS_VERSION", "EXPOSURES", "CheckinRow", "EpisodeRow", "Snapshot", "analyse"]


def analyse(
    episodes: Sequence[EpisodeRow], checkins: Sequence[CheckinRow], *, today: dt.date, window_days: int = 90
) -> Snapshot:
    """The pattern-detection snapshot for one person over the ``window_days`` complete local days before
    ``today`` (the day in progress, excluded)."""
    if window_days < 1:
        raise ValueError("window_days must be at least 1")
    days = window_days
    end = today - dt.timedelta(days=1)  # the last complete local day
    start = end - dt.timedelta(days=days - 1)
    ep = episode_days(episodes, start, end)
    checked = checkin_days(checkins, start, days)
    first = observed_from(ep, checked, days)
    noun = say.subject(kinds_present(ep))
    logged, exposed = exposure_matrix(checked.values)
    weekend = np.array([(start + dt.timedelta(days=i)).weekday() >= 5 for i in range(days)], dtype=bool)
    found = triggers(ep, logged, exposed, days, noun, weekend)
    how_often = frequency(ep, end, days, first)
    helped = relief(ep)
    return Snapshot(
        version=ANALYSIS_VERSION,
        disclaimer=say.NOT_A_DIAGNOSIS,
        summary=summary(found.findings, found.suspected, how_often["trend"], helped),
        window=Window(
            start=start.isoformat(),
            end=end.isoformat(),
            days=days,
            observed_days=days - first,
            episodes=int(ep.day.size),
            checkin_days=int(checked.has.sum()),
        ),
        frequency=how_often,
        duration=duration(ep, days, first),
        timing=timing(ep),
        where=where(ep),
        triggers=found.findings,
        not_enough_data=found.lacking,
        suspected=found.suspected,
        relief=helped,
        multiple_testing=found.multiple_testing,
        rules=RULES.copy(),
    )
