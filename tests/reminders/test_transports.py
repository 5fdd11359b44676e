"""The three push transports against real protocol servers on 127.0.0.1 (tests/support/pushservers.py).

Nothing is mocked: VAPID signing and aes128gcm encryption, the OAuth JWT-bearer grant and FCM HTTP v1, and APNs over
HTTP/2 + TLS with an ES256 provider token all happen for real, and the servers verify them.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from diary.notifications.delivery import registry
from diary.notifications.delivery.apns import ApnsTransport, ProviderToken
from diary.notifications.delivery.base import PermanentPushError, PushMessage, PushTarget, TransientPushError
from diary.notifications.delivery.fcm import FcmTransport
from diary.notifications.delivery.webpush import WebPushTransport, load_vapid_key
from tests.support.pushservers import (
    ApnsServer,
    FcmServer,
    TlsFiles,
    WebPushService,
    b64url,
    ec_public_raw,
    private_pem,
)

SUBJECT = "mailto:push@diary.example"
from tests.push_fixtures import KEY_ID, PROJECT, TEAM_ID, TOPIC  # noqa: E402

DEVICE = "a1" * 32

MESSAGE = PushMessage(
    notification_id="6f1c2b9e-3d4a-4c5b-9e8f-0a1b2c3d4e5f",
    kind="reminder",
    title="Time to stretch",
    body="Calves, 2 minutes",
    data={"reminder_id": "42", "scheduled_for": "2026-03-01T08:00:00Z"},
)
ALERT = PushMessage(notification_id="alert-7", kind="alert", title="Red flag", body="Call your doctor", urgent=True)


def refused_port() -> int:
    """A port with nothing listening: bound but never listen()ed, so connecting is refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


# --- Web Push ---------------------------------------------------------------------------------------------------


@pytest.fixture
def webpush(vapid_key: ec.EllipticCurvePrivateKey) -> Iterator[WebPushTransport]:
    transport = WebPushTransport(private_pem(vapid_key), SUBJECT)
    yield transport
    transport.close()


def test_webpush_delivers_the_encrypted_payload(
    push_service: WebPushService, webpush: WebPushTransport, vapid_key: ec.EllipticCurvePrivateKey
) -> None:
    sub = push_service.subscribe(application_server_key=ec_public_raw(vapid_key))
    webpush.send(PushTarget("webpush", sub.endpoint, sub.keys), MESSAGE)
    webpush.send(PushTarget("webpush", sub.endpoint, sub.keys), ALERT)

    first, second = [r for r in push_service.received if r.subscription_id == sub.id]
    assert first.payload == {
        "notification_id": MESSAGE.notification_id,
        "kind": "reminder",
        "title": "Time to stretch",
        "body": "Calves, 2 minutes",
        "data": {"reminder_id": "42", "scheduled_for": "2026-03-01T08:00:00Z"},
    }
    assert first.claims["aud"] == push_service.origin and first.claims["sub"] == SUBJECT
    assert first.claims["exp"] > time.time()
    assert first.headers["ttl"] == "3600" and first.headers["urgency"] == "normal"
    assert first.headers["topic"] == MESSAGE.notification_id.replace("-", "")
    assert second.payload["notification_id"] == "alert-7" and second.headers["urgency"] == "high"


@pytest.mark.parametrize(("status", "retry_after", "expected"), [(429, "7", 7.0), (503, None, None), (500, "1", 1.0)])
def test_webpush_service_trouble_is_transient(
    push_service: WebPushService, webpush: WebPushTransport, status: int, retry_after: str | None, expected: float
) -> None:
    sub = push_service.subscribe()
    push_service.fail(sub, status, retry_after)
    with pytest.raises(TransientPushError) as caught:
        webpush.send(PushTarget("webpush", sub.endpoint, sub.keys), MESSAGE)
    assert caught.value.retry_after == expected
    assert str(status) in str(caught.value)


@pytest.mark.parametrize("status", [404, 410])
def test_webpush_gone_subscription_is_permanent(
    push_service: WebPushService, webpush: WebPushTransport, status: int
) -> None:
    sub = push_service.subscribe()
    push_service.fail(sub, status)
    with pytest.raises(PermanentPushError):
        webpush.send(PushTarget("webpush", sub.endpoint, sub.keys), MESSAGE)
    assert not any(r.subscription_id == sub.id for r in push_service.received)


def test_webpush_unknown_endpoint_and_missing_keys_are_permanent(
    push_service: WebPushService, webpush: WebPushTransport
) -> None:
    sub = push_service.subscribe()
    with pytest.raises(PermanentPushError):  # the service answers 404 for a subscription it does not know
        webpush.send(PushTarget("webpush", f"{push_service.origin}/push/unknown", sub.keys), MESSAGE)
    with pytest.raises(PermanentPushError):
        webpush.send(PushTarget("webpush", sub.endpoint, {}), MESSAGE)


def test_webpush_wrong_vapid_key_is_a_server_problem_not_a_dead_device(
    push_service: WebPushService, webpush: WebPushTransport
) -> None:
    other_key = ec_public_raw(ec.generate_private_key(ec.SECP256R1()))
    sub = push_service.subscribe(application_server_key=other_key)
    with pytest.raises(TransientPushError, match="credentials"):
        webpush.send(PushTarget("webpush", sub.endpoint, sub.keys), MESSAGE)


def test_vapid_key_forms_all_load_the_same_key(
    vapid_key: ec.EllipticCurvePrivateKey, sa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    pem = private_pem(vapid_key)
    (tmp_path / "vapid.pem").write_text(pem)
    raw = b64url(vapid_key.private_numbers().private_value.to_bytes(32, "big"))
    for form in (pem, str(tmp_path / "vapid.pem"), raw):
        assert load_vapid_key(form).private_key.private_numbers() == vapid_key.private_numbers()
    with pytest.raises(ValueError, match="P-256"):
        load_vapid_key(private_pem(sa_key))  # an RSA key


def test_webpush_connection_refused_is_transient(push_service: WebPushService, webpush: WebPushTransport) -> None:
    sub = push_service.subscribe()
    endpoint = f"http://127.0.0.1:{refused_port()}/push/{sub.id}"
    with pytest.raises(TransientPushError, match="network"):
        webpush.send(PushTarget("webpush", endpoint, sub.keys), MESSAGE)


# --- FCM --------------------------------------------------------------------------------------------------------


@pytest.fixture
def fcm(fcm_server: FcmServer, fcm_credentials: str) -> Iterator[FcmTransport]:
    transport = FcmTransport(fcm_credentials, endpoint=fcm_server.origin)
    yield transport
    transport.close()


def test_fcm_sends_after_a_real_oauth_grant(fcm_server: FcmServer, fcm: FcmTransport) -> None:
    grants = fcm_server.token_requests
    fcm.send(PushTarget("fcm", "device-token-1"), MESSAGE)
    fcm.send(PushTarget("fcm", "device-token-2"), ALERT)

    assert fcm_server.token_requests == grants + 1  # one grant, reused for the second send
    first, second = fcm_server.messages[-2:]
    assert first["token"] == "device-token-1"
    assert first["notification"] == {"title": "Time to stretch", "body": "Calves, 2 minutes"}
    assert first["data"] == {
        "notification_id": MESSAGE.notification_id,
        "kind": "reminder",
        "reminder_id": "42",
        "scheduled_for": "2026-03-01T08:00:00Z",
    }
    assert first["android"] == {"priority": "normal", "ttl": "3600s", "collapse_key": MESSAGE.notification_id}
    assert second["data"]["notification_id"] == "alert-7"
    assert second["android"]["priority"] == "high" and second["apns"]["headers"]["apns-priority"] == "10"


def test_fcm_project_id_comes_from_the_service_account(fcm: FcmTransport, fcm_server: FcmServer) -> None:
    assert fcm.url == f"{fcm_server.origin}/v1/projects/{PROJECT}/messages:send"


def test_fcm_refreshes_a_revoked_access_token(fcm_server: FcmServer, fcm: FcmTransport) -> None:
    fcm.send(PushTarget("fcm", "before-revoke"), MESSAGE)
    grants = fcm_server.token_requests
    fcm_server.revoke_tokens()
    fcm.send(PushTarget("fcm", "after-revoke"), MESSAGE)  # 401, google-auth fetches a new token, sends again
    assert fcm_server.token_requests == grants + 1
    assert fcm_server.messages[-1]["token"] == "after-revoke"


@pytest.mark.parametrize(
    ("status", "api_status", "retry_after", "expected"),
    [(503, "UNAVAILABLE", "12", 12.0), (500, "INTERNAL", None, None), (429, "RESOURCE_EXHAUSTED", "30", 30.0)],
)
def test_fcm_service_trouble_is_transient(
    fcm_server: FcmServer, fcm: FcmTransport, status: int, api_status: str, retry_after: str | None, expected: float
) -> None:
    token = f"busy-{status}"
    fcm_server.fail(token, status, api_status, "try later", retry_after=retry_after)
    with pytest.raises(TransientPushError) as caught:
        fcm.send(PushTarget("fcm", token), MESSAGE)
    assert caught.value.retry_after == expected


def test_fcm_unregistered_token_is_permanent(fcm_server: FcmServer, fcm: FcmTransport) -> None:
    fcm_server.fail("gone", 404, "NOT_FOUND", "Requested entity was not found.", error_code="UNREGISTERED")
    with pytest.raises(PermanentPushError, match="unregistered"):
        fcm.send(PushTarget("fcm", "gone"), MESSAGE)


def test_fcm_invalid_token_is_permanent_but_other_bad_arguments_are_not(
    fcm_server: FcmServer, fcm: FcmTransport
) -> None:
    bad_token = "The registration token is not a valid FCM registration token"
    fcm_server.fail("garbled", 400, "INVALID_ARGUMENT", bad_token, error_code="INVALID_ARGUMENT")
    with pytest.raises(PermanentPushError, match="invalid registration token"):
        fcm.send(PushTarget("fcm", "garbled"), MESSAGE)

    fcm_server.fail("fine", 400, "INVALID_ARGUMENT", "Message too big", error_code="INVALID_ARGUMENT")
    with pytest.raises(TransientPushError, match="rejected"):
        fcm.send(PushTarget("fcm", "fine"), MESSAGE)


def test_fcm_refused_credentials_are_a_server_problem(fcm_server: FcmServer, tmp_path: Path) -> None:
    info = fcm_server.service_account_info(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    path = tmp_path / "wrong-key.json"
    path.write_text(json.dumps(info))
    transport = FcmTransport(str(path), endpoint=fcm_server.origin)
    with pytest.raises(TransientPushError, match="server configuration"):
        transport.send(PushTarget("fcm", "device-token-1"), MESSAGE)
    transport.close()


def test_fcm_unreachable_endpoint_is_transient(fcm_credentials: str) -> None:
    transport = FcmTransport(fcm_credentials, endpoint=f"http://127.0.0.1:{refused_port()}")
    # The token grant succeeds (token_uri is the live server); the send itself cannot connect.
    with pytest.raises(TransientPushError, match="network"):
        transport.send(PushTarget("fcm", "device-token-1"), MESSAGE)
    transport.close()


# --- APNs -------------------------------------------------------------------------------------------------------


@pytest.fixture
def apns(apns_server: ApnsServer, apns_files: tuple[TlsFiles, str]) -> Iterator[ApnsTransport]:
    tls, p8 = apns_files
    transport = ApnsTransport(p8, KEY_ID, TEAM_ID, TOPIC, host=apns_server.host, ca_file=tls.ca_file)
    yield transport
    transport.close()
    apns_server.expire_every_jwt = False


def test_apns_delivers_over_http2_with_a_provider_token(apns_server: ApnsServer, apns: ApnsTransport) -> None:
    apns.send(PushTarget("apns", DEVICE), MESSAGE)
    apns.send(PushTarget("apns", DEVICE), ALERT)

    first, second = apns_server.requests[-2:]
    assert first.alpn == "h2" and first.device_token == DEVICE
    assert first.payload == {
        "aps": {
            "alert": {"title": "Time to stretch", "body": "Calves, 2 minutes"},
            "sound": "default",
            "thread-id": "reminder",
            "interruption-level": "active",
        },
        "notification_id": MESSAGE.notification_id,
        "kind": "reminder",
        "data": {"reminder_id": "42", "scheduled_for": "2026-03-01T08:00:00Z"},
    }
    headers = first.headers
    assert headers["apns-topic"] == TOPIC and headers["apns-push-type"] == "alert"
    assert headers["apns-priority"] == "5" and headers["apns-collapse-id"] == MESSAGE.notification_id
    assert headers["apns-id"] == MESSAGE.notification_id
    assert time.time() + 3500 < int(headers["apns-expiration"]) <= time.time() + 3600
    assert second.headers["apns-priority"] == "10" and "apns-id" not in second.headers  # "alert-7" is no UUID
    assert second.payload["aps"]["interruption-level"] == "time-sensitive"
    assert second.headers["authorization"] == headers["authorization"]  # the provider token is cached


@pytest.mark.parametrize(
    ("status", "reason"), [(410, "Unregistered"), (400, "BadDeviceToken"), (400, "DeviceTokenNotForTopic")]
)
def test_apns_dead_token_is_permanent(apns_server: ApnsServer, apns: ApnsTransport, status: int, reason: str) -> None:
    token = f"{status:04d}" + reason.encode().hex()[:60]
    apns_server.fail(token, status, reason)
    with pytest.raises(PermanentPushError, match=reason):
        apns.send(PushTarget("apns", token), MESSAGE)


@pytest.mark.parametrize(
    ("status", "reason", "retry_after", "expected"),
    [
        (503, "ServiceUnavailable", "20", 20.0),
        (429, "TooManyRequests", None, None),
        (500, "InternalServerError", None, None),
    ],
)
def test_apns_service_trouble_is_transient(
    apns_server: ApnsServer, apns: ApnsTransport, status: int, reason: str, retry_after: str | None, expected: float
) -> None:
    token = f"{status:04d}" + "bb" * 32
    apns_server.fail(token, status, reason, retry_after)
    with pytest.raises(TransientPushError, match=reason) as caught:
        apns.send(PushTarget("apns", token), MESSAGE)
    assert caught.value.retry_after == expected


def test_apns_expired_provider_token_is_refreshed_once(apns_server: ApnsServer, apns: ApnsTransport) -> None:
    apns.send(PushTarget("apns", DEVICE), MESSAGE)
    apns_server.expire_seen_jwts()
    seen = len(apns_server.jwts)
    apns.send(PushTarget("apns", DEVICE), MESSAGE)
    rejected, accepted = apns_server.jwts[seen:]
    assert rejected != accepted and apns_server.requests[-1].headers["authorization"] == f"bearer {accepted}"

    apns_server.expire_every_jwt = True
    seen = len(apns_server.jwts)
    with pytest.raises(TransientPushError, match="ExpiredProviderToken"):
        apns.send(PushTarget("apns", DEVICE), MESSAGE)
    assert len(apns_server.jwts) == seen + 2  # one refresh, then give up


def test_provider_token_is_replaced_once_per_rejection(
    apns_key: ec.EllipticCurvePrivateKey, apns_files: tuple[TlsFiles, str]
) -> None:
    token = ProviderToken(Path(apns_files[1]).read_text(), KEY_ID, TEAM_ID)
    first = token.get()
    assert token.get() == first
    assert jwt.get_unverified_header(first)["kid"] == KEY_ID
    claims = jwt.decode(first, apns_key.public_key(), algorithms=["ES256"], issuer=TEAM_ID)
    assert set(claims) == {"iss", "iat"} and abs(claims["iat"] - time.time()) < 5
    second = token.get(rejected=first)
    assert second != first
    assert token.get(rejected=first) == second  # a concurrent send reporting the same rejection reuses the new one
    short_lived = ProviderToken(Path(apns_files[1]).read_text(), KEY_ID, TEAM_ID, lifetime_s=0)
    assert short_lived.get() != short_lived.get()  # past its lifetime a token is signed anew


def test_apns_rejects_a_malformed_token_without_sending(apns_server: ApnsServer, apns: ApnsTransport) -> None:
    seen = len(apns_server.jwts)
    with pytest.raises(PermanentPushError):
        apns.send(PushTarget("apns", "../../etc/passwd"), MESSAGE)
    assert len(apns_server.jwts) == seen


def test_apns_verifies_the_server_certificate(apns_server: ApnsServer, apns_files: tuple[TlsFiles, str]) -> None:
    transport = ApnsTransport(apns_files[1], KEY_ID, TEAM_ID, TOPIC, host=apns_server.host)  # no test CA
    with pytest.raises(TransientPushError, match="network"):
        transport.send(PushTarget("apns", DEVICE), MESSAGE)
    transport.close()


def test_apns_wrong_key_id_is_a_server_problem(apns_server: ApnsServer, apns_files: tuple[TlsFiles, str]) -> None:
    tls, p8 = apns_files
    transport = ApnsTransport(p8, "WRONGKEYID", TEAM_ID, TOPIC, host=apns_server.host, ca_file=tls.ca_file)
    with pytest.raises(TransientPushError, match="InvalidProviderToken"):
        transport.send(PushTarget("apns", DEVICE), MESSAGE)
    transport.close()


# --- registry ---------------------------------------------------------------------------------------------------

UNSET: dict[str, Any] = dict.fromkeys(
    [
        "VAPID_PRIVATE_KEY",
        "VAPID_SUBJECT",
        "FCM_CREDENTIALS_FILE",
        "FCM_PROJECT_ID",
        "FCM_ENDPOINT",
        "APNS_KEY_FILE",
        "APNS_KEY_ID",
        "APNS_TEAM_ID",
        "APNS_TOPIC",
        "APNS_USE_SANDBOX",
        "APNS_HOST",
        "APNS_CA_FILE",
    ]
)


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    registry.reset()
    yield
    registry.reset()


@pytest.mark.usefixtures("fresh_registry")
def test_registry_builds_only_complete_platforms(
    vapid_key: ec.EllipticCurvePrivateKey, fcm_credentials: str, apns_files: tuple[TlsFiles, str]
) -> None:
    with override_settings(**UNSET):
        assert registry.configured_transports() == {}
        assert registry.transport_for("webpush") is None

    raw_vapid = b64url(vapid_key.private_numbers().private_value.to_bytes(32, "big"))  # the base64url raw form
    webpush_only = {**UNSET, "VAPID_PRIVATE_KEY": raw_vapid, "VAPID_SUBJECT": SUBJECT, "APNS_KEY_ID": KEY_ID}
    registry.reset()
    with override_settings(**webpush_only):
        assert set(registry.configured_transports()) == {"webpush"}
        assert registry.transport_for("webpush") is registry.transport_for("webpush")  # cached
        assert registry.transport_for("apns") is None  # a key id alone is not an APNs configuration

    everything = {
        **webpush_only,
        "FCM_CREDENTIALS_FILE": fcm_credentials,
        "APNS_KEY_FILE": apns_files[1],
        "APNS_TEAM_ID": TEAM_ID,
        "APNS_TOPIC": TOPIC,
        "APNS_USE_SANDBOX": True,
    }
    registry.reset()
    with override_settings(**everything):
        transports = registry.configured_transports()
        assert set(transports) == {"webpush", "fcm", "apns"}
        assert all(t.platform == name for name, t in transports.items())
        apns = transports["apns"]
        assert isinstance(apns, ApnsTransport) and apns.base_url == "https://api.sandbox.push.apple.com"
        fcm = transports["fcm"]
        assert isinstance(fcm, FcmTransport) and fcm.url.startswith("https://fcm.googleapis.com/v1/projects/")


@pytest.mark.usefixtures("fresh_registry")
def test_registry_refuses_settings_that_cannot_work(tmp_path: Path) -> None:
    missing_file = {**UNSET, "FCM_CREDENTIALS_FILE": str(tmp_path / "missing.json")}
    with override_settings(**missing_file), pytest.raises(ImproperlyConfigured, match="fcm"):
        registry.configured_transports()
    registry.reset()
    bad_key = {**UNSET, "VAPID_PRIVATE_KEY": "not a key", "VAPID_SUBJECT": SUBJECT}
    with override_settings(**bad_key), pytest.raises(ImproperlyConfigured, match="webpush"):
        registry.configured_transports()
