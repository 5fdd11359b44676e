"""Account writes: registration, profile changes, passwords, the clinician flag."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from diary.accounts.models import TotpDevice, User
from diary.accounts.revocation import user_end_tokens
from diary.core.errors import DomainValidationError
from diary.outbox.routes import ACCOUNT_CLINICIAN, ACCOUNT_REGISTERED, ACCOUNT_SCHEDULE_CHANGED
from diary.outbox.services import topic_run
from diary.sync.registry import SYNCED


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise DomainValidationError({"password": list(exc.messages)}) from None


@transaction.atomic
def user_register(
    *,
    email: str,
    password: str,
    timezone: str,
    home_timezone: str = "",
    wake_time: dt.time | None = None,
    sleep_time: dt.time | None = None,
    display_name: str = "",
    default_reminders: bool = True,
) -> User:
    """A new person with their sync sequence (starting at 1) and, unless told otherwise, the
    default reminders (water while awake, an evening stretch). Never a clinician."""
    email = User.objects.normalize_email(email).strip().lower()
    probe = User(email=email, display_name=display_name)
    _check_password(password, probe)
    extra: dict[str, Any] = {}
    if wake_time is not None:
        extra["wake_time"] = wake_time
    if sleep_time is not None:
        extra["sleep_time"] = sleep_time
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email, password, timezone=timezone, home_timezone=home_timezone, display_name=display_name, **extra
            )
    except IntegrityError:
        raise DomainValidationError({"email": ["an account with this email already exists"]}) from None
    topic_run(user_id=user.pk, topic=ACCOUNT_REGISTERED, payload={"defaults": default_reminders})
    return user


_SCHEDULE_INPUTS = frozenset({"timezone", "home_timezone", "device_timezone", "wake_time", "sleep_time"})


def user_update_profile(*, user: User, changes: dict[str, Any]) -> User:
    allowed = {
        "display_name", "timezone", "home_timezone", "device_timezone", "wake_time", "sleep_time",
        "emergency_contact_name", "emergency_contact_email",
    }  # fmt: skip
    unknown = set(changes) - allowed
    if unknown:
        raise DomainValidationError({k: ["cannot be changed here"] for k in sorted(unknown)})
    for key, value in changes.items():
        setattr(user, key, value)
    if changes:
        with transaction.atomic():
            user.save(update_fields=sorted(changes))
            if changes.keys() & _SCHEDULE_INPUTS:  # reminders follow the person's zone and waking hours
                topic_run(user_id=user.pk, topic=ACCOUNT_SCHEDULE_CHANGED, payload={})
    return user


def user_revoke_refresh_tokens(*, user: User) -> int:
    """Blacklist every refresh token the person holds (logout everywhere)."""
    tokens = list(OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False))
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in tokens], ignore_conflicts=True)
    return len(tokens)


@transaction.atomic
def user_set_password(*, user: User, new_password: str) -> None:
    """A new password ends every token made before it, access tokens included (the epoch)."""
    _check_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_revoke_refresh_tokens(user=user)
    user_end_tokens(user_id=user.pk)
    user.refresh_from_db(fields=["token_epoch"])


def user_keeps_diary(user: User) -> bool:
    """The account has episodes or check-ins: it must not become a clinician by accident."""
    return any(SYNCED[name].model._default_manager.filter(user=user).exists() for name in ("episodes", "checkins"))


def user_make_clinician(*, user: User, allow_diary: bool = False) -> User:
    """Set the clinician flag. Refuses an account that keeps a diary unless told otherwise, so a
    person is never both patient and clinician by accident (the admin obeys the same rule)."""
    if not allow_diary and user_keeps_diary(user):
        raise DomainValidationError(
            {"email": [f"{user.email} keeps a diary; use a separate clinician account (or --allow-diary)"]}
        )
    with transaction.atomic():
        user.is_clinician = True
        user.save(update_fields=["is_clinician"])
        topic_run(user_id=user.pk, topic=ACCOUNT_CLINICIAN, payload={})  # e.g. no water or stretch reminders
    return user


def user_totp_reset(*, user: User) -> bool:
    """A clinician lost their authenticator: forget it (they enrol again at their next sign-in) and
    end every token they hold. Returns whether there was one."""
    with transaction.atomic():
        removed, _ = TotpDevice.objects.filter(user=user).delete()
        user_end_tokens(user_id=user.pk)
    return bool(removed)
