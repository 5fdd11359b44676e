"""What helped: each relief measure the person tried, with its mean rating where enough episodes rated it."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from diary.patterns import sentences as say
from diary.patterns.days import EpisodeDays
from diary.patterns.rules import MIN_RELIEF_N
from diary.patterns.snapshot import Relief, finite
from diary.vocab import RELIEF


def relief(ep: EpisodeDays) -> list[Relief]:
    """Rated measures first (best mean first), then those too rarely rated to compare."""
    tried: Counter[str] = Counter()
    scores: dict[str, list[float]] = {}
    for measures, s in zip(ep.relief, ep.relief_score.tolist(), strict=True):
        for m in measures:
            tried[m] += 1
            if not math.isnan(s):
                scores.setdefault(m, []).append(s)
    order = {m: i for i, m in enumerate(RELIEF)}
    out: list[Relief] = []
    for m in tried:
        sc = np.asarray(scores.get(m, []), dtype=float)
        mean = float(sc.mean()) if sc.size else None
        label = "nothing" if m == "none" else say.words("relief", m)
        if sc.size >= MIN_RELIEF_N and mean is not None:
            what = "Trying nothing" if m == "none" else say.capital(label)
            sentence = f"{what}: rated {say.num(mean)} out of 10 for relief on average ({sc.size} rated episodes)."
        else:
            sentence = f"{say.capital(label)}: {say.plural(int(sc.size), 'rated episode')} so far, too few to say how much it helps ({MIN_RELIEF_N} needed)."
        out.append(
            Relief(measure=m, label=label, tried=tried[m], n=int(sc.size), mean_score=finite(mean), sentence=sentence)
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
