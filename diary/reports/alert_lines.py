"""The alerts a clinician reads on the patient page and in the PDF: one line per alert, in words, with
when its episode happened.

An episode's time is its local clock where it happened, because that is what a clinician reasons with
(a cramp at 03:00 where the patient sleeps is nocturnal whatever the clinician's clock says) and what
the patient sees in the app; the line names that zone when it is not the reader's (``reader_tz``), so
nobody reads it in their own. A window alert has no episode: its evidence names its local days, and
the line says when it was raised, in the reader's zone.

Alerts that would read the same (same rule, severity, words, status and time) are one line with a
count, so nothing is repeated however the rows came to be.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.db.models import QuerySet

from diary.accounts.models import User
from diary.alerts.catalogue import SEVERITY_RANK
from diary.alerts.happened import episode_times, happened
from diary.alerts.models import Alert
from diary.core import words

SHOWN = 50
_STATUS_ORDER = {"open": 0, "acknowledged": 1, "resolved": 2}


@dataclass(frozen=True)
class AlertLine:
    severity: str  # the code, for styling
    severity_words: str
    title: str
    evidence: str
    status: str  # in words
    when: str  # "episode on Fri 4 Dec 2026, 20:59" or "raised on Fri 4 Dec 2026, 21:00"
    count: int = 1


def alert_lines(
    patient: User, rows: QuerySet[Alert] | None = None, limit: int = SHOWN, *, reader_tz: str | None = None
) -> list[AlertLine]:
    """Open alerts first, most severe first, then the latest; identical lines once (with a count).
    ``rows``: the alerts the reader may see (a clinician's: ``shared_alerts``), else all live ones.
    ``reader_tz``: the reader's zone (default the patient's): a time in another zone names it."""
    if rows is None:
        rows = Alert.objects.filter(user_id=patient.pk, deleted_at__isnull=True)
    alerts = list(rows.order_by("-opened_at")[:limit])
    times = episode_times(user_id=patient.pk, uids=[a.episode_uid for a in alerts])
    tz = reader_tz or patient.timezone
    alerts.sort(key=lambda a: (_STATUS_ORDER.get(a.status, 3), -SEVERITY_RANK.get(a.severity, 0)))
    lines: dict[tuple[str, ...], AlertLine] = {}
    for a in alerts:
        at = happened(a, times, reader_tz=tz)
        when = f"episode on {at}" if at else f"raised on {words.local_time(a.opened_at, tz, reader_tz=tz)}"
        line = AlertLine(
            severity=a.severity, severity_words=words.word("severity", a.severity), title=a.title,
            evidence=a.evidence, status=words.word("status", a.status), when=when,
        )  # fmt: skip
        key = (line.severity, line.title, line.evidence, line.status, line.when)
        seen = lines.get(key)
        lines[key] = line if seen is None else replace(seen, count=seen.count + 1)
    return list(lines.values())
