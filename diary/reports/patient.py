"""What the clinician sees of one patient: the report (``diary.reports.report``) within a share."""

from __future__ import annotations

import datetime as dt

from diary.accounts.models import User
from diary.alerts.shared import shared_alerts
from diary.reports.report import ReportSpec
from diary.sharing.models import Share


def share_spec(
    share: Share, reader: User, *, kind: str | None = None, since: dt.date | None = None, rows: int = 500
) -> ReportSpec:
    """The report of a share for the clinician ``reader``: its scopes, its window, their zone."""
    window = ""
    if share.window_start or share.window_end:
        window = f"the share covers {share.window_start or '…'} to {share.window_end or '…'}"
    return ReportSpec(
        patient=share.patient, title=share.patient.display_name or "Patient", audience="clinician",
        reader_tz=reader.current_timezone, start=share.window_start, end=share.window_end,
        sections=frozenset(share.scopes), alerts=shared_alerts(share), cache_key=f"share:{share.pk}",
        kind=kind, since=since, rows=rows, subtitle=window,
        links={"pdf": "report.pdf", "back": "/clinician/"},
    )  # fmt: skip
