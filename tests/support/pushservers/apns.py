"""APNs on loopback: HTTP/2 over TLS (ALPN h2, served with ``h2``); verifies the ES256 provider JWT with the .p8
key's public half.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.pushservers.base import Failure, private_pem, retry_after, text


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
                    streams[event.stream_id] = ({text(k): text(v) for k, v in event.headers}, bytearray())
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
            return failure.status, retry_after(failure), failure.body
        return 200, {"apns-id": headers.get("apns-id") or "00000000-0000-4000-8000-000000000000"}, None
