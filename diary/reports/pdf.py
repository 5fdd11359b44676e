"""The consultation PDF: WeasyPrint renders the same context and charts as the patient page."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string


def patient_pdf(context: dict[str, Any]) -> bytes:
    """One to two A4 pages: the charts, the alerts and the most recent episodes."""
    # WeasyPrint loads on first use: importing it costs about 0.8 s and 40 MB, which every web and
    # worker process would otherwise pay at start for a page few requests ask for.
    from weasyprint import HTML

    html = render_to_string("clinician/report.html", {**context, "episodes": (context.get("episodes") or [])[:25]})
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]
