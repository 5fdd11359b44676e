"""Insights: the latest snapshot, and asking for a fresh one."""

from __future__ import annotations

import datetime as dt
import logging

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.breaker import wake
from diary.accounts.request_user import request_user
from diary.core.api import IsDiaryOwner
from diary.core.openapi import ERRORS
from diary.patterns import tasks
from diary.patterns.models import InsightsDue
from diary.patterns.openapi import SnapshotField
from diary.patterns.selectors import insights_latest
from diary.patterns.services import insights_request

log = logging.getLogger(__name__)

InsightsOut = inline_serializer(
    "Insights",
    {
        "computed_at": serializers.DateTimeField(allow_null=True, help_text="null until the first run"),
        "version": serializers.IntegerField(allow_null=True),
        "window": inline_serializer(
            "InsightsWindow", {"start": serializers.DateField(), "end": serializers.DateField()}, allow_null=True
        ),
        "data": inline_serializer(
            "InsightsData",
            {"episodes": serializers.IntegerField(), "checkins": serializers.IntegerField()},
            allow_null=True,
        ),
        "refresh_due_at": serializers.DateTimeField(allow_null=True, help_text="a refresh is pending"),
        "report": SnapshotField(
            allow_null=True,
            help_text="frequency, duration, timing, where, triggers (with rate ratio, 95% CI, p and q), "
            "suspected triggers, relief: every finding with its numbers and its sentence",
        ),
    },
)


def _wake_worker() -> None:
    """Run the due refreshes now rather than at the next beat tick; a broker error only delays it."""
    wake(tasks.insights_due.apply_async, what="insights wake-up")  # if lost, the beat's tick runs it


class InsightsApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(responses={200: InsightsOut, **ERRORS}, summary="Your latest patterns")
    def get(self, request: Request) -> Response:
        user = request_user(request)
        snapshot = insights_latest(user_id=user.pk)
        due = InsightsDue.objects.filter(user_id=user.pk).values_list("due_at", flat=True).first()
        if snapshot is None:
            return Response({"computed_at": None, "version": None, "window": None, "data": None,
                             "refresh_due_at": due, "report": None})  # fmt: skip
        return Response({
            "computed_at": snapshot.computed_at,
            "version": snapshot.version,
            "window": {"start": snapshot.window_start, "end": snapshot.window_end},
            "data": {"episodes": snapshot.episodes, "checkins": snapshot.checkins},
            "refresh_due_at": due,
            "report": snapshot.report,
        })  # fmt: skip


class InsightsRefreshApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(
        request=None,
        responses={202: inline_serializer("InsightsQueued", {"refresh_due_at": serializers.DateTimeField()}), **ERRORS},
        summary="Recompute now (202: queued; GET /insights shows it when done)",
    )
    def post(self, request: Request) -> Response:
        user = request_user(request)
        insights_request(user_id=user.pk, delay=dt.timedelta(0))
        _wake_worker()
        due = InsightsDue.objects.filter(user_id=user.pk).values_list("due_at", flat=True).first()
        return Response({"refresh_due_at": due}, status=202)
