"""The second factor in the API: tokens that record it, the sign-in check that demands it of a clinician,
and the one test (``passed_second_factor``) every clinician read makes, for a token and a session alike.

A token records how its holder signed in in the ``amr`` claim (RFC 8176 method names): ``["pwd"]`` for
a password alone, ``["pwd", "otp"]`` once a code from the authenticator app was checked too. The claim
is copied into the access token and kept across refresh (rotation reuses the refresh token's claims),
so a refresh never upgrades a password-only token. A clinician gets no token without a code, and an
older password-only token or a web session that has not passed /clinician/2fa/ reads no patient data.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenObtainSerializer
from rest_framework_simplejwt.tokens import RefreshToken, Token

from diary.accounts.models import User
from diary.accounts.revocation import token_epoch_stamp
from diary.accounts.totp import TotpOutcome, session_passed_totp, totp_attempt, totp_enrolled, wait_text

AMR = "amr"
PASSWORD_ONLY = ["pwd"]
PASSWORD_AND_OTP = ["pwd", "otp"]
NEEDS_CODE = "a clinician account needs the current code from its authenticator app"
NEEDS_ENROLMENT = (
    "a clinician account needs an authenticator app: enrol one with POST /api/v1/auth/totp/enrol "
    "(or on the /clinician/2fa/ page), then sign in with its code"
)
WRONG_CODE = "that code did not match: codes change every 30 seconds and each works once"


class SecondFactorRequired(exceptions.AuthenticationFailed):
    """401 naming the field: the code is missing, wrong, or there is no authenticator yet."""

    default_code = "second_factor_required"
    default_detail = "This account signs in with a password and a code from its authenticator app."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.field_errors = {"totp": [reason]}


class SecondFactorWait(exceptions.Throttled):
    """429 with Retry-After: too many wrong codes; says nothing about whether this one was right."""

    def __init__(self, wait: int) -> None:
        super().__init__(wait=wait, detail=wait_text(wait))
        self.field_errors = {"totp": [wait_text(wait)]}


def tokens_for(user: User, *, second_factor: bool, refresh: RefreshToken | None = None) -> dict[str, str]:
    """An access and a refresh token recording how the holder signed in, at the account's epoch."""
    refresh = refresh or RefreshToken.for_user(user)
    token_epoch_stamp(refresh, user)
    refresh[AMR] = PASSWORD_AND_OTP if second_factor else PASSWORD_ONLY
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def second_factor_check(*, user: User, code: str | None) -> None:
    """Raise unless ``code`` is a current, unused code of the clinician's confirmed authenticator."""
    if not totp_enrolled(user=user):
        raise SecondFactorRequired(NEEDS_ENROLMENT)
    if not code:
        raise SecondFactorRequired(NEEDS_CODE)
    refuse_unless_passed(totp_attempt(user=user, code=code))


def refuse_unless_passed(outcome: TotpOutcome) -> None:
    """Turn a code attempt into its answer: 429 while throttled, 401 when wrong, nothing when right."""
    if outcome.retry_after:
        raise SecondFactorWait(outcome.retry_after)
    if not outcome.ok:
        raise SecondFactorRequired(WRONG_CODE)


def passed_second_factor(request: Request | HttpRequest) -> bool:
    """The request's credentials passed the second factor: a token with ``otp`` in its ``amr`` claim,
    or (no token) a web session that passed the /clinician/2fa/ page for this very user."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return False
    auth = getattr(request, "auth", None)
    if auth is not None:
        return isinstance(auth, Token) and "otp" in (auth.get(AMR) or [])
    return session_passed_totp(request, user)


class TokenObtainIn(TokenObtainPairSerializer):
    """Email and password; a clinician adds ``totp``, the current code from the authenticator app."""

    totp = serializers.CharField(
        required=False, allow_blank=True, write_only=True,
        help_text="required for a clinician account: the 6-digit code from its authenticator app",
    )  # fmt: skip

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        TokenObtainSerializer.validate(self, attrs)  # the password (simplejwt's 401 when wrong); sets .user
        user = self.user
        assert isinstance(user, User)
        if user.is_clinician:
            second_factor_check(user=user, code=attrs.get("totp"))
        return tokens_for(user, second_factor=user.is_clinician, refresh=self.get_token(user))  # type: ignore[arg-type]
