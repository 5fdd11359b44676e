"""The report as a PDF: WeasyPrint renders the same context, template and charts as the report's page.

What keeps five years of data under a second (README, Performance; ``bench/clinician.py``): the charts
are a few dozen hand-written shapes each (charts.py) and enter the PDF as SVG images rather than inline
markup (WeasyPrint then neither tokenizes nor cascades CSS over their elements); the episode table has
fixed column widths (no min/max-content passes over every cell); one font family in two faces; fonts
are subset with HarfBuzz (``libharfbuzz-subset0``, in the Docker image) and the font configuration is
built once per thread, not per PDF.
"""

from __future__ import annotations

import base64
import threading
from typing import Any

from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_local = threading.local()


MAX_PAGES = 2  # what a doctor reads in a visit; the whole diary is in the exports


def report_pdf(context: dict[str, Any]) -> bytes:
    """``report_context(spec)`` on at most ``MAX_PAGES`` A4 pages: summary, charts, recent episodes.

    The table lists the most recent episodes the spec asked for (PDF_ROWS); if a long summary or
    wrapped rows push it past the last page, the oldest listed rows are dropped and the report laid out
    again (the heading keeps saying "N of M"), so the bound holds whatever the diary holds."""
    # WeasyPrint loads on first use: importing it costs about 0.8 s and 40 MB, which every web and
    # worker process would otherwise pay at start for a page few requests ask for.
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    charts = {k: v if k == "unit" else _image(v) for k, v in (context.get("charts") or {}).items()}
    fonts = getattr(_local, "fonts", None)
    if fonts is None:
        fonts = _local.fonts = FontConfiguration()
    episodes = context.get("episodes")
    while True:
        html = render_to_string("reports/report_pdf.html", {**context, "charts": charts, "episodes": episodes})
        document = HTML(string=html).render(font_config=fonts)
        if len(document.pages) <= MAX_PAGES or not episodes:
            return document.write_pdf()  # type: ignore[no-any-return]
        # Rows per page of the table (about 40 unwrapped) bound what one more layout can save.
        episodes = episodes[: max(0, len(episodes) - max(3, len(episodes) // 4))]


def _image(svg: str) -> SafeString:
    """An ``<svg>`` string as an ``<img>`` of it (its text stays vector text in the PDF)."""
    label = svg.split('aria-label="', 1)[1].split('"', 1)[0] if 'aria-label="' in svg else ""
    data = base64.b64encode(svg.encode()).decode()
    # The label is already escaped inside the SVG; escape() keeps it escaped once more in the attribute.
    return mark_safe(f'<img alt="{escape(label)}" src="data:image/svg+xml;base64,{data}">')  # noqa: S308  # nosec B308 B703
