"""Password reset by email. The request records an outbox intent; a worker sends the mail, so the
answer takes the same time whether or not the address has an account."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from diary.accounts.models import User
from diary.accounts.services import user_set_password
from diary.core.errors import DomainValidationError
from diary.outbox.routes import PASSWORD_RESET
from diary.outbox.services import outbox_enqueue


def password_reset_request(*, email: str) -> None:
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        return
    with transaction.atomic():
        outbox_enqueue(user_id=user.pk, topic=PASSWORD_RESET, payloads=[{}])


def reset_mail_send(user_id: int, payload: dict[str, Any]) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = f"{settings.PUBLIC_BASE_URL}/reset-password?uid={uid}&token={token}"
    send_mail(
        subject="Reset your spasm diary password",
        message=(
            "Someone asked to reset the password of this account. If it was you, open this link "
            f"within 3 days:\n\n{link}\n\nor enter these in the app:\nuid: {uid}\ntoken: {token}\n\n"
            "If it was not you, ignore this message; your password stays as it is."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    invalid = DomainValidationError({"token": ["this reset link is invalid or has expired"]})
    try:
        user_pk = int(force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError, OverflowError):
        raise invalid from None
    user = User.objects.filter(pk=user_pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        raise invalid
    user_set_password(user=user, new_password=new_password)
    return user
