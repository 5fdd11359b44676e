"""Alerts for the person; alerts and thresholds for the clinicians they share with."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from diary.accounts.request_user import request_user
from diary.alerts import services, texts, thresholds
from diary.alerts.catalogue import BOUNDS, THRESHOLD_NAMES
from diary.alerts.happened import alert_happened, episode_times, happened
from diary.alerts.models import Alert
from diary.alerts.shared import shared_alerts
from diary.core.api import IsDiaryOwner, json_object
from diary.core.errors import DomainValidationError
from diary.core.openapi import ERRORS
from diary.core.pagination import DiaryCursorPagination
from diary.sharing.access import IsClinician, clinician_share


def alert_to_rest(a: Alert, when: str = "") -> dict[str, Any]:
    """``when``: when the alert's episode happened, in words for the reader (``diary.alerts.happened``)."""
    return {
        "id": a.uid,
        "rule": a.rule,
        "severity": a.severity,
        "title": a.title,
        "guidance": a.guidance,
        "evidence": a.evidence,
        "message": texts.alert_message(a.title, a.evidence, when),
        "numbers": a.numbers,
        "ruleset_version": a.ruleset_version,
        "episode_id": a.episode_uid,
        "status": a.status,
        "opened_at": a.opened_at.isoformat(),
        "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None,
        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
    }


class AlertOut(serializers.Serializer):
    id = serializers.CharField()
    rule = serializers.CharField()
    severity = serializers.ChoiceField(choices=["urgent", "high", "watch"])
    title = serializers.CharField()
    guidance = serializers.CharField()
    evidence = serializers.CharField(
        help_text='the numbers that crossed the threshold, in words: "pain 9 out of 10 (threshold 8)"'
    )
    message = serializers.CharField(
        help_text="the alert in one line of words for people: title, evidence and, for an episode's alert, when "
        "the episode happened (its own local time; the zone is named when it is not the reader's)"
    )
    numbers = serializers.DictField()
    ruleset_version = serializers.CharField()
    episode_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["open", "acknowledged", "resolved"])
    opened_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)


class AlertPagination(DiaryCursorPagination):
    ordering = ("-opened_at", "-id")


_STATUS = OpenApiParameter("status", str, enum=["open", "acknowledged", "resolved"])


def _alerts(rows: QuerySet[Alert], request: Request) -> QuerySet[Alert]:
    status = request.query_params.get("status")
    if status is not None:
        if status not in ("open", "acknowledged", "resolved"):
            raise DomainValidationError({"status": ["must be open, acknowledged or resolved"]})
        rows = rows.filter(status=status)
    return rows


def _rest(user_id: int, alerts: list[Alert], *, reader_tz: str | None) -> list[dict[str, Any]]:
    """A page of alerts with when their episodes happened (one query). A clinician (``reader_tz`` None)
    reads the patient's local time with its zone named; the person reads it in their own zone."""
    times = episode_times(user_id=user_id, uids=[a.episode_uid for a in alerts])
    return [alert_to_rest(a, happened(a, times, reader_tz=reader_tz)) for a in alerts]


class AlertCollectionApi(generics.GenericAPIView[Alert]):
    permission_classes = [IsDiaryOwner]
    serializer_class = AlertOut
    pagination_class = AlertPagination

    @extend_schema(parameters=[_STATUS], responses={200: AlertOut(many=True), **ERRORS}, summary="Your alerts")
    def get(self, request: Request) -> Response:
        user = request_user(request)
        own = Alert.objects.filter(user_id=user.pk, deleted_at__isnull=True)
        page = self.paginate_queryset(_alerts(own, request))
        return self.get_paginated_response(_rest(user.pk, page or [], reader_tz=user.current_timezone))


class AlertDetailApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(responses={200: AlertOut, **ERRORS})
    def get(self, request: Request, uid: str) -> Response:
        user = request_user(request)
        alert = Alert.objects.filter(user_id=user.pk, uid=uid, deleted_at__isnull=True).first()
        if alert is None:
            raise Http404
        return Response(alert_to_rest(alert, alert_happened(alert, reader_tz=user.current_timezone)))


class AlertAcknowledgeApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(request=None, responses={200: AlertOut, **ERRORS}, summary="Acknowledge (stops the repeats)")
    def post(self, request: Request, uid: str) -> Response:
        user = request_user(request)
        alert = services.alert_acknowledge(patient=user, uid=uid, by=user)
        return Response(alert_to_rest(alert, alert_happened(alert, reader_tz=user.current_timezone)))


def _share(request: Request, pid: str, what: str) -> Any:
    return clinician_share(request, pid, "alerts", what)


class ClinicianAlertsApi(generics.GenericAPIView[Alert]):
    permission_classes = [IsClinician]
    serializer_class = AlertOut
    pagination_class = AlertPagination

    @extend_schema(parameters=[_STATUS], responses={200: AlertOut(many=True), **ERRORS}, summary="A patient's alerts")
    def get(self, request: Request, pid: str) -> Response:
        share = _share(request, pid, "alerts")
        page = self.paginate_queryset(_alerts(shared_alerts(share), request))
        return self.get_paginated_response(_rest(share.patient_id, page or [], reader_tz=None))


class ClinicianAlertAcknowledgeApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(request=None, responses={200: AlertOut, **ERRORS}, summary="Acknowledge a patient's alert")
    def post(self, request: Request, pid: str, uid: str) -> Response:
        share = _share(request, pid, "alert acknowledged")
        if not shared_alerts(share).filter(uid=uid).exists():  # outside the share's window: not there
            raise Http404
        alert = services.alert_acknowledge(patient=share.patient, uid=uid, by=request_user(request))
        return Response(alert_to_rest(alert, alert_happened(alert, reader_tz=None)))


_NUMBERS: dict[str, serializers.Field] = {name: serializers.IntegerField() for name in THRESHOLD_NAMES}
ThresholdsOut = inline_serializer(
    "Thresholds",
    {
        "version": serializers.CharField(help_text="the patient's rule-set version: 1, then 1.N after N changes"),
        "defaults": inline_serializer("ThresholdDefaults", _NUMBERS),
        "yours": serializers.DictField(child=serializers.IntegerField()),
        "effective": inline_serializer("ThresholdEffective", _NUMBERS),
    },
)


class ClinicianThresholdsApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(responses={200: ThresholdsOut, **ERRORS}, summary="A patient's red-flag thresholds")
    def get(self, request: Request, pid: str) -> Response:
        share = _share(request, pid, "thresholds")
        return Response(thresholds.thresholds_for_clinician(patient=share.patient, clinician=request_user(request)))

    @extend_schema(
        request=inline_serializer(
            "ThresholdsIn",
            {
                n: serializers.IntegerField(required=False, allow_null=True, min_value=low, max_value=high)
                for n, (low, high) in BOUNDS.items()
            },
        ),
        responses={200: ThresholdsOut, **ERRORS},
        summary="Set (a number within safe bounds) or clear (null) your thresholds for this patient",
    )
    def put(self, request: Request, pid: str) -> Response:
        share = _share(request, pid, "thresholds changed")
        result = thresholds.thresholds_set(
            patient=share.patient, clinician=request_user(request), changes=json_object(request)
        )
        return Response(result)
