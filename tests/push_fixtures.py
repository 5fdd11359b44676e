"""The loopback push services (Web Push, FCM, APNs) shared by the transport and delivery tests."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.pushservers import (
    ApnsServer,
    FcmServer,
    TlsFiles,
    WebPushService,
    make_tls_files,
    private_pem,
)

PROJECT = "diary-test"
CLIENT_EMAIL = f"pusher@{PROJECT}.iam.gserviceaccount.com"
KEY_ID, TEAM_ID, TOPIC = "ABC123DEFG", "TEAM123456", "com.example.diary"


@pytest.fixture(scope="module")
def vapid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def push_service() -> Iterator[WebPushService]:
    service = WebPushService()
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def sa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def fcm_server(sa_key: rsa.RSAPrivateKey) -> Iterator[FcmServer]:
    server = FcmServer(project_id=PROJECT, client_email=CLIENT_EMAIL, public_key=sa_key.public_key())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fcm_credentials(fcm_server: FcmServer, sa_key: rsa.RSAPrivateKey, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("fcm") / "service-account.json"
    path.write_text(json.dumps(fcm_server.service_account_info(sa_key)))
    return str(path)


@pytest.fixture(scope="module")
def apns_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def apns_files(apns_key: ec.EllipticCurvePrivateKey, tmp_path_factory: pytest.TempPathFactory) -> tuple[TlsFiles, str]:
    directory = tmp_path_factory.mktemp("apns")
    p8 = directory / f"AuthKey_{KEY_ID}.p8"
    p8.write_text(private_pem(apns_key))
    return make_tls_files(directory), str(p8)


@pytest.fixture(scope="module")
def apns_server(apns_key: ec.EllipticCurvePrivateKey, apns_files: tuple[TlsFiles, str]) -> Iterator[ApnsServer]:
    server = ApnsServer(apns_files[0], public_key=apns_key.public_key(), key_id=KEY_ID, team_id=TEAM_ID, topic=TOPIC)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def webpush_on(vapid_key: ec.EllipticCurvePrivateKey) -> Iterator[None]:
    """The server configured for Web Push (VAPID) and allowed to reach the loopback push service."""
    from django.test import override_settings

    from diary.notifications.delivery import registry

    with override_settings(
        VAPID_PRIVATE_KEY=private_pem(vapid_key), VAPID_SUBJECT="mailto:ops@example.com",
        PUSH_ALLOW_LOOPBACK_ENDPOINTS=True,
    ):  # fmt: skip
        registry.reset()
        yield
    registry.reset()
