"""A Web Push service (RFC 8030) on loopback: verifies the VAPID JWT (ES256, aud, exp, sub) against the key ``k``
and the subscription's application server key, and decrypts the aes128gcm body with the subscription's private key.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.pushservers.base import Failure, HttpServer, b64url, b64url_decode, ec_public_raw, retry_after


@dataclass
class Subscription:
    """What a browser's PushManager.subscribe() returns, plus the private half the browser keeps."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: bytes | None

    @property
    def keys(self) -> dict[str, str]:
        return {"p256dh": b64url(ec_public_raw(self.private_key)), "auth": b64url(self.auth)}


@dataclass(frozen=True)
class ReceivedPush:
    subscription_id: str
    headers: dict[str, str]
    claims: dict[str, Any]
    payload: dict[str, Any]


class WebPushService(HttpServer):
    def __init__(self) -> None:
        super().__init__()
        self.subscriptions: dict[str, Subscription] = {}
        self.failures: dict[str, Failure] = {}
        self.received: list[ReceivedPush] = []

    def subscribe(self, application_server_key: bytes | None = None) -> Subscription:
        """A new subscription; with an application server key, only that VAPID key may push to it."""
        sub_id = secrets.token_urlsafe(12)
        sub = Subscription(
            id=sub_id,
            endpoint=f"{self.origin}/push/{sub_id}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=os.urandom(16),
            application_server_key=application_server_key,
        )
        self.subscriptions[sub_id] = sub
        return sub

    def fail(self, subscription: Subscription, status: int, retry_after: str | None = None) -> None:
        self.failures[subscription.id] = Failure(status, retry_after)

    def handle_post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        sub = self.subscriptions.get(path.removeprefix("/push/"))
        if not path.startswith("/push/") or sub is None:
            return 404, {}, {"reason": "no such subscription"}
        try:
            claims = self._verify_vapid(headers.get("authorization", ""), sub)
        except (ValueError, jwt.PyJWTError) as exc:
            return 403, {}, {"reason": f"VAPID: {exc}"}
        if (failure := self.failures.get(sub.id)) is not None:
            return failure.status, retry_after(failure), {"reason": "scripted"}
        if headers.get("content-encoding") != "aes128gcm" or "ttl" not in headers:
            return 400, {}, {"reason": "needs Content-Encoding: aes128gcm and TTL"}
        try:
            plain = http_ece.decrypt(body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm")
        except (http_ece.ECEException, ValueError) as exc:
            return 400, {}, {"reason": f"cannot decrypt: {exc}"}
        with self.lock:
            self.received.append(ReceivedPush(sub.id, headers, claims, json.loads(plain)))
        return 201, {"Location": f"{self.origin}/message/{secrets.token_urlsafe(8)}"}, None

    def _verify_vapid(self, authorization: str, sub: Subscription) -> dict[str, Any]:
        scheme, _, params = authorization.partition(" ")
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        if scheme.lower() != "vapid" or not {"t", "k"} <= parts.keys():
            raise ValueError("expected 'vapid t=<jwt>,k=<key>'")
        raw_key = b64url_decode(parts["k"])
        if sub.application_server_key is not None and raw_key != sub.application_server_key:
            raise ValueError("k is not the subscription's application server key")
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)
        claims: dict[str, Any] = jwt.decode(
            parts["t"], public_key, algorithms=["ES256"], audience=self.origin, options={"require": ["exp", "sub"]}
        )
        if claims["exp"] > time.time() + 24 * 3600:
            raise ValueError("exp more than 24 hours ahead")
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            raise ValueError("sub is not a mailto: or https: URL")
        return claims
