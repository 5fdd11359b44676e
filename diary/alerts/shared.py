"""The alerts a clinician may see within one share: the ``alerts`` scope and the share's date window.

An alert belongs to a local day. A per-episode alert's day is its episode's local day (in the
episode's own zone), so an episode logged after the window ends never reaches the clinician through
the alert it raised. A window rule (``frequent``, ``persistent``, ``fluid_changes``... with no
episode) belongs to the local day it was raised on, in the person's zone: the day whose last 7 days
(or check-ins, for ``fluid_changes``) it judged. An alert whose episode is gone (deleted, purged)
falls back to the day it was raised.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from diary.alerts.happened import episode_times
from diary.alerts.models import Alert
from diary.core.fields import zone
from diary.sharing.models import Share
from diary.sharing.scoped import in_window


def shared_alerts(share: Share) -> QuerySet[Alert]:
    """Live alerts of the share's patient whose local day lies in its window (none without ``alerts``)."""
    rows = Alert.objects.filter(user_id=share.patient_id, deleted_at__isnull=True)
    if "alerts" not in share.scopes:
        return rows.none()
    if share.window_start is None and share.window_end is None:
        return rows
    alerts = list(rows.values_list("pk", "episode_uid", "opened_at"))
    # Deleted episodes too: the alert still names the episode's day, which is what it is about.
    times = episode_times(user_id=share.patient_id, uids=[uid for _, uid, _ in alerts])
    person_zone = zone(share.patient.current_timezone)

    def day(uid: str | None, opened_at: dt.datetime) -> dt.date:
        if uid and uid in times:
            started_at, tz = times[uid]
            return started_at.astimezone(zone(tz)).date()
        return opened_at.astimezone(person_zone).date()

    return rows.filter(pk__in=[pk for pk, uid, opened_at in alerts if in_window(share, day(uid, opened_at))])
