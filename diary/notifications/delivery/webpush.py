"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291), via pywebpush."""

from __future__ import annotations

import json
import os
import re

import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid, VapidException
from pywebpush import WebPushException, webpush

from diary.notifications.delivery.base import (
    TIMEOUT_S,
    PermanentPushError,
    PushMessage,
    PushTarget,
    TransientPushError,
    parse_retry_after,
    status_error,
)

_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # RFC 8030 Topic: at most 32 base64url characters


def load_vapid_key(value: str) -> Vapid:
    """A VAPID key from a PEM string, a path to a PEM/DER file, or a base64url raw (32-byte) or DER key.

    Raises ValueError for anything that is not a P-256 private key.
    """
    value = value.strip()
    try:
        if "-----BEGIN" in value:
            vapid = Vapid.from_pem(value.encode())
        elif os.path.isfile(value):
            vapid = Vapid.from_file(private_key_file=value)
        else:
            vapid = Vapid.from_string(private_key=value)
    except (VapidException, UnsupportedAlgorithm, ValueError, TypeError) as exc:
        raise ValueError(f"VAPID_PRIVATE_KEY is not a usable key: {exc}") from exc
    key = vapid.private_key
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("VAPID_PRIVATE_KEY must be an EC P-256 private key")
    return vapid


def _topic(notification_id: str) -> str | None:
    """A Topic header from the notification id (a UUID without dashes fits), so a resend replaces a queued copy."""
    candidate = notification_id.replace("-", "")
    return candidate if _TOPIC.match(candidate) else None


class WebPushTransport:
    """Encrypts the JSON payload for the subscription and POSTs it to the subscription's endpoint."""

    platform = "webpush"

    def __init__(self, private_key: str, subject: str, timeout_s: float = TIMEOUT_S) -> None:
        self._vapid = load_vapid_key(private_key)
        try:  # fail at start-up, not at the first send, on a subject py_vapid will refuse
            self._vapid.sign({"sub": subject, "aud": "https://push.example"})
        except VapidException as exc:
            raise ValueError(f"VAPID_SUBJECT must be a mailto: address or an https: URL: {exc}") from exc
        self._subject = subject
        self._timeout_s = timeout_s
        self._session = requests.Session()

    def send(self, target: PushTarget, message: PushMessage) -> None:
        if not target.keys.get("p256dh") or not target.keys.get("auth"):
            raise PermanentPushError("webpush: subscription has no p256dh/auth keys")
        headers: dict[str, str | int | float] = {"Urgency": "high" if message.urgent else "normal"}
        if topic := _topic(message.notification_id):
            headers["Topic"] = topic
        try:
            webpush(
                subscription_info={"endpoint": target.token, "keys": dict(target.keys)},
                data=json.dumps(message.payload(), separators=(",", ":")),
                vapid_private_key=self._vapid,
                # A fresh dict each time: pywebpush writes aud (the endpoint's origin) and exp into it.
                vapid_claims={"sub": self._subject},
                ttl=message.ttl_s,
                headers=headers,
                timeout=self._timeout_s,
                requests_session=self._session,
            )
        except WebPushException as exc:
            raise _classify(exc) from exc
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as exc:
            raise PermanentPushError(f"webpush: unusable endpoint: {exc}") from exc
        except requests.RequestException as exc:
            raise TransientPushError(f"webpush: network error: {exc}") from exc
        except (ValueError, TypeError) as exc:  # undecodable or off-curve p256dh/auth keys
            raise PermanentPushError(f"webpush: unusable subscription keys: {exc}") from exc

    def close(self) -> None:
        self._session.close()


def _classify(exc: WebPushException) -> PermanentPushError | TransientPushError:
    status = exc.status_code
    if status is None:  # raised before any request: a malformed subscription
        return PermanentPushError(f"webpush: unusable subscription: {exc.message}")
    if status in (404, 410):
        return PermanentPushError(f"webpush: subscription gone (HTTP {status})")
    detail = (getattr(exc.response, "text", "") or "")[:200]
    return status_error("webpush", status, detail, parse_retry_after(exc.retry_after))
