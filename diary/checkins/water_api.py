"""Glasses of water: log one, list a day's, undo one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Sum
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from diary.accounts.request_user import request_user
from diary.checkins import water
from diary.checkins.models import WaterIntake
from diary.core.api import IsDiaryOwner, json_object
from diary.core.errors import DomainValidationError
from diary.core.fields import zone
from diary.core.openapi import ERRORS, spec_serializer

WaterIn = spec_serializer(water.WATER, "WaterIn", for_input=True)


class WaterOut(serializers.Serializer):
    id = serializers.CharField()
    logged_at = serializers.DateTimeField()
    date = serializers.DateField(help_text="the local day it counts toward")
    amount_ml = serializers.IntegerField()
    source = serializers.ChoiceField(choices=["app", "reminder"])  # type: ignore[assignment]


def water_to_rest(w: WaterIntake, tz: str) -> dict[str, Any]:
    return {
        "id": w.uid,
        "logged_at": w.logged_at.astimezone(zone(tz)).isoformat(),
        "date": w.day.isoformat(),
        "amount_ml": w.amount_ml,
        "source": w.source,
    }


class WaterCollectionApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(
        operation_id="v1_water_list",
        parameters=[OpenApiParameter("date", dt.date, description="local day (default: today where you are)")],
        responses={
            200: inline_serializer(
                "WaterDay",
                {
                    "date": serializers.DateField(),
                    "total_ml": serializers.IntegerField(),
                    "results": WaterOut(many=True),
                },
            ),
            **ERRORS,
        },
        summary="A day's glasses and their sum (the check-in's water_ml)",
    )
    def get(self, request: Request) -> Response:
        user = request_user(request)
        raw = request.query_params.get("date")
        try:
            day = dt.date.fromisoformat(raw) if raw else timezone.now().astimezone(zone(user.current_timezone)).date()
        except ValueError:
            raise DomainValidationError({"date": ["must be a date YYYY-MM-DD"]}) from None
        rows = water.water_for_day(user=user, day=day)
        total = rows.aggregate(total=Sum("amount_ml"))["total"] or 0
        tz = user.current_timezone
        return Response({"date": day.isoformat(), "total_ml": total, "results": [water_to_rest(w, tz) for w in rows]})

    @extend_schema(request=WaterIn, responses={200: WaterOut, 201: WaterOut, **ERRORS}, summary="Log a glass of water")
    def post(self, request: Request) -> Response:
        user = request_user(request)
        glass, created = water.water_log(user=user, data=json_object(request))
        return Response(water_to_rest(glass, user.current_timezone), status=201 if created else 200)


class WaterDetailApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(responses={204: None, **ERRORS}, summary="Undo a glass")
    def delete(self, request: Request, uid: str) -> Response:
        water.water_delete(user=request_user(request), uid=uid)
        return Response(status=204)
