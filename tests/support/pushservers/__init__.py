"""Real push services on 127.0.0.1 for the transport tests: they check the protocol the way the real ones do.

- ``WebPushService`` (webpush.py): RFC 8030 endpoints; verifies VAPID and decrypts each push;
- ``FcmServer`` (fcm.py): the OAuth token endpoint and the FCM HTTP v1 send endpoint;
- ``ApnsServer`` (apns.py): HTTP/2 over TLS with the provider JWT checked.

Each can be told to fail for one subscription or token. Everything runs in daemon threads; ``stop`` closes it all.
"""

from tests.support.pushservers.apns import ApnsRequest, ApnsServer, TlsFiles, make_tls_files
from tests.support.pushservers.base import Failure, b64url, b64url_decode, ec_public_raw, private_pem
from tests.support.pushservers.fcm import FcmServer
from tests.support.pushservers.webpush import ReceivedPush, Subscription, WebPushService

__all__ = [
    "ApnsRequest",
    "ApnsServer",
    "Failure",
    "FcmServer",
    "ReceivedPush",
    "Subscription",
    "TlsFiles",
    "WebPushService",
    "b64url",
    "b64url_decode",
    "ec_public_raw",
    "make_tls_files",
    "private_pem",
]
