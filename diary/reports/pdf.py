"""The consultation PDF: WeasyPrint renders the same context and charts as the patient page."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from weasyprint import HTML


def patient_pdf(context: dict[str, Any]) -> bytes:
    """One to two A4 pages: the charts, the alerts and the most recent episodes."""
    html = render_to_string("clinician/report.html", {**context, "episodes": (context.get("episodes") or [])[:25]})
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]
