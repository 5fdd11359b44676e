"""Thin REST views: the notification inbox and push devices."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from diary.accounts.request_user import request_user
from diary.core.api import IsDiaryOwner, json_object
from diary.core.openapi import ERRORS, spec_serializer
from diary.core.pagination import DiaryCursorPagination
from diary.notifications import devices, inbox, selectors
from diary.notifications.models import Notification
from diary.notifications.render import device_to_rest, notification_to_rest
from diary.notifications.spec import NOTIFICATION

NotificationIn = spec_serializer(NOTIFICATION, "NotificationIn", for_input=True)
NotificationOut = spec_serializer(NOTIFICATION, "Notification", for_input=False, extra={"id": serializers.CharField()})
DeviceIn = inline_serializer(
    "DeviceIn",
    {
        "platform": serializers.ChoiceField(choices=["webpush", "fcm", "apns"]),
        "token": serializers.CharField(help_text="FCM registration token, APNs device token, or Web Push endpoint"),
        "keys": inline_serializer(
            "WebPushKeys", {"p256dh": serializers.CharField(), "auth": serializers.CharField()}, required=False
        ),
        "label": serializers.CharField(required=False, max_length=120),
    },
)


class DeviceOut(serializers.Serializer):
    id = serializers.CharField()
    platform = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_success_at = serializers.DateTimeField(allow_null=True)
    deactivated_at = serializers.DateTimeField(allow_null=True)


class NotificationPagination(DiaryCursorPagination):
    ordering = ("-scheduled_for", "-id")


class NotificationCollectionApi(generics.GenericAPIView[Notification]):
    permission_classes = [IsDiaryOwner]
    serializer_class = NotificationOut
    pagination_class = NotificationPagination

    def get_queryset(self) -> Any:
        unread = self.request.query_params.get("unread") in ("1", "true")
        return selectors.notification_list(user=request_user(self.request), unread=unread)

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="only those not yet answered")],
        responses={200: NotificationOut(many=True), **ERRORS},
        summary="The inbox, newest first",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([notification_to_rest(n) for n in page or ()])


class NotificationDetailApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(responses={200: NotificationOut, **ERRORS})
    def get(self, request: Request, uid: str) -> Response:
        n = selectors.notification_get(user=request_user(request), uid=uid)
        if n is None:
            raise Http404
        return Response(notification_to_rest(n))

    @extend_schema(
        request=NotificationIn(partial=True),
        responses={200: NotificationOut, **ERRORS},
        summary="Report delivery or the person's answer (done, snoozed with snooze_min, dismissed)",
    )
    def patch(self, request: Request, uid: str) -> Response:
        n = inbox.notification_patch(user=request_user(request), uid=uid, data=json_object(request))
        return Response(notification_to_rest(n))

    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request: Request, uid: str) -> Response:
        inbox.notification_delete(user=request_user(request), uid=uid)
        return Response(status=204)


class DeviceCollectionApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(
        operation_id="v1_devices_list",
        responses={200: inline_serializer("DeviceList", {"results": DeviceOut(many=True)}), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response({"results": [device_to_rest(d) for d in selectors.device_list(user=request_user(request))]})

    @extend_schema(
        request=DeviceIn,
        responses={200: DeviceOut, 201: DeviceOut, **ERRORS},
        summary="Register a push target (the same token again refreshes it)",
    )
    def post(self, request: Request) -> Response:
        device, created = devices.device_register(user=request_user(request), data=json_object(request))
        return Response(device_to_rest(device), status=201 if created else 200)


class DeviceDetailApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(responses={204: None, **ERRORS}, summary="Remove a push target")
    def delete(self, request: Request, uid: str) -> Response:
        devices.device_delete(user=request_user(request), uid=uid)
        return Response(status=204)
