from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from diary.accounts.request_user import request_user
from diary.checkins import selectors, services
from diary.checkins.filters import CheckInFilter
from diary.checkins.models import CheckIn
from diary.checkins.render import REST_COLUMNS, checkin_row_to_rest, checkin_to_rest
from diary.checkins.spec import CHECKIN
from diary.core.api import IsDiaryOwner, json_object
from diary.core.openapi import ERRORS, ErrorSerializer, spec_serializer
from diary.core.pagination import DiaryCursorPagination

CheckInIn = spec_serializer(
    CHECKIN, "CheckInIn", for_input=True, extra={"id": serializers.DateField(required=False, help_text="equals date")}
)
CheckInOut = spec_serializer(CHECKIN, "CheckIn", for_input=False, extra={"id": serializers.DateField()})


class CheckInPagination(DiaryCursorPagination):
    ordering = "-date"


class CheckInCollectionApi(generics.GenericAPIView[CheckIn]):
    permission_classes = [IsDiaryOwner]
    serializer_class = CheckInOut
    pagination_class = CheckInPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = CheckInFilter

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema's filter parameters: no person
            return CheckIn.objects.none()
        return selectors.checkins_live(user=request_user(self.request))

    @extend_schema(responses={200: CheckInOut(many=True), **ERRORS}, summary="List check-ins, newest day first")
    def get(self, request: Request) -> Response:
        # Rows as values, rendered as they come: no model instance per row.
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()).values(*REST_COLUMNS))
        return self.get_paginated_response([checkin_row_to_rest(row) for row in page or ()])

    @extend_schema(
        request=CheckInIn,
        responses={
            201: CheckInOut,
            **ERRORS,
            409: OpenApiResponse(ErrorSerializer, description="that day has a check-in"),
        },
    )
    def post(self, request: Request) -> Response:
        checkin = services.checkin_create(user=request_user(request), data=json_object(request))
        return Response(checkin_to_rest(checkin), status=201, headers={"Location": f"/api/v1/checkins/{checkin.uid}"})


class CheckInDetailApi(generics.GenericAPIView[CheckIn]):
    permission_classes = [IsDiaryOwner]
    serializer_class = CheckInOut
    lookup_field = "uid"
    lookup_url_kwarg = "date"

    def get_queryset(self) -> Any:
        return selectors.checkins_live(user=request_user(self.request))

    @extend_schema(responses={200: CheckInOut, **ERRORS})
    def get(self, request: Request, date: str) -> Response:
        return Response(checkin_to_rest(self.get_object()))

    @extend_schema(
        request=CheckInIn,
        responses={200: CheckInOut, 201: CheckInOut, **ERRORS},
        summary="Create or replace the day's check-in",
    )
    def put(self, request: Request, date: str) -> Response:
        checkin, created = services.checkin_put(user=request_user(request), date=date, data=json_object(request))
        return Response(checkin_to_rest(checkin), status=201 if created else 200)

    @extend_schema(request=CheckInIn(partial=True), responses={200: CheckInOut, **ERRORS})
    def patch(self, request: Request, date: str) -> Response:
        checkin = services.checkin_patch(user=request_user(request), date=date, data=json_object(request))
        return Response(checkin_to_rest(checkin))

    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request: Request, date: str) -> Response:
        services.checkin_delete(user=request_user(request), date=date)
        return Response(status=204)
