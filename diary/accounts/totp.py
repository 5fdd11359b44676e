"""The clinician's second factor: enrol an authenticator app, then check a code per sign-in.

Every check is throttled per account: after ``FREE_TRIES`` wrong codes in a row no code is checked at
all (a right one is refused too) until a wait that doubles with each further wrong code, up to
``MAX_WAIT``. The count lives on the device row that each check already locks (``select_for_update``),
not in Redis: the cache here fails open when Redis is down, which for a six-digit code would hand an
attacker unlimited guesses; the row lock also makes parallel guesses count one by one. With these
numbers a guesser gets about 30 tries a day against a code space of 10^6 (3 codes valid at a time).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass

import pyotp
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from diary.accounts.models import TotpDevice, User

ISSUER = "Spasm diary"
STEP = 30
FREE_TRIES = 5  # wrong codes in a row before the first wait
FIRST_WAIT = 30  # seconds after the FREE_TRIES-th wrong code; doubles with each further one
MAX_WAIT = 3600
log = logging.getLogger(__name__)
# The web session remembers the clinician who passed the second factor in it (cycled on success).
SESSION_KEY = "totp_user"


@dataclass(frozen=True)
class TotpOutcome:
    """``ok``: the code matched. ``retry_after`` > 0: the account is waiting (no code was checked, or
    this wrong code started the wait); say only that and when to try again."""

    ok: bool
    retry_after: int = 0


def wait_after(failures: int) -> int:
    """Seconds to wait after ``failures`` wrong codes in a row: none for the first few, then doubling."""
    if failures < FREE_TRIES:
        return 0
    return min(FIRST_WAIT * 2 ** min(failures - FREE_TRIES, 20), MAX_WAIT)


def totp_device(*, user: User) -> TotpDevice:
    """The person's device, created (unconfirmed, with a fresh secret) on first use."""
    device, _ = TotpDevice.objects.get_or_create(user=user, defaults={"secret": pyotp.random_base32()})
    return device


def totp_enrolled(*, user: User) -> bool:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def totp_uri(device: TotpDevice, user: User, *, secret: str | None = None) -> str:
    return pyotp.TOTP(secret or device.secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def totp_enrol(*, user: User) -> str:
    """The secret to put in an authenticator app. Not yet enrolled: the device's own (unconfirmed)
    secret, as the web page shows it. Enrolled: a new pending secret that replaces the old one only
    once a code from it is confirmed (``totp_attempt(pending=True)``); callers ask for a current code
    from the old one first."""
    device = totp_device(user=user)
    if device.confirmed_at is None:
        return device.secret
    device.pending_secret = pyotp.random_base32()
    device.save(update_fields=["pending_secret"])
    return device.pending_secret


def _matching_step(secret: str, code: str, after: int, now: float) -> int | None:
    """The step (current or one either side) ``code`` belongs to, if later than ``after`` (no replay)."""
    code = "".join(ch for ch in str(code) if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    for offset in (-1, 0, 1):
        step = int(now) // STEP + offset
        if step > after and totp.at(step * STEP) == code:
            return step
    return None


def totp_attempt(*, user: User, code: str, pending: bool = False) -> TotpOutcome:
    """Check ``code`` once, throttled per account; confirms a new device (or, with ``pending``, swaps
    in the re-enrolment secret). A code works once: its step must be later than the last accepted."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None:
            return TotpOutcome(ok=False)
        now = timezone.now()
        if device.blocked_until is not None and now < device.blocked_until:
            return TotpOutcome(ok=False, retry_after=math.ceil((device.blocked_until - now).total_seconds()))
        secret = device.pending_secret if pending else device.secret
        step = _matching_step(secret, code, device.last_step, now.timestamp()) if secret else None
        if step is None:
            device.failures += 1
            wait = wait_after(device.failures)
            device.blocked_until = now + dt.timedelta(seconds=wait) if wait else None
            device.save(update_fields=["failures", "blocked_until"])
            if wait:  # someone holding the password is guessing codes: worth an alert in the logs
                log.warning("totp wait", extra={"user_id": user.pk, "failures": device.failures, "wait_s": wait})
            return TotpOutcome(ok=False, retry_after=wait)
        device.last_step, device.failures, device.blocked_until = step, 0, None
        if pending:
            device.secret, device.pending_secret, device.confirmed_at = device.pending_secret, "", now
        elif device.confirmed_at is None:
            device.confirmed_at = now
        device.save(update_fields=["last_step", "failures", "blocked_until", "secret", "pending_secret",
                                   "confirmed_at"])  # fmt: skip
        return TotpOutcome(ok=True)


def totp_check(*, user: User, code: str) -> bool:
    """``totp_attempt`` as a yes or no (a waiting account answers no)."""
    return totp_attempt(user=user, code=code).ok


def wait_text(seconds: int) -> str:
    """The one message a waiting account sees, on the page and in the API: nothing about the code."""
    minutes = math.ceil(seconds / 60)
    when = f"{seconds} seconds" if seconds < 120 else f"{minutes} minutes"
    return f"Too many wrong codes. For your safety, try again in {when}."


def session_passed_totp(request: HttpRequest, user: User) -> bool:
    """This web session passed the second factor for ``user`` (set by the /clinician/2fa/ page)."""
    session = getattr(request, "session", None)
    return session is not None and session.get(SESSION_KEY) == user.pk
