"""FCM HTTP v1 on loopback: an OAuth token endpoint (JWT-bearer grant signed with the service account's RSA key)
and ``/v1/projects/<p>/messages:send``, which only accepts the access tokens it issued.
"""

from __future__ import annotations

import json
import secrets
import urllib.parse
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.pushservers.base import Failure, HttpServer, private_pem, retry_after

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # google-auth puts Google's URL in aud, not token_uri
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


class FcmServer(HttpServer):
    def __init__(self, *, project_id: str, client_email: str, public_key: rsa.RSAPublicKey) -> None:
        super().__init__()
        self.project_id = project_id
        self.client_email = client_email
        self.public_key = public_key
        self.token_uri = f"{self.origin}/token"
        self.access_tokens: set[str] = set()
        self.token_requests = 0
        self.failures: dict[str, Failure] = {}
        self.messages: list[dict[str, Any]] = []

    def service_account_info(self, private_key: rsa.RSAPrivateKey) -> dict[str, str]:
        """A service-account JSON document whose token_uri is this server."""
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": "test-key-1",
            "private_key": private_pem(private_key),
            "client_email": self.client_email,
            "client_id": "1234567890",
            "token_uri": self.token_uri,
        }

    def revoke_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()

    def fail(
        self,
        token: str,
        status: int,
        api_status: str,
        message: str,
        *,
        error_code: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}]
        error = {"code": status, "message": message, "status": api_status, "details": details if error_code else []}
        self.failures[token] = Failure(status, retry_after, {"error": error})

    def handle_post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        if path == "/token":
            return self._token(urllib.parse.parse_qs(body.decode()))
        if path == f"/v1/projects/{self.project_id}/messages:send":
            return self._send(headers.get("authorization", ""), json.loads(body))
        return 404, {}, {"error": {"code": 404, "status": "NOT_FOUND", "message": f"no route {path}"}}

    def _token(self, form: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            self.token_requests += 1
        if form.get("grant_type") != [JWT_BEARER] or len(form.get("assertion", [])) != 1:
            return 400, {}, {"error": "unsupported_grant_type"}
        try:
            claims = jwt.decode(
                form["assertion"][0],
                self.public_key,
                algorithms=["RS256"],
                audience=GOOGLE_TOKEN_AUDIENCE,
                issuer=self.client_email,
                options={"require": ["iat", "exp", "iss", "aud", "scope"]},
            )
        except jwt.PyJWTError as exc:
            return 400, {}, {"error": "invalid_grant", "error_description": f"Invalid JWT: {exc}"}
        if FCM_SCOPE not in str(claims["scope"]).split():
            return 400, {}, {"error": "invalid_scope"}
        token = f"ya29.{secrets.token_urlsafe(24)}"
        with self.lock:
            self.access_tokens.add(token)
        return 200, {}, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _send(self, authorization: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or token not in self.access_tokens:
            error = {"code": 401, "status": "UNAUTHENTICATED", "message": "Request had invalid authentication"}
            return 401, {}, {"error": error}
        message = body["message"]
        if not all(isinstance(v, str) for v in message.get("data", {}).values()):
            error = {"code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid value at 'message.data'"}
            return 400, {}, {"error": error}
        if (failure := self.failures.get(message["token"])) is not None:
            return failure.status, retry_after(failure), failure.body
        with self.lock:
            self.messages.append(message)
        return 200, {}, {"name": f"projects/{self.project_id}/messages/{secrets.randbelow(10**12)}"}
