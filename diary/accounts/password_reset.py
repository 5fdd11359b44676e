"""Password reset by email. The request records an outbox intent; a worker sends the mail, so the
answer takes the same time whether or not the address has an account."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from diary.accounts.models import User
from diary.accounts.services import user_set_password
from diary.core.errors import DomainValidationError
from diary.outbox.routes import PASSWORD_RESET
from diary.outbox.services import outbox_enqueue

RESET_LINK_INVALID = "this reset link is invalid or has expired"


def password_reset_request(*, email: str) -> None:
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        return
    with transaction.atomic():
        # ``request`` names this request: the key under which its one email is sent.
        outbox_enqueue(user_id=user.pk, topic=PASSWORD_RESET, payloads=[{"request": uuid.uuid4().hex}])


def password_reset_message(user: User) -> tuple[str, str]:
    """(subject, plain text) of the reset email: the link, how long it works, what to do if it was
    not you. Sent by the notifications layer (diary/notifications/email.py), which may import this
    base module where this one may not import it."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = f"{settings.PUBLIC_BASE_URL}/reset-password?uid={uid}&token={token}"
    days = settings.PASSWORD_RESET_TIMEOUT // 86400
    lasts = f"{days} days" if days > 1 else f"{settings.PASSWORD_RESET_TIMEOUT // 3600} hours"
    return (
        "Reset your spasm diary password",
        "Someone asked to reset the password of your spasm diary account. If it was you, open this "
        f"link within {lasts}:\n\n{link}\n\nIf the app asks for them instead, enter:\nuid: {uid}\n"
        f"token: {token}\n\nThe link works once. If it was not you, ignore this email: your password "
        "stays as it is.",
    )


def password_reset_user(*, uid: str, token: str) -> User | None:
    """The active account a reset link names, if its token is still good (unused: the token covers
    the password hash, so setting a password spends it; and younger than PASSWORD_RESET_TIMEOUT)."""
    try:
        user_pk = int(force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError, OverflowError):
        return None
    user = User.objects.filter(pk=user_pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set the new password (the same validation as everywhere); it ends every refresh and access
    token of the account (the epoch) and, through the session hash, every web session."""
    user = password_reset_user(uid=uid, token=token)
    if user is None:
        raise DomainValidationError({"token": [RESET_LINK_INVALID]})
    user_set_password(user=user, new_password=new_password)
    return user
