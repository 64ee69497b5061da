"""What a stand-in answers, and the two ways the answer reaches a client: a socket, or in memory.

Each stand-in (``carrier.py``, ``shopify_admin.py``) decides its answer to a request in one method,
``handle(path, headers, body)``: the reply, or no reply at all (it hangs, or resets the connection). That
method is all there is of the stand-in's behaviour, faults included. Two adapters carry it:

- its ``http.server`` handler, for tests of the connectors over real HTTP, ``opsdesk serve --stand-ins``
  and the demo's serve phase: a server thread, sockets, HTTP/1.1 parsing on both sides;
- ``StandInTransport``, an ``httpx.BaseTransport`` that calls ``handle`` in the caller's thread, for the
  simulator (ADR 0018): the connector's own code still builds the request, its headers and idempotency
  key, reads the status, headers and body and decides to retry, but no socket, no HTTP parsing on the
  server side and no server thread competing for the interpreter lock.

A reply that does not come is the client's to time out on, as over a socket: the transport waits as the
server would (a hang) or as long as the request's read timeout allows, then raises the httpx exception a
socket client gets (``ReadTimeout``, ``RemoteProtocolError`` for a connection closed without an answer,
``ReadError`` for a reset).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler

import httpx

__all__ = ["NoAnswer", "Reply", "StandInTransport", "headers_of", "write_reply"]


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer: status, body (JSON, already encoded) and headers other than Content-Length and Date."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NoAnswer:
    """No answer: the connection is held ``seconds`` and then closed, or reset at once (``reset``)."""

    seconds: float = 0.0
    reset: bool = False


#: A stand-in's request handling: (path with query, headers read by lower-case name, body) -> its answer.
Handle = Callable[[str, Mapping[str, str], bytes], Reply | NoAnswer]


def headers_of(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    """A request's headers as ``handle`` reads them (by lower-case name)."""
    return {name.lower(): value for name, value in handler.headers.items()}


def write_reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    """Send ``reply`` on the handler's connection in one write (``wbufsize = -1`` buffers it until flushed)."""
    try:
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)
        handler.wfile.flush()
    except OSError:  # the client gave up (timed out) before the answer
        handler.close_connection = True


class StandInTransport(httpx.BaseTransport):
    """Carries a connector's requests to a stand-in's ``handle`` in the calling thread: no socket.

    Only requests for ``origin`` (scheme, host and port of the stand-in's URLs) are answered; any other
    URL fails as an unreachable host would, so a connector pointed elsewhere is not served by mistake.
    ``stopping`` is the stand-in's: stopping it ends a hang early, as it closes a hanging socket.
    """

    def __init__(self, handle: Handle, origin: str, stopping: threading.Event) -> None:
        self._handle = handle
        self._origin = httpx.URL(origin)
        self._stopping = stopping
        self._date = (0, b"")  # the Date header of the current second, as http.server writes it

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if (url.scheme, url.host, url.port) != (self._origin.scheme, self._origin.host, self._origin.port):
            raise httpx.ConnectError(f"no stand-in answers at {url.scheme}://{url.netloc.decode()}",
                                     request=request)
        timeouts = request.extensions.get("timeout") or {}
        timeout: float | None = timeouts.get("read")
        started = time.monotonic()
        # From the raw bytes, as http.server decodes them (ISO-8859-1): httpx.Headers' own lookups each
        # scan and decode the whole list.
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in request.headers.raw}
        answer = self._handle(url.raw_path.decode("ascii"), headers, request.read())
        if isinstance(answer, NoAnswer):
            if answer.reset:
                raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
            if timeout is not None and answer.seconds >= timeout:
                self._stopping.wait(timeout)
                raise httpx.ReadTimeout("timed out", request=request)
            self._stopping.wait(answer.seconds)
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        if timeout is not None and time.monotonic() - started >= timeout:  # a slow answer, too slow
            raise httpx.ReadTimeout("timed out", request=request)
        # As a socket transport hands over an answer: raw header bytes and a stream the client reads
        # (``content=`` would encode and read the body here, and the client would read it again).
        raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers.items()]
        raw = [(b"Date", self._now()), *raw, (b"Content-Length", b"%d" % len(answer.body))]
        return httpx.Response(answer.status, headers=raw, stream=httpx.ByteStream(answer.body), request=request)

    def _now(self) -> bytes:
        """The ``Date`` header a server sends (the Shopify connector measures an HTTP-date Retry-After by it)."""
        second = int(time.time())
        if self._date[0] != second:
            self._date = (second, formatdate(second, usegmt=True).encode("ascii"))
        return self._date[1]
