"""The person's visit report (a PDF for any doctor) and their doctor links: make, list, revoke."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from diary.accounts.request_user import request_user
from diary.core.api import IsDiaryOwner, json_object
from diary.core.errors import DomainValidationError
from diary.core.openapi import ERRORS
from diary.reports import links
from diary.reports.files import PDF, FileApi, download, file_responses
from diary.reports.models import ReportLink
from diary.reports.pdf import report_pdf
from diary.reports.visit import own_report


def link_to_rest(link: ReportLink) -> dict[str, Any]:
    views = getattr(link, "recent_views", None)
    if views is None:
        views = list(link.views.order_by("-at", "-pk")[: links.VIEWS_LISTED])
    return {
        "id": link.uid,
        "from": link.period_start.isoformat() if link.period_start else None,
        "to": link.period_end.isoformat() if link.period_end else None,
        "last_days": link.last_days,
        "notes": link.notes,
        "created_at": link.created_at.isoformat(),
        "expires_at": link.expires_at.isoformat(),
        "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None,
        "view_count": len(views),
        "views": [{"at": v.at.isoformat(), "what": v.what} for v in views[: links.VIEWS_LISTED]],
    }


class ReportLinkOut(serializers.Serializer):
    id = serializers.CharField(help_text="names the link in your list (it is not the link's secret)")
    from_ = serializers.DateField(allow_null=True, help_text="first day of a fixed period")
    to = serializers.DateField(allow_null=True, help_text="last day of a fixed period")
    last_days = serializers.IntegerField(allow_null=True, help_text="or: the last N days up to the day it is opened")
    notes = serializers.BooleanField(help_text="whether your free-text notes are in the report")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    view_count = serializers.IntegerField()
    views = inline_serializer("ReportLinkViewOut", {
        "at": serializers.DateTimeField(),
        "what": serializers.ChoiceField(choices=["page", "pdf"]),
    }, many=True, help_text=f"every time the link was opened, newest first (the last {links.VIEWS_LISTED})")  # fmt: skip

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # a Python keyword
        return fields


class ReportLinkCreated(ReportLinkOut):
    url = serializers.URLField(help_text="shown once: the only copy (we keep its hash). Give it to your doctor.")


ReportLinkIn = inline_serializer(
    "ReportLinkIn",
    {
        "days": serializers.IntegerField(
            required=False, min_value=1, max_value=links.MAX_DAYS, help_text=f"how long it works (default {links.DEFAULT_DAYS})"
        ),
        "from": serializers.DateField(required=False, help_text="first day of a fixed period (your zone)"),
        "to": serializers.DateField(required=False, help_text="last day of a fixed period"),
        "last_days": serializers.IntegerField(
            required=False, min_value=1, max_value=links.MAX_PERIOD_DAYS,
            help_text=f"or the last N days up to the day it is opened (default {links.DEFAULT_PERIOD_DAYS})",
        ),
        "notes": serializers.BooleanField(required=False, help_text="include your free-text notes (default false)"),
    },
)  # fmt: skip

_PERIOD = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="first local day (default: 89 days before to)"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="last local day (default: today)"),
    OpenApiParameter("notes", OpenApiTypes.BOOL, description="include your free-text notes (default: no)"),
]


class MyReportPdfApi(FileApi):
    """The same report as your clinician's PDF (summary, charts, most recent episodes), for any doctor,
    over your local days ``from``..``to`` (default: the last 90 days)."""

    permission_classes = [IsDiaryOwner]
    media_type = PDF

    @extend_schema(
        operation_id="v1_me_report_pdf", parameters=_PERIOD,
        responses=file_responses(PDF, OpenApiTypes.BINARY, "one or two A4 pages for 90 days"),
        summary="Your visit report as a PDF",
    )  # fmt: skip
    def get(self, request: Request) -> HttpResponse:
        user = request_user(request)
        unknown = set(request.query_params) - {"from", "to", "notes", "format"}
        errors: dict[str, list[str]] = {key: ["unknown parameter"] for key in sorted(unknown)}
        start, end, last = links.period_from({k: request.query_params.get(k) for k in ("from", "to")}, errors)
        notes = links.flag(request.query_params.get("notes"), "notes", errors)
        if errors:
            raise DomainValidationError(errors)
        first, last_day = links.resolve_period(start, end, last, links.today_of(user))
        pdf = report_pdf(own_report(user, first, last_day, notes=notes))
        return download(pdf, PDF, f"diary-report-{first.isoformat()}-to-{last_day.isoformat()}.pdf")


class ReportLinkCollectionApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(operation_id="v1_me_report_links_list", responses={200: ReportLinkOut(many=True), **ERRORS},
                   summary="Your doctor links, newest first, with every view")  # fmt: skip
    def get(self, request: Request) -> Response:
        return Response([link_to_rest(x) for x in links.links_of(patient=request_user(request))])

    @extend_schema(
        operation_id="v1_me_report_links_create", request=ReportLinkIn, responses={201: ReportLinkCreated, **ERRORS},
        summary="Make a doctor link to your report (read-only, at most 30 days)",
        description="The answer's `url` is shown once: only its hash is kept. The link opens the report's page "
        "and PDF and nothing else; revoke it with DELETE.",
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        link, token = links.link_create(patient=request_user(request), data=json_object(request))
        return Response({**link_to_rest(link), "url": links.link_url(token)}, status=201)


class ReportLinkDetailApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(operation_id="v1_me_report_links_revoke", responses={200: ReportLinkOut, **ERRORS},
                   summary="Revoke a doctor link (refused from the next request on)")  # fmt: skip
    def delete(self, request: Request, uid: str) -> Response:
        return Response(link_to_rest(links.link_revoke(patient=request_user(request), uid=uid)))
