from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone as dj_timezone
from django.utils.crypto import salted_hmac

from diary.sync.models import SyncState


def current_zone(*, device_timezone: str, timezone: str) -> str:
    """The zone a person is in now: their device's report, else their home zone (``User.current_timezone``;
    also for reads that select the two columns without the model)."""
    return device_timezone or timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("an email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        # Every account gets its sync sequence here, however it is made (registration, the admin,
        # createsuperuser, a script): its first write claims a stamp from it.
        self.sync_state_ensure(user)
        return user

    def sync_state_ensure(self, user: User) -> None:
        """The account's sync sequence, made if missing (the admin's add form saves rows itself)."""
        SyncState.objects.using(self._db).get_or_create(user=user)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("timezone", "UTC")
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who keeps a diary, or (with ``is_clinician``) a clinician who reviews shared ones."""

    email = models.EmailField(unique=True)
    display_name = models.CharField(max_length=120, blank=True)
    # The zone the person lives in, and the zone the device last reported (travel).
    timezone = models.CharField(max_length=64, default="UTC")
    home_timezone = models.CharField(max_length=64, blank=True)
    device_timezone = models.CharField(max_length=64, blank=True)
    wake_time = models.TimeField(default=dt.time(7, 0))
    sleep_time = models.TimeField(default=dt.time(22, 30))
    # Emailed when an urgent alert stays unacknowledged for 15 minutes (both or neither).
    emergency_contact_name = models.CharField(max_length=120, blank=True)
    emergency_contact_email = models.EmailField(blank=True)
    # Set only by an admin or `manage.py make_clinician`; never through the public API.
    is_clinician = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=dj_timezone.now)
    # Copied into every token and into the session hash; bumped by logout, a password change or reset
    # and an admin's authenticator reset: older tokens and web sessions are refused at once
    # (diary/accounts/revocation.py).
    token_epoch = models.PositiveIntegerField(default=0, editable=False)

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's session hash (checked on every request with a session) over the password AND the
        token epoch: whatever ends the account's tokens (logout, a new password, an admin's reset of
        the authenticator) ends its web sessions too, in every process, with no session scan."""
        key_salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.token_epoch}", secret=secret, algorithm="sha256"
        ).hexdigest()

    @property
    def current_timezone(self) -> str:
        return current_zone(device_timezone=self.device_timezone, timezone=self.timezone)

    @property
    def home_zone(self) -> str:
        return self.home_timezone or self.timezone


class TotpDevice(models.Model):
    """A clinician's authenticator app (RFC 6238 TOTP): the second factor for every clinician read."""

    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE, primary_key=True, related_name="totp")
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last 30-second step a code was accepted for: a code works once (no replay).
    last_step = models.BigIntegerField(default=0)
    # Re-enrolment (a new phone): the new secret waits here until a code from it confirms it, so the
    # old authenticator keeps working if the switch is abandoned.
    pending_secret = models.CharField(max_length=64, blank=True, default="")
    # Wrong codes in a row, and the time before which no code is checked at all (a growing wait):
    # kept in the database, on the row every check already locks, so a Redis outage cannot open it.
    failures = models.PositiveIntegerField(default=0)
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_totp_device"

    def __str__(self) -> str:
        return f"TOTP of {self.user_id}"
