"""The clinician's second factor: enrol an authenticator app, then verify a code per web session."""

from __future__ import annotations

import time

import pyotp
from django.db import transaction
from django.utils import timezone

from diary.accounts.models import TotpDevice, User

ISSUER = "Spasm diary"
STEP = 30


def totp_device(*, user: User) -> TotpDevice:
    """The person's device, created (unconfirmed, with a fresh secret) on first use."""
    device, _ = TotpDevice.objects.get_or_create(user=user, defaults={"secret": pyotp.random_base32()})
    return device


def totp_uri(device: TotpDevice, user: User) -> str:
    return pyotp.TOTP(device.secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def totp_check(*, user: User, code: str) -> bool:
    """Accept a 6-digit code from the current step or one either side, once; confirms a new device."""
    code = "".join(ch for ch in str(code) if ch.isdigit())
    if len(code) != 6:
        return False
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None:
            return False
        totp = pyotp.TOTP(device.secret)
        now = int(time.time())
        for offset in (-1, 0, 1):
            step = now // STEP + offset
            if step > device.last_step and totp.at(step * STEP) == code:
                device.last_step = step
                if device.confirmed_at is None:
                    device.confirmed_at = timezone.now()
                device.save(update_fields=["last_step", "confirmed_at"])
                return True
    return False
