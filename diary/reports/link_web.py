"""The doctor link's two pages, for anyone holding the link (no account): the report and its PDF.

Nothing else answers to a link: no other page, no API, no other person. An unknown, expired or revoked
link is the same 404, whatever it was; every answer is kept out of search engines (``X-Robots-Tag``,
``<meta name=robots>``), sends no referrer onward and is never cached; requests are throttled per
address (``report_link``, THROTTLE_REPORT_LINK) before the link is even looked up. Each view that
shows the report writes one ``ReportLinkView`` the person sees in their list.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from diary.accounts.throttles import AuthThrottle
from diary.core.words import KINDS
from diary.reports import links
from diary.reports.models import ReportLink
from diary.reports.pdf import report_pdf
from diary.reports.visit import link_report


class ReportLinkThrottle(AuthThrottle):
    """Per client address, every request to a doctor link (valid or not)."""

    scope = "report_link"


def _private(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


def _refused(request: HttpRequest, status: int, message: str, retry_after: float | None = None) -> HttpResponse:
    body = render_to_string("reports/link_refused.html", {"message": message}, request=request)
    response = _private(HttpResponse(body, status=status))
    if retry_after is not None:
        response["Retry-After"] = str(max(int(retry_after + 0.999), 1))
    return response


def _open(request: HttpRequest, token: str) -> ReportLink | HttpResponse:
    throttle = ReportLinkThrottle()
    if not throttle.allow_request(request, None):
        return _refused(request, 429, "Too many requests from your network. Please try again later.", throttle.wait())
    link = links.link_by_token(token)
    if link is None:
        return _refused(request, 404, "This link does not open a report: it may have expired or been withdrawn.")
    return link


def _period(link: ReportLink) -> tuple[dt.date, dt.date]:
    return links.resolve_period(link.period_start, link.period_end, link.last_days, links.today_of(link.patient))


@require_safe
def link_page(request: HttpRequest, token: str) -> HttpResponse:
    link = _open(request, token)
    if isinstance(link, HttpResponse):
        return link
    kind = request.GET.get("kind") or None
    try:
        since = dt.date.fromisoformat(request.GET["from"]) if request.GET.get("from") else None
    except ValueError:
        since = None
    start, end = _period(link)
    context: dict[str, Any] = link_report(
        link, start, end, pdf=False, kind=kind if kind in KINDS else None, since=since
    )
    links.link_view_record(link=link, what="page")
    return _private(HttpResponse(render_to_string("reports/link_page.html", context, request=request)))


@require_safe
def link_pdf(request: HttpRequest, token: str) -> HttpResponse:
    link = _open(request, token)
    if isinstance(link, HttpResponse):
        return link
    start, end = _period(link)
    pdf = report_pdf(link_report(link, start, end, pdf=True))
    links.link_view_record(link=link, what="pdf")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="diary-report-{start.isoformat()}-to-{end.isoformat()}.pdf"'
    return _private(response)
