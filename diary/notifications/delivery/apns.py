"""Apple Push Notification service over HTTP/2 with token-based (.p8, ES256 JWT) provider authentication."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from diary.notifications.delivery.base import (
    TIMEOUT_S,
    PermanentPushError,
    PushMessage,
    PushTarget,
    TransientPushError,
    json_body,
    parse_retry_after,
    status_error,
)

PRODUCTION_HOST = "api.push.apple.com"
SANDBOX_HOST = "api.sandbox.push.apple.com"
TOKEN_LIFETIME_S = 50 * 60  # Apple refuses tokens older than an hour and refreshes more often than every 20 minutes
_DEVICE_TOKEN = re.compile(r"^[0-9A-Fa-f]{16,200}$")
_DEAD_REASONS = {"Unregistered", "ExpiredToken", "BadDeviceToken", "DeviceTokenNotForTopic"}


class ProviderToken:
    """The ES256 provider JWT (header kid, claims iss/iat), signed once and reused for ``lifetime_s``."""

    def __init__(self, key_pem: str, key_id: str, team_id: str, lifetime_s: float = TOKEN_LIFETIME_S) -> None:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("the APNs key (.p8) must be an EC P-256 private key")
        self._key = key
        self._key_id = key_id
        self._team_id = team_id
        self._lifetime_s = lifetime_s
        self._lock = threading.Lock()
        self._token = ""  # nosec B105
        self._issued = 0.0

    def get(self, *, rejected: str | None = None) -> str:
        """The current token; a new one when it is old, or when it is the one APNs just called expired.

        Several sends may see the same token rejected at once: only the first replaces it, so the provider token
        is not updated more often than Apple allows.
        """
        with self._lock:
            now = time.time()
            if not self._token or now - self._issued >= self._lifetime_s or self._token == rejected:
                claims = {"iss": self._team_id, "iat": int(now)}
                self._token = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self._key_id})
                self._issued = now
            return self._token


class ApnsTransport:
    """POSTs ``/3/device/<token>`` over one reused HTTP/2 connection."""

    platform = "apns"

    def __init__(
        self,
        key_file: str,
        key_id: str,
        team_id: str,
        topic: str,
        *,
        use_sandbox: bool = False,
        host: str | None = None,
        ca_file: str | None = None,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.topic = topic
        self.base_url = f"https://{host or (SANDBOX_HOST if use_sandbox else PRODUCTION_HOST)}"
        self.token = ProviderToken(Path(key_file).read_text(), key_id, team_id)
        tls = httpx.create_ssl_context()
        if ca_file:
            tls.load_verify_locations(cafile=ca_file)
        self._client = httpx.Client(http1=False, http2=True, verify=tls, timeout=timeout_s)

    def send(self, target: PushTarget, message: PushMessage) -> None:
        if not _DEVICE_TOKEN.match(target.token):
            raise PermanentPushError("apns: device token is not hex")
        body = json.dumps(build_payload(message), separators=(",", ":")).encode()
        provider_token = self.token.get()
        response = self._post(target.token, body, message, provider_token)
        if response.status_code == 403 and _reason(response) == "ExpiredProviderToken":
            response = self._post(target.token, body, message, self.token.get(rejected=provider_token))
        if response.status_code == 200:
            return
        raise _classify(response)

    def _post(self, device_token: str, body: bytes, message: PushMessage, provider_token: str) -> httpx.Response:
        headers = {
            "authorization": f"bearer {provider_token}",
            "apns-topic": self.topic,
            "apns-push-type": "alert",
            "apns-priority": "10" if message.urgent else "5",
            "apns-expiration": str(int(time.time()) + message.ttl_s if message.ttl_s > 0 else 0),
            "apns-collapse-id": message.notification_id[:64],
            "content-type": "application/json",
        }
        if _is_uuid(message.notification_id):
            headers["apns-id"] = message.notification_id
        try:
            return self._client.post(f"{self.base_url}/3/device/{device_token}", content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientPushError(f"apns: network error: {exc!r}") from exc

    def close(self) -> None:
        self._client.close()


def build_payload(message: PushMessage) -> dict[str, Any]:
    """The aps dictionary for display plus notification_id, kind and data for the app."""
    aps = {
        "alert": {"title": message.title, "body": message.body},
        "sound": "default",
        "thread-id": message.kind,
        "interruption-level": "time-sensitive" if message.urgent else "active",
    }
    return {"aps": aps, "notification_id": message.notification_id, "kind": message.kind, "data": dict(message.data)}


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _reason(response: httpx.Response) -> str:
    return str(json_body(response.text).get("reason", ""))


def _classify(response: httpx.Response) -> PermanentPushError | TransientPushError:
    reason = _reason(response)
    if response.status_code == 410 or reason in _DEAD_REASONS:
        return PermanentPushError(f"apns: device token dead (HTTP {response.status_code} {reason})")
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return status_error("apns", response.status_code, reason, retry_after)
