"""The person's visit report: the shared report (``diary.reports.report``) of their own diary, for their
own download (titled for them) and behind a doctor link (worded for the doctor who opens it).

Both are the same context, template and charts as the clinician's page and PDF; only the title, the
audience's phrases and the sections differ (notes only when the person asked for them). Times are in
the person's zone: the report is about their days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from diary.accounts.models import User
from diary.core import words
from diary.reports.models import ReportLink
from diary.reports.report import person_spec, report_context

PAGE_ROWS = 500  # the page lists them all; the PDF the most recent that keep it to 1-2 pages (person_spec)


def own_report(user: User, start: dt.date, end: dt.date, *, notes: bool) -> dict[str, Any]:
    """The person's own report over their local days ``start``..``end`` (for the PDF)."""
    return report_context(person_spec(user, start=start, end=end, notes=notes))


def link_report(
    link: ReportLink,
    start: dt.date,
    end: dt.date,
    *,
    pdf: bool,
    kind: str | None = None,
    since: dt.date | None = None,
) -> dict[str, Any]:
    """The report a doctor link opens: the person's diary worded for the doctor reading it ("the
    patient"), with a link to its PDF and none anywhere else."""
    patient = link.patient
    spec = dataclasses.replace(
        person_spec(patient, start=start, end=end, notes=link.notes, rows=None if pdf else PAGE_ROWS),
        title=patient.display_name or "Diary report",
        audience="clinician",
        subtitle=(
            f"times are the patient's local time ({words.zone_name(patient.current_timezone)}); "
            f"this link works until {words.local_time(link.expires_at, patient.current_timezone)}"
        ),
        kind=kind,
        since=since,
        links={"pdf": "report.pdf"},
    )
    return report_context(spec)
