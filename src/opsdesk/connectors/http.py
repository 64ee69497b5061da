"""The httpx client of the API connectors (Shopify Admin, the carriers' label APIs, chat webhooks): no redirects,
no cookies.

Redirects are never followed: a 3xx from an API endpoint is a misconfiguration, and following it would send
the credentials wherever it points. No cookie jar: these APIs authenticate every request with a header and
keep no session, so a cookie one of them set has nothing to do; and httpx's jar costs on every response,
cookie or not (it wraps the request and the response in ``urllib`` objects to ask the standard library's
``CookieJar``), about a third of the client's own time per call in the outbox's profile (docs/benchmarks.md).

The ``timeout`` bounds the whole call (connect, send, headers and body), not only each read as httpx's does: a
server answering a byte at a time would otherwise hold the calling thread (the outbox's) for as long as it
trickles. Each socket operation is given what is left of the call's time (ADR 0056).
"""

from __future__ import annotations

import functools
import ssl
import threading
import time
from typing import Any

import httpcore
import httpx

__all__ = ["ApiClient"]


class _NoCookies(httpx.Cookies):
    """Always empty: a ``Set-Cookie`` in a response is not kept, so no request carries a ``Cookie``."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Keeps nothing (and skips httpx's per-response ``urllib`` wrappers)."""


class _Deadline(threading.local):
    """When the calling thread's current call must be over (``time.monotonic``); ``None`` between calls."""

    at: float | None = None

    def left(self, timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
        """The lesser of an operation's own ``timeout`` and the time left to the call; ``expired`` when none is."""
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise expired("the call's timeout ran out")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own socket backend, each operation bounded by the calling thread's ``_Deadline``."""

    def __init__(self, deadline: _Deadline) -> None:
        self._inner, self._deadline = httpcore.SyncBackend(), deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, left, local_address, socket_options),
                               self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@functools.cache
def _verified_context() -> ssl.SSLContext:
    """httpx's default context (certifi's authorities, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``), loaded once a process
    and shared by every client: loading the authorities takes 0.1 s or more, and each desk built makes a client per
    connector (a context is safe to share between threads and connections)."""
    return httpx.create_ssl_context()


def _bounded_transport(deadline: _Deadline) -> httpx.HTTPTransport:
    """httpx's transport on the ``_DeadlineBackend``. httpx takes no network backend, so its pool is replaced;
    ``_pool`` is httpx's own attribute (httpx is pinned, and tests/integration/test_connector_deadline.py fails if
    the replacement stops being used). The transport is given the shared context, or it would load its own."""
    context = _verified_context()
    transport = httpx.HTTPTransport(verify=context)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=context, network_backend=_DeadlineBackend(deadline),
        max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0,  # httpx's defaults
    )
    return transport


class ApiClient(httpx.Client):
    """An ``httpx.Client`` that follows no redirects, keeps no cookies, and gives up on a call after ``timeout``
    seconds in all (over the network; a ``transport`` given, e.g. an in-memory stand-in, is not bounded)."""

    def __init__(self, *, timeout: float, transport: httpx.BaseTransport | None = None) -> None:
        self._deadline = _Deadline()
        self._total = timeout
        super().__init__(timeout=timeout, follow_redirects=False,
                         transport=transport or _bounded_transport(self._deadline))
        self._no_cookies = _NoCookies()

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        """Send, and read the answer (unless streamed), within the client's ``timeout``."""
        self._deadline.at = time.monotonic() + self._total
        try:
            return super().send(request, **kwargs)
        finally:
            self._deadline.at = None

    @property
    def cookies(self) -> httpx.Cookies:
        """The client's cookies: none, ever (httpx reads them here to send and to keep them)."""
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("an ApiClient keeps no cookies")
