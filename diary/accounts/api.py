from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from diary.accounts import password_reset, serializers, services
from diary.accounts.deletion import user_delete
from diary.accounts.request_user import request_user
from diary.accounts.revocation import TokenRefreshIn, user_end_tokens
from diary.accounts.second_factor import TokenObtainIn, tokens_for
from diary.accounts.signin_limits import account_wait
from diary.accounts.throttles import AuthBurstThrottle, AuthThrottle
from diary.core.errors import DomainValidationError
from diary.core.openapi import ANY_VIEW, ERRORS, ErrorSerializer

_AUTH_THROTTLES = [AuthBurstThrottle, AuthThrottle]


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = _AUTH_THROTTLES

    @extend_schema(
        request=serializers.RegisterIn, responses={201: serializers.RegisterOut, 400: ErrorSerializer, **ANY_VIEW}
    )
    def post(self, request: Request) -> Response:
        data = serializers.RegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        body = {"user": serializers.MeSerializer(user).data, **tokens_for(user, second_factor=False)}
        return Response(body, status=status.HTTP_201_CREATED)


# simplejwt's views document only their 200: a missing field is a 400, wrong credentials or a spent
# refresh token a 401, and the sign-in throttles answer 429.
_TOKEN_RESPONSES = {
    200: serializers.TokenPairOut, 400: ErrorSerializer,
    401: OpenApiResponse(ErrorSerializer, description="wrong email or password, or a spent or invalid refresh token"),
    **ANY_VIEW,
}  # fmt: skip


_OBTAIN_RESPONSES = {
    **_TOKEN_RESPONSES,
    401: OpenApiResponse(ErrorSerializer, description=(
        "wrong email or password; or, for a clinician account, error `second_factor_required` with "
        "`details.totp` saying the code is missing or wrong, or that no authenticator app is enrolled yet"
    )),
    429: OpenApiResponse(ErrorSerializer, description=(
        "too many requests, or (details.totp) too many wrong codes for this account: retry after Retry-After"
    )),
}  # fmt: skip


@extend_schema_view(post=extend_schema(request=TokenObtainIn, responses=_OBTAIN_RESPONSES))
class TokenApi(TokenObtainPairView):
    """Sign in with email and password (and, for a clinician account, ``totp``: the current code from
    the authenticator app); answers an access and a refresh token. Only a clinician's tokens signed in
    with a code read patient data."""

    serializer_class = TokenObtainIn
    throttle_classes = _AUTH_THROTTLES

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Failed passwords per account, whatever the address (diary/accounts/signin_limits.py): the
        # same wait for an email with no account, and no password is checked while it lasts.
        email = request.data.get("email") if isinstance(request.data, dict) else None
        wait = account_wait(email) if isinstance(email, str) else None
        if wait is not None:
            raise exceptions.Throttled(wait)
        return super().post(request, *args, **kwargs)


@extend_schema_view(post=extend_schema(responses=_TOKEN_RESPONSES))
class TokenRefreshApi(TokenRefreshView):
    """Swap a refresh token for a new pair (the old refresh token is revoked: rotation). A token from
    before a logout or password change, or of a deleted account, is a 401."""

    serializer_class = TokenRefreshIn
    throttle_classes = _AUTH_THROTTLES


class LogoutApi(APIView):
    """Sign out: every token of the account ends at once, on every device (the account's token epoch
    moves on; diary/accounts/revocation.py says why not only this login's)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=serializers.RefreshIn, responses={204: None, 400: ErrorSerializer, **ANY_VIEW})
    def post(self, request: Request) -> Response:
        data = serializers.RefreshIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            refresh = RefreshToken(data.validated_data["refresh"])
            refresh.blacklist()
        except TokenError as exc:
            raise DomainValidationError({"refresh": [str(exc)]}) from None
        user_end_tokens(user_id=refresh.payload["user_id"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=serializers.PasswordChangeIn, responses={204: None, **ERRORS})
    def post(self, request: Request) -> Response:
        data = serializers.PasswordChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = request_user(request)
        if not user.check_password(data.validated_data["old_password"]):
            raise DomainValidationError({"old_password": ["is not your current password"]})
        services.user_set_password(user=user, new_password=data.validated_data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = _AUTH_THROTTLES

    @extend_schema(
        request=serializers.PasswordResetIn,
        responses={
            202: OpenApiResponse(description="a mail is on its way if the address has an account"),
            400: ErrorSerializer,
            **ANY_VIEW,
        },
    )
    def post(self, request: Request) -> Response:
        data = serializers.PasswordResetIn(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset.password_reset_request(email=data.validated_data["email"])
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = _AUTH_THROTTLES

    @extend_schema(request=serializers.PasswordResetConfirmIn, responses={204: None, 400: ErrorSerializer, **ANY_VIEW})
    def post(self, request: Request) -> Response:
        data = serializers.PasswordResetConfirmIn(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset.password_reset_confirm(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    def get_throttles(self) -> list[Any]:
        # Deleting the account checks the password: throttled like sign-in against guessing.
        if self.request.method == "DELETE":
            return [t() for t in _AUTH_THROTTLES]
        return super().get_throttles()

    @extend_schema(responses={200: serializers.MeSerializer, 401: ErrorSerializer, **ANY_VIEW})
    def get(self, request: Request) -> Response:
        return Response(serializers.MeSerializer(request_user(request)).data)

    @extend_schema(request=serializers.MeSerializer, responses={200: serializers.MeSerializer, **ERRORS})
    def patch(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise DomainValidationError({"body": ["must be a JSON object"]})
        read_only = {"email", "is_clinician", "date_joined"} & set(request.data)
        if read_only:
            raise DomainValidationError({k: ["is read-only"] for k in sorted(read_only)})
        data = serializers.MeSerializer(request_user(request), data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request_user(request), changes=dict(data.validated_data))
        return Response(serializers.MeSerializer(user).data)

    @extend_schema(
        responses={204: None, **ERRORS},
        summary="Delete your account and all its data (re-enter your password)",
        description='JSON body `{"password": "<your current password>"}`; a wrong or missing one is a 400.',
    )
    def delete(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        user_delete(user=request_user(request), password=data.get("password"))
        return Response(status=status.HTTP_204_NO_CONTENT)
