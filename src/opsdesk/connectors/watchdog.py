"""A bound on one SMTP conversation's time (ADR 0056).

smtplib's ``timeout`` bounds each socket operation, not the conversation: a relay that answers a byte at a time
would hold the calling thread (the outbox's) for as long as it trickles. A ``Watchdog`` shuts the connection's
socket down when the time is up; the read waiting on it then ends (``SMTPServerDisconnected``), and the caller,
seeing ``fired``, reports a timeout. The connections made under it hand it their socket as they wait for a reply
(``getreply``), the relay's greeting first.
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
    """Shuts the watched socket down after ``seconds``, counted from entering the ``with`` block."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> socket.socket:
        """Watch ``sock`` from now on (a kept connection's, or a new one's); ``TimeoutError`` if the time is up."""
        with self._lock:
            if self.fired:
                raise TimeoutError("the call's time ran out")
            self._socket = sock
        return sock

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sock = self._socket
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


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
        self.watchdog = watchdog
        super().__init__(host, port, timeout=timeout, context=context)

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
