"""The report as a PDF: WeasyPrint renders the same context, template and charts as the report's page."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string


def report_pdf(context: dict[str, Any]) -> bytes:
    """``report_context(spec)`` on A4 pages (one or two for 90 days): summary, charts, recent episodes."""
    # WeasyPrint loads on first use: importing it costs about 0.8 s and 40 MB, which every web and
    # worker process would otherwise pay at start for a page few requests ask for.
    from weasyprint import HTML

    html = render_to_string("reports/report_pdf.html", context)
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]
