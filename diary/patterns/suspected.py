"""Suspected triggers: what the person tagged, checked against their check-ins as pre-specified one-sided
hypotheses ("more episodes when exposed", same day), Holm across them (multiplicity.py).

A suspected trigger is tested whenever there is anything to compare (an exposed and an unexposed day, an
episode): the day-level permutation test is valid at any size, so strong evidence from a few weeks is
"supported". The
minimum-data rules decide only between "not supported" (enough data and no support) and "not enough
data" (too little to say it is not).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from diary.patterns import sentences as say
from diary.patterns.days import EpisodeDays
from diary.patterns.exposures import EXPOSURE_BY_TRIGGER, NOT_A_HYPOTHESIS, ExposureTest, when
from diary.patterns.multiplicity import ALPHA_SUSPECTED, suspected_adjusted
from diary.patterns.rules import MIN_SUSPECTED_SHARE, MIN_SUSPECTED_TAGS
from diary.patterns.snapshot import Suspected, finite, p_value
from diary.patterns.stats import RateComparison

Key = tuple[str, int]  # (exposure code, lag)


def suspected(
    ep: EpisodeDays, tests: dict[Key, ExposureTest], comparisons: dict[Key, RateComparison], noun: str
) -> tuple[list[Suspected], int, bool]:
    """Suspected-trigger entries (most tagged first); the number of hypotheses tested; whether every one
    was rejected (then multiplicity.discovery_level recycles the family's alpha)."""
    n = len(ep.triggers)
    tagged: Counter[str] = Counter(t for ts in ep.triggers for t in ts if t not in NOT_A_HYPOTHESIS)
    entries: list[Suspected] = []
    # exposure code -> (comparison, minimum data met); stress and anxiety share one hypothesis
    family: dict[str, tuple[RateComparison, bool]] = {}
    for trigger, count in sorted(tagged.items(), key=lambda kv: (-kv[1], kv[0])):
        x = EXPOSURE_BY_TRIGGER.get(trigger)
        label = say.words("trigger", trigger)
        entry = Suspected(
            trigger=trigger,
            label=label,
            tagged_episodes=count,
            exposure=x.code if x else None,
            lag=0 if x else None,
            status="not enough data",
            exposed_days=None,
            unexposed_days=None,
            exposed_episodes=None,
            unexposed_episodes=None,
            rate_ratio=None,
            ci_low=None,
            ci_high=None,
            p_value=None,
            p_adjusted=None,
            missing=None,
            sentence="",
        )
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
            entry["sentence"] = f"You suspect {label}; not enough data to check it yet: {entry['missing']}."
            continue
        c = comparisons[(x.code, 0)]
        entry["exposed_days"], entry["unexposed_days"] = c.t_e, c.t_u
        entry["exposed_episodes"], entry["unexposed_episodes"] = c.x_e, c.x_u
        entry["rate_ratio"], entry["ci_low"], entry["ci_high"] = (
            finite(c.rate_ratio),
            finite(c.ci_low),
            finite(c.ci_high),
        )
        entry["p_value"] = p_value(c.p_greater)
        family[x.code] = (c, test.enough)
    codes = list(family)
    adjusted = dict(
        zip(codes, suspected_adjusted(np.array([family[c][0].p_greater for c in codes])).tolist(), strict=True)
    )
    for entry in entries:
        code = entry["exposure"]
        if entry["p_value"] is None or code is None or code not in adjusted:
            continue
        x = EXPOSURE_BY_TRIGGER[entry["trigger"]]
        c, enough = family[code]
        entry["p_adjusted"] = p_value(adjusted[code])
        clause = say.rate_clause(noun, c, when(x, 0))
        if adjusted[code] <= ALPHA_SUSPECTED:
            entry["status"] = "supported"
            entry["sentence"] = f"You suspect {entry['label']}, and your check-ins support it: {clause}."
        elif enough:
            entry["status"] = "not supported"
            entry["sentence"] = f"You suspect {entry['label']}; your check-ins do not show it so far: {clause}."
        else:
            entry["sentence"] = (
                f"You suspect {entry['label']}; not enough data to check it yet ({clause}): {entry['missing']}."
            )
    all_rejected = bool(codes) and all(a <= ALPHA_SUSPECTED for a in adjusted.values())
    return entries, len(codes), all_rejected
