"""The clinician's side of a share: the triage list and one patient's diary within the share's scopes.

Every read of a patient's data records one access-log entry the person can see. Anything the share
does not allow (no share, revoked, expired, another scope) is a 404, never a hint that it exists.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Q
from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from diary.alerts.models import Alert
from diary.checkins.render import checkin_to_rest
from diary.core.openapi import ERRORS
from diary.episodes.models import Episode
from diary.episodes.render import episode_to_rest
from diary.patterns.selectors import insights_latest
from diary.sharing.api import IsClinician
from diary.sharing.models import Share
from diary.sharing.scoped import access_record, redact, scoped_checkins, scoped_episodes
from diary.sharing.selectors import share_for_clinician, shares_active


def clinician_share(request: Request, pid: str, scope: str, what: str) -> Share:
    """The clinician's active share ``pid`` with ``scope``, logged as one read of ``what``; else 404."""
    share = share_for_clinician(clinician=request.user, uid=pid, scope=scope)  # type: ignore[arg-type]
    if share is None:
        raise Http404
    access_record(share=share, what=what)
    return share


class PatientListApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(
        responses={200: serializers.ListSerializer(child=serializers.DictField()), **ERRORS},
        summary="Your patients, open urgent and high alerts first",
    )
    def get(self, request: Request) -> Response:
        clinician: Any = request.user
        shares = list(shares_active().filter(clinician=clinician).select_related("patient"))
        patients = [s.patient_id for s in shares]
        open_alerts = {
            row["user_id"]: row
            for row in Alert.objects.filter(user_id__in=patients, status="open", deleted_at__isnull=True)
            .values("user_id")
            .annotate(urgent=Count("pk", filter=Q(severity="urgent")), high=Count("pk", filter=Q(severity="high")))
        }
        last_entry = dict(
            Episode.objects.filter(user_id__in=patients, deleted_at__isnull=True)
            .values("user_id")
            .annotate(last=Max("started_at"))
            .values_list("user_id", "last")
        )
        rows = []
        for share in shares:
            alerts: Any = open_alerts.get(share.patient_id, {}) if "alerts" in share.scopes else {}
            trend = None
            if "insights" in share.scopes and (snap := insights_latest(user_id=share.patient_id)) is not None:
                trend = (snap.report.get("frequency") or {}).get("trend")
            last = last_entry.get(share.patient_id) if "episodes" in share.scopes else None
            rows.append({
                "patient_id": share.uid,
                "name": share.patient.display_name or share.patient.email,
                "scopes": share.scopes,
                "open_urgent": alerts.get("urgent", 0),
                "open_high": alerts.get("high", 0),
                "trend": trend,
                "last_entry": last.isoformat() if last else None,
            })  # fmt: skip
        rows.sort(key=lambda r: (-r["open_urgent"], -r["open_high"], r["name"]))
        return Response(rows)


class PatientEpisodesApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(responses={200: serializers.ListSerializer(child=serializers.DictField()), **ERRORS})
    def get(self, request: Request, pid: str) -> Response:
        share = clinician_share(request, pid, "episodes", "episodes")
        return Response([redact(episode_to_rest(e), share) for e in scoped_episodes(share)])


class PatientCheckinsApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(responses={200: serializers.ListSerializer(child=serializers.DictField()), **ERRORS})
    def get(self, request: Request, pid: str) -> Response:
        share = clinician_share(request, pid, "checkins", "checkins")
        return Response([redact(checkin_to_rest(c), share) for c in scoped_checkins(share)])


class PatientInsightsApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(
        responses={200: inline_serializer("PatientInsights", {"computed_at": serializers.DateTimeField(allow_null=True),
                                                              "report": serializers.DictField(allow_null=True)}),
                   **ERRORS},
    )  # fmt: skip
    def get(self, request: Request, pid: str) -> Response:
        share = clinician_share(request, pid, "insights", "insights")
        snap = insights_latest(user_id=share.patient_id)
        body: dict[str, Any] = {"computed_at": None, "report": None}
        if snap is not None:
            body = {"computed_at": snap.computed_at, "report": snap.report}
        return Response(body)
