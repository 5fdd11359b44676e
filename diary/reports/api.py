"""Export endpoints: the person's whole diary, and a clinician's export within one share.

A clinician export is one read: it resolves the share with ``clinician_share`` (404 for anything the
share does not allow) and so writes exactly one access-log entry. The share's window applies, and
notes leave only under the ``notes`` scope. Files are marked ``no-store``: health data, not for caches.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from diary.accounts.request_user import request_user
from diary.checkins.models import CheckIn
from diary.core.api import IsDiaryOwner
from diary.core.openapi import ERRORS
from diary.episodes.models import Episode
from diary.reports.csv_export import checkins_csv, episodes_csv
from diary.reports.fhir_export import FHIR_JSON, bundle_json, diary_bundle
from diary.sharing.access import IsClinician, clinician_share
from diary.sharing.models import Share
from diary.sharing.scoped import scoped_checkins, scoped_episodes

CSV = "text/csv; charset=utf-8"

_CSV_EPISODES: dict[Any, Any] = {
    (200, "text/csv"): OpenApiResponse(
        OpenApiTypes.STR, description="one row per episode; symptoms, triggers and relief as ;-joined codes"
    ),
    **ERRORS,
}
_CSV_CHECKINS: dict[Any, Any] = {
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="one row per check-in"),
    **ERRORS,
}
_FHIR: dict[Any, Any] = {
    (200, FHIR_JSON): OpenApiResponse(
        OpenApiTypes.OBJECT, description="FHIR R4 Bundle (type collection): a pseudonymous Patient and Observations"
    ),
    **ERRORS,
}


def _download(body: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _name(stem: str, ext: str) -> str:
    return f"{stem}-{timezone.now().date().isoformat()}.{ext}"


def _me(request: Request) -> int:
    return request_user(request).pk


def own_episodes(user_id: int) -> list[Episode]:
    rows = Episode.objects.filter(user_id=user_id, deleted_at__isnull=True)
    return list(rows.order_by("started_at", "id"))


def own_checkins(user_id: int) -> list[CheckIn]:
    return list(CheckIn.objects.filter(user_id=user_id, deleted_at__isnull=True).order_by("date"))


# ---- the person's own diary: everything, notes included ----


class MyEpisodesCsvApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(operation_id="v1_me_export_episodes_csv", responses=_CSV_EPISODES, summary="Your episodes as CSV")
    def get(self, request: Request) -> HttpResponse:
        body = episodes_csv(own_episodes(_me(request)), notes=True)
        return _download(body, CSV, _name("episodes", "csv"))


class MyCheckinsCsvApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(operation_id="v1_me_export_checkins_csv", responses=_CSV_CHECKINS, summary="Your check-ins as CSV")
    def get(self, request: Request) -> HttpResponse:
        body = checkins_csv(own_checkins(_me(request)), notes=True)
        return _download(body, CSV, _name("checkins", "csv"))


class MyFhirApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(operation_id="v1_me_export_fhir", responses=_FHIR, summary="Your diary as a FHIR R4 Bundle")
    def get(self, request: Request) -> HttpResponse:
        user_id = _me(request)
        bundle = diary_bundle(
            patient_key=f"user:{user_id}", episodes=own_episodes(user_id), checkins=own_checkins(user_id), notes=True
        )
        return _download(bundle_json(bundle), FHIR_JSON, _name("diary", "fhir.json"))


# ---- a clinician's export within one share ----


def _notes(share: Share) -> bool:
    return "notes" in share.scopes


class PatientEpisodesCsvApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(operation_id="v1_clinician_export_episodes_csv", responses=_CSV_EPISODES)
    def get(self, request: Request, pid: str) -> HttpResponse:
        share = clinician_share(request, pid, "episodes", "export_episodes_csv")
        body = episodes_csv(reversed(scoped_episodes(share)), notes=_notes(share))
        return _download(body, CSV, _name("episodes", "csv"))


class PatientCheckinsCsvApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(operation_id="v1_clinician_export_checkins_csv", responses=_CSV_CHECKINS)
    def get(self, request: Request, pid: str) -> HttpResponse:
        share = clinician_share(request, pid, "checkins", "export_checkins_csv")
        body = checkins_csv(reversed(scoped_checkins(share)), notes=_notes(share))
        return _download(body, CSV, _name("checkins", "csv"))


class PatientFhirApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(operation_id="v1_clinician_export_fhir", responses=_FHIR)
    def get(self, request: Request, pid: str) -> HttpResponse:
        # Episodes and/or check-ins, as the share allows; neither is a 404. Only the lookup that
        # succeeds writes the (one) access-log entry.
        try:
            share = clinician_share(request, pid, "episodes", "export_fhir")
        except Http404:
            share = clinician_share(request, pid, "checkins", "export_fhir")
        parts: dict[str, Any] = {}
        if "episodes" in share.scopes:
            parts["episodes"] = reversed(scoped_episodes(share))
        if "checkins" in share.scopes:
            parts["checkins"] = reversed(scoped_checkins(share))
        bundle = diary_bundle(patient_key=f"share:{share.uid}", notes=_notes(share), **parts)
        return _download(bundle_json(bundle), FHIR_JSON, _name("diary", "fhir.json"))
