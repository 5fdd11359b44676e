"""Revocation that takes effect at once: a per-account token epoch.

An access token is a signed, self-contained pass (15 minutes); blacklisting refresh tokens alone leaves
every access token working until it expires. So each account carries ``token_epoch``, an integer that
every token copies into its ``epoch`` claim when it is made (and keeps across refresh). Logout, a
password change, a password reset and an admin's reset of the authenticator bump the epoch; the JWT
authentication compares the claim with the user row it loads anyway (no extra query), so every token
made before the bump is refused on its next request. A deleted account has no row: its access token and
its refresh token both answer 401 in the error shape (never a 500).

Logout ends every token of the account, on every device, not only those of the login that calls it:
telling one login's access tokens apart would need a per-request denylist lookup, and for a health
diary "signed out" should mean signed out. Web sessions end with the tokens: Django's session hash
covers the epoch as well as the password (``User._get_session_auth_hash``), so a clinician's web session
that passed the second factor does not outlive an admin's reset of their authenticator.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token

from diary.accounts import account_cache
from diary.accounts.account_cache import account_changed
from diary.accounts.models import User
from diary.accounts.throttles import person_gate

EPOCH = "epoch"
REVOKED = _("This token was signed out (logout, new password or reset): sign in again.")


def token_epoch_stamp(token: Token, user: User) -> None:
    """Copy the account's current epoch into ``token`` (and so into the access tokens made from it)."""
    token[EPOCH] = user.token_epoch


def token_is_current(token: Token, user: User) -> bool:
    """The token was made at the account's current epoch. Tokens from before epochs existed carry
    no claim and count as epoch 0: they work until the account's first bump."""
    return token.get(EPOCH, 0) == user.token_epoch


def user_end_tokens(*, user_id: int) -> None:
    """Bump the account's epoch: every access and refresh token made so far is refused from now on.
    One atomic UPDATE, so two concurrent bumps never lose one."""
    User.objects.filter(pk=user_id).update(token_epoch=F("token_epoch") + 1)
    account_changed(user_id)  # an UPDATE sends no signal: every process's copy is stale now


class EpochJWTAuthentication(JWTAuthentication):
    """SimpleJWT's bearer authentication plus the epoch check, without a query when it can: the
    person's rate-limit count and the account's change stamp are one Redis round trip (throttles.py
    ``person_gate``), and the user row comes from this process's copy while that stamp is unchanged
    (account_cache.py); otherwise from the database, as SimpleJWT reads it."""

    def authenticate(self, request: Request) -> tuple[Any, Token] | None:
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        token = self.get_validated_token(raw_token)
        claim = token.get(api_settings.USER_ID_CLAIM)  # SimpleJWT writes the id as a string
        if not (isinstance(claim, str) and claim.isdigit()):
            return self.get_user(token), token
        user_id = int(claim)
        (stamp,), take_back = person_gate(request, user_id, [account_cache.stamp_key(user_id)])
        try:
            user = account_cache.cached_user(user_id, stamp)
            if user is None:
                user = self.get_user(token)
                account_cache.keep(user, stamp)
            elif api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
                raise exceptions.AuthenticationFailed(_("User is inactive"), code="user_inactive")
            if not token_is_current(token, user):
                raise exceptions.AuthenticationFailed(REVOKED, code="token_revoked")
        except exceptions.AuthenticationFailed:
            take_back()
            raise
        return user, token

    def get_user(self, validated_token: Token) -> Any:
        user = super().get_user(validated_token)
        assert isinstance(user, User)
        if not token_is_current(validated_token, user):
            raise exceptions.AuthenticationFailed(REVOKED, code="token_revoked")
        return user


class TokenRefreshIn(TokenRefreshSerializer):
    """Refresh: the account must still exist, be active and be at the token's epoch (401 otherwise)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = RefreshToken(attrs["refresh"])  # signature, expiry, blacklist (401 when bad)
        user_id = refresh.payload.get(api_settings.USER_ID_CLAIM)
        user = User.objects.filter(pk=user_id).first() if user_id is not None else None
        if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
            raise exceptions.AuthenticationFailed(self.error_messages["no_active_account"], code="no_active_account")
        if not token_is_current(refresh, user):
            raise exceptions.AuthenticationFailed(REVOKED, code="token_revoked")
        return super().validate(attrs)


class EpochJWTScheme(SimpleJWTScheme):
    """The OpenAPI schema documents it as the bearer JWT it is."""

    target_class = "diary.accounts.revocation.EpochJWTAuthentication"
