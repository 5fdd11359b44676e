"""Enrolling a clinician's authenticator app through the API (the app's twin of the /clinician/2fa/ page).

Both calls carry the email and password in the body rather than a token. A clinician gets no token
before the second factor, and a "may only enrol" token would be a bearer credential that every
signed-in view (profile, password change, account deletion) accepts unless each learned to refuse it;
credentials in the body reach these two views and nothing else. Once enrolled, a new secret
(re-enrolment, a new phone) needs a current code from the old app as well, and replaces it only when a
code from the new one confirms it. Wrong credentials and non-clinician accounts get the same 401 as
the token endpoint; codes are throttled per account (``diary.accounts.totp``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from diary.accounts.models import TotpDevice, User
from diary.accounts.second_factor import (
    NEEDS_CODE,
    SecondFactorRequired,
    refuse_unless_passed,
    second_factor_check,
    tokens_for,
)
from diary.accounts.serializers import TokenPairOut
from diary.accounts.throttles import AuthBurstThrottle, AuthThrottle
from diary.accounts.totp import totp_attempt, totp_enrol, totp_enrolled, totp_uri
from diary.core.errors import DomainValidationError
from diary.core.openapi import ANY_VIEW, ErrorSerializer

_CODE_HELP = "the 6-digit code from the authenticator app"


class TotpEnrolIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=256, style={"input_type": "password"})
    totp = serializers.CharField(
        required=False, allow_blank=True, max_length=16,
        help_text="only to replace an enrolled app: a current code from it",
    )  # fmt: skip


class TotpEnrolOut(serializers.Serializer):
    secret = serializers.CharField(help_text="base32 key to type into the authenticator app")
    uri = serializers.CharField(help_text="otpauth:// URI (show it as a QR code)")
    replaces_current = serializers.BooleanField(help_text="true: re-enrolment; the old app works until confirmed")


class TotpConfirmIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=256, style={"input_type": "password"})
    totp = serializers.CharField(max_length=16, help_text=f"{_CODE_HELP}, from the newly enrolled key")


_UNAUTHORIZED = OpenApiResponse(
    ErrorSerializer,
    description="wrong email or password, not a clinician account, or (details.totp) a missing or wrong code",
)


def _clinician(request: Request, data: dict[str, Any]) -> User:
    user = authenticate(request._request, email=data["email"], password=data["password"])
    if not isinstance(user, User) or not user.is_clinician:
        raise exceptions.AuthenticationFailed("No active clinician account found with the given credentials.")
    return user


class _Unauthenticated(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [AuthBurstThrottle, AuthThrottle]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'  # wrong credentials are a 401 (as at the token endpoint), not a 403


class TotpEnrolApi(_Unauthenticated):
    @extend_schema(
        request=TotpEnrolIn,
        responses={200: TotpEnrolOut, 400: ErrorSerializer, 401: _UNAUTHORIZED, **ANY_VIEW},
        summary="A clinician enrols an authenticator app (then confirms it with a code)",
    )
    def post(self, request: Request) -> Response:
        data = TotpEnrolIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = _clinician(request, data.validated_data)
        enrolled = totp_enrolled(user=user)
        if enrolled:  # replacing the app takes a current code from it: a password alone cannot
            second_factor_check(user=user, code=data.validated_data.get("totp"))
        secret = totp_enrol(user=user)
        device = TotpDevice.objects.get(user=user)
        body = {"secret": secret, "uri": totp_uri(device, user, secret=secret), "replaces_current": enrolled}
        return Response(body)


class TotpConfirmApi(_Unauthenticated):
    @extend_schema(
        request=TotpConfirmIn,
        responses={200: TokenPairOut, 400: ErrorSerializer, 401: _UNAUTHORIZED, **ANY_VIEW},
        summary="Confirm the enrolled app with its current code; answers tokens that passed the second factor",
    )
    def post(self, request: Request) -> Response:
        data = TotpConfirmIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = _clinician(request, data.validated_data)
        device = TotpDevice.objects.filter(user=user).first()
        if device is None or (device.confirmed_at is not None and not device.pending_secret):
            raise DomainValidationError({"totp": ["no enrolment is waiting for a code: POST /api/v1/auth/totp/enrol"]})
        if not data.validated_data["totp"]:
            raise SecondFactorRequired(NEEDS_CODE)
        refuse_unless_passed(
            totp_attempt(user=user, code=data.validated_data["totp"], pending=bool(device.pending_secret))
        )
        return Response(tokens_for(user, second_factor=True))
