"""Firebase Cloud Messaging HTTP v1, authenticated with a service account (google-auth, OAuth JWT-bearer grant)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

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

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
DEFAULT_ENDPOINT = "https://fcm.googleapis.com"
_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


class FcmTransport:
    """POSTs ``messages:send`` with a bearer token that google-auth obtains (and refreshes) from ``token_uri``."""

    platform = "fcm"

    def __init__(
        self,
        credentials_file: str,
        project_id: str | None = None,
        endpoint: str | None = None,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        info = json.loads(Path(credentials_file).read_text())
        credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
        project = project_id or info.get("project_id")
        if not project:
            raise ValueError("FCM needs FCM_PROJECT_ID or a project_id in the service-account JSON")
        self.url = f"{(endpoint or DEFAULT_ENDPOINT).rstrip('/')}/v1/projects/{project}/messages:send"
        self._session = AuthorizedSession(credentials)
        self._timeout_s = timeout_s

    def send(self, target: PushTarget, message: PushMessage) -> None:
        try:
            response = self._session.post(self.url, json=build_message(target, message), timeout=self._timeout_s)
        except auth_exceptions.RefreshError as exc:
            why = "OAuth token service unavailable" if exc.retryable else "OAuth token refused (server configuration)"
            raise TransientPushError(f"fcm: {why}, device kept: {exc}") from exc
        except (auth_exceptions.TransportError, requests.RequestException) as exc:
            raise TransientPushError(f"fcm: network error: {exc}") from exc
        if response.status_code == 200:
            return
        raise _classify(response)

    def close(self) -> None:
        self._session.close()


def build_message(target: PushTarget, message: PushMessage) -> dict[str, Any]:
    """The HTTP v1 request body: notification for display, data (all strings) for the app, platform priorities."""
    return {
        "message": {
            "token": target.token,
            "notification": {"title": message.title, "body": message.body},
            "data": message.data_fields(),
            "android": {
                "priority": "high" if message.urgent else "normal",
                "ttl": f"{max(0, message.ttl_s)}s",
                "collapse_key": message.notification_id,
            },
            "apns": {"headers": {"apns-priority": "10" if message.urgent else "5"}},
        }
    }


def _classify(response: requests.Response) -> PermanentPushError | TransientPushError:
    error = json_body(response.text).get("error") or {}
    status = str(error.get("status", ""))
    text = str(error.get("message", ""))
    details = [d for d in error.get("details", []) if isinstance(d, dict)]
    codes = {str(d.get("errorCode")) for d in details if d.get("@type") == _FCM_ERROR}
    fields = {
        str(v.get("field"))
        for d in details
        if d.get("@type") == _BAD_REQUEST
        for v in d.get("fieldViolations", [])
        if isinstance(v, dict)
    }
    if response.status_code == 404 or "UNREGISTERED" in codes:
        return PermanentPushError(f"fcm: token unregistered (HTTP {response.status_code} {text})")
    invalid = response.status_code == 400 and ("INVALID_ARGUMENT" in codes or status == "INVALID_ARGUMENT")
    if invalid and ("message.token" in fields or "token" in text.lower()):
        return PermanentPushError(f"fcm: invalid registration token ({text})")
    detail = " ".join(filter(None, [status, *sorted(codes), text]))[:200]
    return status_error("fcm", response.status_code, detail, parse_retry_after(response.headers.get("Retry-After")))
