"""The fake Admin API's socket side: an HTTP/1.1 server on 127.0.0.1 that hands each request to ``handle``."""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opsdesk.fakes.wire import Handle, Reply, headers_of, write_reply

__all__ = ["Server"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: thousands of calls a second need reused connections
    # The answer is buffered and goes out in one write (``write_reply`` flushes it): one wake-up of the
    # client's thread per answer instead of one for the headers and one for the body, in a process whose
    # threads share one interpreter lock.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: Server

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = self.server.handle(self.path, headers_of(self), raw)
        if isinstance(answer, Reply):
            write_reply(self, answer)
        elif answer.reset:
            self._reset()
        else:
            self.server.stopping.wait(answer.seconds)
            self.close_connection = True

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN: a connection reset by peer.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()  # the descriptor really closes when finish() drops the file objects

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the calls are recorded instead."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a hanging request must not hold up stop()
    request_queue_size = 256

    def __init__(self, handle: Handle, stopping: threading.Event, errors: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.handle = handle
        self.stopping = stopping  # set when the fake stops: ends hanging requests
        self.errors = errors  # what went wrong in a request's thread, for the test to see
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        """Close idle keep-alive connections so that their threads end."""
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Broken pipes from clients that gave up are expected; anything else is kept for the test to see."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            self.errors.append(repr(error))
