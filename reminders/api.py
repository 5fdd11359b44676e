"""Thin REST views: the person's reminder rules."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from diary.accounts.request_user import request_user
from diary.core.api import IsDiaryOwner, json_object
from diary.core.openapi import ERRORS, ErrorSerializer, spec_serializer
from reminders import selectors, services
from reminders.render import reminder_to_rest
from reminders.spec import REMINDER

_ID_FIELD = {"id": serializers.RegexField(r"^[A-Za-z0-9_-]{1,36}$", required=False, help_text="client-generated id")}
ReminderIn = spec_serializer(REMINDER, "ReminderIn", for_input=True, extra=_ID_FIELD)
ReminderOut = spec_serializer(
    REMINDER,
    "Reminder",
    for_input=False,
    extra={
        "id": serializers.CharField(),
        "next_fire_at": serializers.DateTimeField(allow_null=True, help_text="when it fires next (UTC)"),
    },
)
ReminderList = inline_serializer("ReminderList", {"results": ReminderOut(many=True)})
_CONFLICT = {409: OpenApiResponse(ErrorSerializer, description="a reminder with this id exists")}


class ReminderCollectionApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(
        operation_id="v1_reminders_list", responses={200: ReminderList, **ERRORS}, summary="List reminders (at most 50)"
    )
    def get(self, request: Request) -> Response:
        rules = selectors.reminder_list(user=request_user(request))
        return Response({"results": [reminder_to_rest(r) for r in rules]})

    @extend_schema(request=ReminderIn, responses={201: ReminderOut, **ERRORS, **_CONFLICT}, summary="Add a reminder")
    def post(self, request: Request) -> Response:
        rule = services.reminder_create(user=request_user(request), data=json_object(request))
        return Response(reminder_to_rest(rule), status=201, headers={"Location": f"/api/v1/reminders/{rule.uid}"})


class ReminderDetailApi(APIView):
    permission_classes = [IsDiaryOwner]

    def _get(self, request: Request, uid: str) -> Any:
        rule = selectors.reminder_get(user=request_user(request), uid=uid)
        if rule is None:
            raise Http404
        return rule

    @extend_schema(responses={200: ReminderOut, **ERRORS})
    def get(self, request: Request, uid: str) -> Response:
        return Response(reminder_to_rest(self._get(request, uid)))

    @extend_schema(request=ReminderIn, responses={200: ReminderOut, 201: ReminderOut, **ERRORS})
    def put(self, request: Request, uid: str) -> Response:
        rule, created = services.reminder_put(user=request_user(request), uid=uid, data=json_object(request))
        return Response(reminder_to_rest(rule), status=201 if created else 200)

    @extend_schema(request=ReminderIn(partial=True), responses={200: ReminderOut, **ERRORS})
    def patch(self, request: Request, uid: str) -> Response:
        rule = services.reminder_patch(user=request_user(request), uid=uid, data=json_object(request))
        return Response(reminder_to_rest(rule))

    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request: Request, uid: str) -> Response:
        services.reminder_delete(user=request_user(request), uid=uid)
        return Response(status=204)
