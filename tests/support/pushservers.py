"""Real push services on 127.0.0.1 for the transport tests: they check the protocol the way the real ones do.

- ``WebPushService``: RFC 8030 endpoints; verifies the VAPID JWT (ES256, aud, exp, sub) against the key ``k`` and the
  subscription's application server key, decrypts the aes128gcm body with the subscription's private key.
- ``FcmServer``: an OAuth token endpoint (JWT-bearer grant signed with the service account's RSA key) and
  ``/v1/projects/<p>/messages:send`` that only accepts the access tokens it issued.
- ``ApnsServer``: HTTP/2 over TLS (ALPN h2, served with ``h2``), verifies the ES256 provider JWT with the .p8 key's
  public half.

Each can be told to fail for one subscription or token. Everything runs in daemon threads; ``stop`` closes it all.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import json
import os
import secrets
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import http_ece
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # google-auth puts Google's URL in aud, not token_uri
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def ec_public_raw(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def private_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@dataclass(frozen=True)
class Failure:
    """A scripted answer: HTTP status, optional Retry-After, and the service's error document."""

    status: int
    retry_after: str | None = None
    body: dict[str, Any] = field(default_factory=dict)


class _HttpServer:
    """A ThreadingHTTPServer on 127.0.0.1:<free port> whose POSTs go to ``handle_post`` (header names lower-cased)."""

    def __init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, payload = outer.handle_post(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.lock = threading.Lock()

    def handle_post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


# --- Web Push --------------------------------------------------------------------------------------------------


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


class WebPushService(_HttpServer):
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
            return failure.status, _retry_after(failure), {"reason": "scripted"}
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


# --- FCM ----------------------------------------------------------------------------------------------------------


class FcmServer(_HttpServer):
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
            return failure.status, _retry_after(failure), failure.body
        with self.lock:
            self.messages.append(message)
        return 200, {}, {"name": f"projects/{self.project_id}/messages/{secrets.randbelow(10**12)}"}


# --- APNs ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    ca_file: str
    cert_file: str
    key_file: str


def make_tls_files(directory: Path) -> TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it, as PEM files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "push test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(str(directory / "ca.pem"), str(directory / "server.pem"), str(directory / "server.key"))
    Path(files.ca_file).write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    Path(files.cert_file).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    Path(files.key_file).write_text(private_pem(key))
    return files


@dataclass(frozen=True)
class ApnsRequest:
    device_token: str
    headers: dict[str, str]
    payload: dict[str, Any]
    alpn: str | None


class ApnsServer:
    """APNs over HTTP/2 + TLS. ``requests`` holds every request that reached a device (accepted or scripted)."""

    def __init__(
        self, tls: TlsFiles, *, public_key: ec.EllipticCurvePublicKey, key_id: str, team_id: str, topic: str
    ) -> None:
        self.public_key, self.key_id, self.team_id, self.topic = public_key, key_id, team_id, topic
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(tls.cert_file, tls.key_file)
        self._tls.set_alpn_protocols(["h2"])
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self.failures: dict[str, Failure] = {}
        self.expired_jwts: set[str] = set()
        self.expire_every_jwt = False
        self.requests: list[ApnsRequest] = []
        self.jwts: list[str] = []
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    def fail(self, device_token: str, status: int, reason: str, retry_after: str | None = None) -> None:
        self.failures[device_token] = Failure(status, retry_after, {"reason": reason})

    def expire_seen_jwts(self) -> None:
        """Answer 403 ExpiredProviderToken to every provider token seen so far."""
        with self._lock:
            self.expired_jwts.update(self.jwts)

    def start(self) -> None:
        self._spawn(self._accept_loop)

    def stop(self) -> None:
        self._stopping.set()
        for sock in [self._listener, *self._conns]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self._spawn(self._serve, sock)

    def _serve(self, raw: socket.socket) -> None:
        try:
            with self._tls.wrap_socket(raw, server_side=True) as sock:
                self._conns.append(sock)
                self._serve_h2(sock, sock.selected_alpn_protocol())
        except OSError:
            return  # the client went away or refused our certificate, or stop() closed the socket

    def _serve_h2(self, sock: ssl.SSLSocket, alpn: str | None) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        while data := sock.recv(65536):
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    streams[event.stream_id] = ({_text(k): _text(v) for k, v in event.headers}, bytearray())
                elif isinstance(event, h2.events.DataReceived):
                    streams[event.stream_id][1].extend(event.data)
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    headers, body = streams.pop(event.stream_id)
                    status, extra, payload = self._handle(headers, bytes(body), alpn)
                    response = json.dumps(payload).encode() if payload is not None else b""
                    conn.send_headers(
                        event.stream_id, [(":status", str(status)), *((k.lower(), v) for k, v in extra.items())]
                    )
                    conn.send_data(event.stream_id, response, end_stream=True)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    return
            sock.sendall(conn.data_to_send())

    def _handle(self, headers: dict[str, str], body: bytes, alpn: str | None) -> tuple[int, dict[str, str], Any]:
        if headers.get(":method") != "POST" or not headers.get(":path", "").startswith("/3/device/"):
            return 404, {}, {"reason": "BadPath"}
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme != "bearer":
            return 403, {}, {"reason": "MissingProviderToken"}
        try:
            jwt_header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token, self.public_key, algorithms=["ES256"], issuer=self.team_id, options={"require": ["iat", "iss"]}
            )
        except jwt.PyJWTError:
            return 403, {}, {"reason": "InvalidProviderToken"}
        if jwt_header.get("kid") != self.key_id:
            return 403, {}, {"reason": "InvalidProviderToken"}
        with self._lock:
            self.jwts.append(token)
            expired = self.expire_every_jwt or token in self.expired_jwts
        if expired or claims["iat"] < time.time() - 3600:
            return 403, {}, {"reason": "ExpiredProviderToken"}
        if headers.get("apns-topic") != self.topic:
            return 400, {}, {"reason": "TopicDisallowed"}
        device_token = headers[":path"].removeprefix("/3/device/")
        with self._lock:
            self.requests.append(ApnsRequest(device_token, headers, json.loads(body), alpn))
        if (failure := self.failures.get(device_token)) is not None:
            return failure.status, _retry_after(failure), failure.body
        return 200, {"apns-id": headers.get("apns-id") or "00000000-0000-4000-8000-000000000000"}, None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _retry_after(failure: Failure) -> dict[str, str]:
    return {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
