"""A bound on one SMTP conversation's time (ADR 0056).

smtplib's ``timeout`` bounds each socket operation, not the conversation: a relay that answers a byte at a time
would hold the calling thread (the outbox's) for as long as it trickles. A ``Watchdog`` shuts the connection's
socket down when the time is up; the read waiting on it then ends (``SMTPServerDisconnected``), and the caller,
seeing ``fired``, reports a timeout. The connections made under it hand it their socket as they wait for a reply
(``getreply``), the relay's greeting first; an implicit-TLS connection hands it over before TLS's handshake.

It shuts down a duplicate of the socket's descriptor, kept for the purpose: TLS takes a socket over (``wrap_socket``
detaches the plain one) while it shakes hands, whether at once (implicit TLS) or after STARTTLS, and CPython gives
the handshake a whole socket timeout of its own. Shutting the connection down cuts the handshake off too, so a relay
that trickles it holds the conversation no longer than its time.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading
from types import TracebackType
from typing import Self

__all__ = ["Watchdog", "connect", "rewatch"]


class Watchdog:
    """Shuts the watched connection down after ``seconds``, counted from entering the ``with`` block."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._dup: socket.socket | None = None  # the watched connection, whoever owns its socket now
        self._over = False  # left the ``with`` block: nothing to watch for any more (a batch's QUIT)
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._timer.cancel()
        with self._lock:
            self._over = True
            self._forget()

    def watch(self, sock: socket.socket) -> socket.socket:
        """Watch ``sock`` from now on (a kept connection's, or a new one's); ``TimeoutError`` if the time is up."""
        with self._lock:
            if self.fired:
                raise TimeoutError("the call's time ran out")
            if sock is not self._socket and not self._over:
                self._forget()
                self._socket, self._dup = sock, socket.fromfd(sock.fileno(), sock.family, sock.type)
        return sock

    def _forget(self) -> None:
        if self._dup is not None:
            self._dup.close()  # the descriptor only: the connection stays open on its owner's
        self._socket = self._dup = None

    def _fire(self) -> None:
        # Under the lock: the duplicate is not closed (and its number handed to another file) meanwhile.
        with self._lock:
            self.fired = True
            if self._dup is not None:
                with contextlib.suppress(OSError):
                    self._dup.shutdown(socket.SHUT_RDWR)


class _WatchedSmtp(smtplib.SMTP):
    def __init__(self, watchdog: Watchdog, host: str, port: int, timeout: float) -> None:
        self.watchdog = watchdog
        super().__init__(host, port, timeout=timeout)

    def getreply(self) -> tuple[int, bytes]:
        if self.sock is not None:
            self.watchdog.watch(self.sock)
        return super().getreply()


class _WatchedSmtpSsl(smtplib.SMTP_SSL):
    def __init__(self, watchdog: Watchdog, host: str, port: int, timeout: float, context: ssl.SSLContext) -> None:
        self.watchdog, self._server = watchdog, host
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # smtplib.SMTP_SSL's, with the plain socket watched before TLS shakes hands on it.
        plain = self.watchdog.watch(socket.create_connection((host, port), timeout))
        return self.context.wrap_socket(plain, server_hostname=self._server)

    def getreply(self) -> tuple[int, bytes]:
        if self.sock is not None:
            self.watchdog.watch(self.sock)
        return super().getreply()


def connect(watchdog: Watchdog, host: str, port: int, timeout: float,
            context: ssl.SSLContext | None = None) -> smtplib.SMTP:
    """A connection to the relay (TLS from the first byte when a ``context`` is given), watched by ``watchdog``."""
    if context is not None:
        return _WatchedSmtpSsl(watchdog, host, port, timeout, context)
    return _WatchedSmtp(watchdog, host, port, timeout)


def rewatch(smtp: smtplib.SMTP, watchdog: Watchdog) -> None:
    """A kept connection (the outbox's batch) is watched by the next message's ``watchdog`` from now on."""
    if isinstance(smtp, _WatchedSmtp | _WatchedSmtpSsl):
        smtp.watchdog = watchdog
