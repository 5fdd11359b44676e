"""Push targets: register (idempotent on the token) and remove."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from diary.accounts.models import User
from diary.core.errors import DomainValidationError
from diary.notifications.delivery.registry import transport_for
from diary.notifications.models import Device
from diary.sync.sequence import new_uid

MAX_DEVICES = 20
_FCM_TOKEN = re.compile(r"^[A-Za-z0-9:_\-.]{16,4096}$")
_APNS_TOKEN = re.compile(r"^[0-9a-fA-F]{64,200}$")


def _b64url_len(value: object, expected: int) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+=*", value):
        return False
    try:
        return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) == expected
    except (binascii.Error, ValueError):
        return False


def _public_https(url: str) -> str | None:
    """Why a Web Push endpoint is unacceptable, or None. The server POSTs to it, so it must be an
    https URL on a public host (no requests into our own network), unless tests allow loopback."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "must be a URL"
    host = parts.hostname or ""
    if settings.PUSH_ALLOW_LOOPBACK_ENDPOINTS and host in ("127.0.0.1", "localhost", "::1"):
        return None if parts.scheme in ("http", "https") else "must be an http(s) URL"
    if parts.scheme != "https" or not host:
        return "must be an https URL"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "must not name a local host" if host == "localhost" or host.endswith(".local") else None
    return None if address.is_global else "must not point into a private network"


def _validate(data: Mapping[str, Any]) -> tuple[str, str, dict[str, str], str]:
    errors: dict[str, list[str]] = {}
    allowed = {"platform", "token", "keys", "label"}
    for key in sorted(set(data) - allowed):
        errors[key] = ["unknown field"]
    platform = data.get("platform")
    token = data.get("token")
    keys = data.get("keys") or {}
    label = data.get("label") or ""
    if platform not in Device.PLATFORMS:
        errors["platform"] = [f"must be one of {', '.join(Device.PLATFORMS)}"]
    elif transport_for(platform) is None:
        errors["platform"] = [f"{platform} push is not configured on this server"]
    if not isinstance(token, str) or not token:
        errors["token"] = ["this field is required (the push token, or the Web Push endpoint)"]
    elif platform == "fcm" and not _FCM_TOKEN.match(token):
        errors["token"] = ["is not an FCM registration token"]
    elif platform == "apns" and not _APNS_TOKEN.match(token):
        errors["token"] = ["is not an APNs device token (hexadecimal)"]
    elif platform == "webpush":
        problem = "is too long" if len(token) > 2048 else _public_https(token)
        if problem:
            errors["token"] = [problem]
    if not isinstance(keys, dict):
        errors["keys"] = ["must be an object"]
    elif platform == "webpush":
        if not _b64url_len(keys.get("p256dh"), 65):
            errors.setdefault("keys", []).append("p256dh must be the subscription's P-256 public key (base64url)")
        if not _b64url_len(keys.get("auth"), 16):
            errors.setdefault("keys", []).append("auth must be the subscription's 16-byte secret (base64url)")
    elif keys:
        errors["keys"] = [f"{platform} devices take no keys"]
    if not isinstance(label, str) or len(label) > 120:
        errors["label"] = ["must be text of at most 120 characters"]
    if errors:
        raise DomainValidationError(errors)
    assert isinstance(platform, str) and isinstance(token, str)
    clean_keys = {"p256dh": keys["p256dh"], "auth": keys["auth"]} if platform == "webpush" else {}
    return platform, token, clean_keys, label


def device_register(*, user: User, data: Mapping[str, Any]) -> tuple[Device, bool]:
    """Register a push target. The same token again refreshes it; a token another account
    registered moves to this one (the phone changed hands). Returns ``(device, created)``."""
    platform, token, keys, label = _validate(data)
    with transaction.atomic():
        existing = Device.objects.select_for_update().filter(platform=platform, token=token).first()
        if existing is not None and existing.user_id == user.pk:
            existing.keys, existing.active, existing.deactivated_at, existing.last_error = keys, True, None, ""
            existing.label = label or existing.label
            existing.save(update_fields=["keys", "active", "deactivated_at", "last_error", "label"])
            return existing, False
        if existing is not None:
            existing.delete()
        if Device.objects.filter(user_id=user.pk, active=True).count() >= MAX_DEVICES:
            raise DomainValidationError({"token": [f"at most {MAX_DEVICES} devices per person; remove one first"]})
        device = Device.objects.create(user=user, uid=new_uid(), platform=platform, token=token, keys=keys, label=label)
    return device, True


def device_delete(*, user: User, uid: str) -> None:
    deleted, _ = Device.objects.filter(user_id=user.pk, uid=uid).delete()
    if not deleted:
        raise Http404


def device_deactivate(*, device: Device, reason: str) -> None:
    Device.objects.filter(pk=device.pk, active=True).update(
        active=False, deactivated_at=timezone.now(), last_error=reason[:2000]
    )
