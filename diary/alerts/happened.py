"""When the episode behind an alert happened, in words, for the reader.

An alert row's ``opened_at`` is when the server raised it (seconds after a live write, days after an
offline backlog syncs); what a person or clinician needs is when the episode itself happened. Per-episode
alerts show the episode's start in the episode's own zone (where the person was), naming the zone unless
the reader lives in it; window alerts have no episode and say their local days in the evidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from diary.alerts.models import Alert
from diary.core import words
from diary.episodes.models import Episode

EpisodeTimes = dict[str, tuple[dt.datetime, str]]


def episode_times(*, user_id: int, uids: Iterable[str | None]) -> EpisodeTimes:
    """uid -> (started_at, tz) of the person's episodes named (deleted ones included: an alert outlives
    the episode it was about)."""
    wanted = {u for u in uids if u}
    if not wanted:
        return {}
    rows = Episode.objects.filter(user_id=user_id, uid__in=wanted).values_list("uid", "started_at", "tz")
    return {uid: (started_at, tz) for uid, started_at, tz in rows}


def happened(alert: Alert, times: EpisodeTimes, *, reader_tz: str | None) -> str:
    """``"Fri 4 Dec 2026, 20:59"`` (``"..., 20:59 Auckland time"`` when the reader's zone is not the
    episode's), or ``""`` for a window alert or an episode no longer stored."""
    when = times.get(alert.episode_uid or "")
    return words.local_time(when[0], when[1], reader_tz=reader_tz) if when else ""


def alert_happened(alert: Alert, *, reader_tz: str | None) -> str:
    """``happened`` for one alert (one query); lists use ``episode_times`` once for all."""
    return happened(alert, episode_times(user_id=alert.user_id, uids=[alert.episode_uid]), reader_tz=reader_tz)
