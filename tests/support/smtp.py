"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

    with SmtpServer() as smtp:            # listening on 127.0.0.1:smtp.port
        ... settings from smtp.settings() ...
        smtp.stop(); smtp.start()         # an outage, then the same port again
        smtp.messages                     # every message accepted, parsed, with its envelope

It speaks SMTP over a socket, so Django's SMTP backend (connect, EHLO, MAIL, RCPT, DATA, QUIT and its
timeouts) runs exactly as against a production server. ``refuse`` names addresses it answers
``refuse_code`` at RCPT (by default ``550 no such user``, a permanent refusal).
"""

from __future__ import annotations

import email
import email.message
import email.policy
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller

from backend.settings.env import email_config
from tests.support.services import free_port


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        """The plain-text part."""
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, "no text/plain part"
        return str(part.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str, _options: list[str]) -> str:
        if address.lower() in self.server.refuse:
            return self.server.refuse_code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        with self.server.lock:
            self.server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int = 0) -> None:
        self.port = port or free_port()
        self.messages: list[Received] = []
        self.refuse: set[str] = set()
        self.refuse_code = "550 5.1.1 no such user"  # what ``refuse`` answers (a 4xx: try again later)
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        """The ``EMAIL_URL`` that points at it."""
        return f"smtp://127.0.0.1:{self.port}"

    def settings(self) -> dict[str, Any]:
        """Django settings (for ``override_settings``) as ``EMAIL_URL=self.url`` implies them."""
        return {**email_config(self.url), "EMAIL_TIMEOUT": 5}

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.recipients]

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
