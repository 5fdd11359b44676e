"""Sharing: the person invites, lists and revokes; a clinician redeems a code."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from diary.accounts.request_user import request_user
from diary.accounts.throttles import RedeemThrottle, RedeemUserThrottle
from diary.core.api import IsDiaryOwner, json_object
from diary.core.openapi import ERRORS
from diary.sharing import selectors, services
from diary.sharing.access import IsClinician
from diary.sharing.models import AccessLog, Share


def share_to_rest(s: Share) -> dict[str, Any]:
    clinician = s.clinician
    return {
        "id": s.uid,
        "scopes": s.scopes,
        "window_start": s.window_start.isoformat() if s.window_start else None,
        "window_end": s.window_end.isoformat() if s.window_end else None,
        "ends_at": s.ends_at.isoformat() if s.ends_at else None,
        "code_expires_at": s.code_expires_at.isoformat(),
        "created_at": s.created_at.isoformat(),
        "redeemed_at": s.redeemed_at.isoformat() if s.redeemed_at else None,
        "revoked_at": s.revoked_at.isoformat() if s.revoked_at else None,
        "clinician": {"name": clinician.display_name, "email": clinician.email} if clinician else None,
    }


class ShareOut(serializers.Serializer):
    id = serializers.CharField()
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=list(Share.SCOPES)))
    window_start = serializers.DateField(allow_null=True)
    window_end = serializers.DateField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    code_expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    redeemed_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    clinician = inline_serializer("ShareClinician", {"name": serializers.CharField(), "email": serializers.EmailField()},
                                  allow_null=True)  # fmt: skip


class ShareCreated(ShareOut):
    code = serializers.CharField(help_text="shown once: give it to the clinician")
    link = serializers.URLField()


ShareIn = inline_serializer(
    "ShareIn",
    {
        "scopes": serializers.ListField(
            child=serializers.ChoiceField(choices=list(Share.SCOPES)), required=False, min_length=1
        ),
        "window_start": serializers.DateField(required=False, allow_null=True),
        "window_end": serializers.DateField(required=False, allow_null=True),
        "ends_at": serializers.DateTimeField(required=False, allow_null=True),
    },
)


class ShareCollectionApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(operation_id="v1_shares_list", responses={200: ShareOut(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        return Response([share_to_rest(s) for s in selectors.shares_of_patient(patient=request_user(request))])

    @extend_schema(request=ShareIn, responses={201: ShareCreated, **ERRORS}, summary="Invite a clinician")
    def post(self, request: Request) -> Response:
        share, code = services.share_invite(patient=request_user(request), data=json_object(request))
        return Response({**share_to_rest(share), "code": code, "link": services.share_link(code)}, status=201)


class ShareDetailApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(responses={200: ShareOut, **ERRORS}, summary="Stop sharing (takes effect on the next request)")
    def delete(self, request: Request, uid: str) -> Response:
        return Response(share_to_rest(services.share_revoke(patient=request_user(request), uid=uid)))


class ShareRedeemApi(APIView):
    permission_classes = [IsClinician]
    throttle_classes = [RedeemThrottle, RedeemUserThrottle]

    @extend_schema(
        request=inline_serializer("RedeemIn", {"code": serializers.CharField()}),
        responses={200: inline_serializer("Redeemed", {"patient_id": serializers.CharField(),
                                                        "scopes": serializers.ListField()}), **ERRORS},
        summary="Redeem a sharing code (unknown, used, expired and revoked codes all answer 404)",
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        share = services.share_redeem(clinician=request_user(request), code=json_object(request).get("code"))
        return Response({"patient_id": share.uid, "scopes": share.scopes})


class AccessLogApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(
        operation_id="v1_shares_access_log",
        responses={200: inline_serializer("AccessLogEntry", {
            "at": serializers.DateTimeField(), "clinician": serializers.CharField(allow_null=True),
            "share_id": serializers.CharField(allow_null=True), "what": serializers.CharField(),
        }, many=True), **ERRORS},
        summary="Every time a clinician read your data, newest first (last 500)",
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        rows = (
            AccessLog.objects.filter(patient_id=request_user(request).pk)
            .select_related("clinician", "share")
            .order_by("-at", "-pk")[:500]
        )
        return Response([
            {"at": r.at.isoformat(), "clinician": r.clinician.email if r.clinician else None,
             "share_id": r.share.uid if r.share else None, "what": r.what}
            for r in rows
        ])  # fmt: skip
