"""A local SMTP server (aiosmtpd) that records messages and can refuse the next ones, 4xx or 5xx; plain, or
over TLS (implicit or STARTTLS) with a context the caller gives; as quick as it can be, or a little slow."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller

REPLIES = {421: "421 4.3.2 Service not available, try again later",
           450: "450 4.2.1 Mailbox busy, try again later",
           550: "550 5.1.1 Mailbox unavailable",
           554: "554 5.7.1 Message refused"}


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    to: str
    subject: str
    message_id: str
    body: str
    raw: bytes
    peer: str = ""  # the client's address and port: messages over one connection share it


class FakeSmtp:
    """A real SMTP server on 127.0.0.1 and a free port, for tests and the demo."""

    def __init__(self, *, implicit_tls: ssl.SSLContext | None = None, starttls: ssl.SSLContext | None = None,
                 delay: float = 0.0) -> None:
        """``implicit_tls``: TLS from the first byte with this server context; ``starttls``: offer STARTTLS with it
        (and refuse mail before it); ``delay``: seconds each message's DATA takes before it is accepted (a relay's
        work, so that a test can stop a sender between two messages)."""
        self.delay = delay
        self._tls: dict[str, Any] = {"ssl_context": implicit_tls} if implicit_tls else {}
        if starttls:
            self._tls |= {"tls_context": starttls, "require_starttls": True}
        self._messages: list[ReceivedMessage] = []
        self._refusals: deque[int] = deque()
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self.host = "127.0.0.1"
        self.port = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> Self:
        # aiosmtpd checks its own start-up by connecting to the port it was given, so port 0 cannot be
        # used: take a free port from the kernel first.
        with socket.socket() as probe:
            probe.bind((self.host, 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **self._tls)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse_next(self, count: int, code: int = 421) -> None:
        """Answer the next ``count`` messages' RCPT with ``code`` (421 and 450 transient, 550 and 554 not)."""
        with self._lock:
            self._refusals.extend([code] * count)

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    def _refusal(self) -> str | None:
        with self._lock:
            return REPLIES[self._refusals.popleft()] if self._refusals else None

    def _receive(self, mail_from: str, rcpt_tos: list[str], raw: bytes, peer: str) -> None:
        parsed = message_from_bytes(raw, policy=policy.default)
        part = parsed.get_body(preferencelist=("plain",))
        body = part.get_content().replace("\r\n", "\n") if part is not None else ""
        received = ReceivedMessage(mail_from, tuple(rcpt_tos), str(parsed["To"] or ""),
                                   str(parsed["Subject"] or ""), str(parsed["Message-ID"] or ""), body, raw, peer)
        with self._lock:
            self._messages.append(received)


class _Handler:
    """aiosmtpd's hooks: refuse at RCPT when told to, record at DATA."""

    def __init__(self, fake: FakeSmtp) -> None:
        self._fake = fake

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        refusal = self._fake._refusal()
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._fake.delay:
            await asyncio.sleep(self._fake.delay)
        raw = envelope.original_content or envelope.content
        peer = ":".join(str(part) for part in session.peer[:2]) if session.peer else ""
        self._fake._receive(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(raw), peer)
        return "250 Message accepted for delivery"
