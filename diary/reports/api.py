"""Export endpoints: the person's whole diary, and a clinician's export within one share.

A clinician export is one read: it resolves the share with ``clinician_share`` (404 for anything the
share does not allow) and so writes exactly one access-log entry. The share's window applies, and
notes leave only under the ``notes`` scope. Files are marked ``no-store``: health data, not for caches.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from diary.accounts.request_user import request_user
from diary.checkins.models import CheckIn
from diary.core.api import IsDiaryOwner
from diary.episodes.models import Episode
from diary.reports.csv_export import checkins_csv, episodes_csv
from diary.reports.fhir_export import FHIR_JSON, bundle_json, diary_bundle
from diary.reports.files import CSV, ZIP, FileApi, dated, download, file_responses
from diary.reports.personal_export import personal_export_zip
from diary.sharing.access import IsClinician, clinician_share
from diary.sharing.models import Share
from diary.sharing.scoped import scoped_checkins, scoped_episodes

_CSV_EPISODES = file_responses(
    CSV, OpenApiTypes.STR, "one row per episode; symptoms, triggers and relief as ;-joined codes"
)
_CSV_CHECKINS = file_responses(CSV, OpenApiTypes.STR, "one row per check-in")
_FHIR = file_responses(
    FHIR_JSON, OpenApiTypes.OBJECT, "FHIR R4 Bundle (type collection): a pseudonymous Patient and Observations"
)


class CsvApi(FileApi):
    media_type = CSV


class FhirApi(FileApi):
    media_type = FHIR_JSON


def _me(request: Request) -> int:
    return request_user(request).pk


def own_episodes(user_id: int) -> list[Episode]:
    rows = Episode.objects.filter(user_id=user_id, deleted_at__isnull=True)
    return list(rows.order_by("started_at", "id"))


def own_checkins(user_id: int) -> list[CheckIn]:
    return list(CheckIn.objects.filter(user_id=user_id, deleted_at__isnull=True).order_by("date"))


# ---- the person's own diary: everything, notes included ----


class MyEpisodesCsvApi(CsvApi):
    """Every episode of yours, notes included, one row each."""

    permission_classes = [IsDiaryOwner]

    @extend_schema(operation_id="v1_me_export_episodes_csv", responses=_CSV_EPISODES, summary="Your episodes as CSV")
    def get(self, request: Request) -> HttpResponse:
        body = episodes_csv(own_episodes(_me(request)), notes=True)
        return download(body, CSV, dated("episodes", "csv"))


class MyCheckinsCsvApi(CsvApi):
    """Every check-in of yours, notes included, one row each."""

    permission_classes = [IsDiaryOwner]

    @extend_schema(operation_id="v1_me_export_checkins_csv", responses=_CSV_CHECKINS, summary="Your check-ins as CSV")
    def get(self, request: Request) -> HttpResponse:
        body = checkins_csv(own_checkins(_me(request)), notes=True)
        return download(body, CSV, dated("checkins", "csv"))


class MyFhirApi(FhirApi):
    """Your episodes and check-ins as a FHIR R4 Bundle (notes included)."""

    permission_classes = [IsDiaryOwner]

    @extend_schema(operation_id="v1_me_export_fhir", responses=_FHIR, summary="Your diary as a FHIR R4 Bundle")
    def get(self, request: Request) -> HttpResponse:
        user_id = _me(request)
        bundle = diary_bundle(
            patient_key=f"user:{user_id}", episodes=own_episodes(user_id), checkins=own_checkins(user_id), notes=True
        )
        return download(bundle_json(bundle), FHIR_JSON, dated("diary", "fhir.json"))


class MyExportApi(FileApi):
    """Everything you keep here, so you can leave with all of it. Secrets (push tokens, keys, the
    authenticator key, sign-in tokens, sharing codes) never leave."""

    permission_classes = [IsDiaryOwner]
    media_type = ZIP

    @extend_schema(
        operation_id="v1_me_export",
        responses=file_responses(
            ZIP, OpenApiTypes.BINARY,
            "a zip: diary.json (every record of yours: profile and settings, episodes, check-ins, water, "
            "reminders, notifications, alerts, thresholds, shares, access log, doctor links and their views, "
            "pattern analyses, devices without their secrets), episodes.csv, checkins.csv, diary.fhir.json",
        ),
        summary="Everything you keep here, as one zip",
    )  # fmt: skip
    def get(self, request: Request) -> HttpResponse:
        return download(personal_export_zip(request_user(request)), ZIP, dated("spasm-diary", "zip"))


# ---- a clinician's export within one share ----


def _notes(share: Share) -> bool:
    return "notes" in share.scopes


class PatientEpisodesCsvApi(CsvApi):
    """The patient's episodes within the share (its window; notes only under the notes scope)."""

    permission_classes = [IsClinician]

    @extend_schema(operation_id="v1_clinician_export_episodes_csv", responses=_CSV_EPISODES)
    def get(self, request: Request, pid: str) -> HttpResponse:
        share = clinician_share(request, pid, "episodes", "export_episodes_csv")
        body = episodes_csv(reversed(scoped_episodes(share)), notes=_notes(share))
        return download(body, CSV, dated("episodes", "csv"))


class PatientCheckinsCsvApi(CsvApi):
    """The patient's check-ins within the share (its window; notes only under the notes scope)."""

    permission_classes = [IsClinician]

    @extend_schema(operation_id="v1_clinician_export_checkins_csv", responses=_CSV_CHECKINS)
    def get(self, request: Request, pid: str) -> HttpResponse:
        share = clinician_share(request, pid, "checkins", "export_checkins_csv")
        body = checkins_csv(reversed(scoped_checkins(share)), notes=_notes(share))
        return download(body, CSV, dated("checkins", "csv"))


class PatientFhirApi(FhirApi):
    """The patient's episodes and/or check-ins within the share as a FHIR R4 Bundle."""

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
        return download(bundle_json(bundle), FHIR_JSON, dated("diary", "fhir.json"))
