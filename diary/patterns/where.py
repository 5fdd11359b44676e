"""Where episodes happen: body locations by number of episodes, with the kinds at each."""

from __future__ import annotations

from collections import Counter

from diary.patterns import sentences as say
from diary.patterns.days import EpisodeDays
from diary.patterns.snapshot import Hotspot, Where, finite
from diary.vocab import EPISODE_KINDS


def where(ep: EpisodeDays) -> Where:
    n = len(ep.location)
    by_loc: dict[str, Counter[str]] = {}
    for loc, k in zip(ep.location, ep.kind.tolist(), strict=True):
        by_loc.setdefault(loc, Counter())[EPISODE_KINDS[k] if k >= 0 else "other"] += 1
    hotspots = sorted(
        (
            Hotspot(body_location=loc, n=sum(c.values()), share=finite(sum(c.values()) / n), by_kind=dict(c))
            for loc, c in by_loc.items()
        ),
        key=lambda h: (-h["n"], h["body_location"]),
    )
    if not hotspots:
        sentence = "No episodes logged yet."
    else:
        top = [f"the {say.words('body_location', h['body_location'])} ({say.share(h['n'] / n)})" for h in hotspots[:3]]
        rest = f", then {' and '.join(top[1:])}" if len(top) > 1 else ""
        sentence = f"Most often in {top[0]}{rest}, of {say.plural(n, 'episode')}."
    return Where(n=n, hotspots=hotspots, sentence=sentence)
