"""The clinician's side of a share: the triage list and one patient's diary within the share's scopes.

Every read of a patient's data records one access-log entry the person can see. Anything the share
does not allow (no share, revoked, expired, another scope) is a 404, never a hint that it exists.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from diary.accounts.request_user import request_user
from diary.checkins.render import checkin_to_rest
from diary.clinician.triage import triage_read
from diary.core.openapi import ERRORS
from diary.episodes.render import episode_to_rest
from diary.patterns.openapi import SnapshotField
from diary.reports.insights import share_insights
from diary.sharing.access import IsClinician, clinician_share
from diary.sharing.scoped import redact, scoped_checkins, scoped_episodes


class PatientListApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(
        responses={200: serializers.ListSerializer(child=serializers.DictField()), **ERRORS},
        summary="Your patients, open urgent and high alerts first",
    )
    def get(self, request: Request) -> Response:
        return Response(triage_read(clinician=request_user(request)))


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
                                                              "report": SnapshotField(allow_null=True)}),
                   **ERRORS},
    )  # fmt: skip
    def get(self, request: Request, pid: str) -> Response:
        share = clinician_share(request, pid, "insights", "insights")
        # Computed over the share's window only, never the person's whole-diary snapshot.
        body: dict[str, Any] = share_insights(share) or {"computed_at": None, "report": None}
        return Response(body)
