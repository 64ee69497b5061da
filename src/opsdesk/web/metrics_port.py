"""The worker's own HTTP port: ``/metrics`` and ``/healthz`` for ``opsdesk worker --metrics-port`` (ADR 0035).

A worker serves no app, so a few lines of the standard library's threading HTTP server do: two routes,
read-only, the same answers as ``opsdesk serve`` gives on them (the same bearer token when
``OPSDESK_METRICS_TOKEN`` is set). ``/healthz`` also fails when one of the worker's threads has stopped:
a worker whose outbox sender died still answers, but no longer works.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from opsdesk import __version__
from opsdesk.background import Background
from opsdesk.desk import Desk
from opsdesk.domain.errors import InvalidInput, Unavailable
from opsdesk.metrics import CONTENT_TYPE, SCRAPE_REFUSED, scrape_allowed


class MetricsPort:
    """``/metrics`` and ``/healthz`` of ``desk`` on ``host:port`` (0: any free port), in a thread of their own.

    The port is bound when it is made (a port in use is an ``InvalidInput`` naming it); it answers from
    ``start`` (or ``with``) until ``close``."""

    def __init__(self, desk: Desk, background: Background, host: str, port: int) -> None:
        try:
            self._server = _Server((host, port), desk, background)
        except OSError as exc:
            raise InvalidInput(f"metrics port {host}:{port}: {exc.strerror or exc}") from exc
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="opsdesk-metrics", daemon=True
        )

    @property
    def url(self) -> str:
        """Where ``/metrics`` is, with the port really bound."""
        host, port = str(self._server.server_address[0]), self._server.server_address[1]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/metrics"

    def start(self) -> MetricsPort:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> MetricsPort:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], desk: Desk, background: Background) -> None:
        self.desk = desk
        self.background = background
        self.address_family = socket.getaddrinfo(address[0], address[1], type=socket.SOCK_STREAM)[0][0]
        super().__init__(address, _Handler)

    def health(self) -> tuple[int, dict[str, Any]]:
        stopped = [t.name for t in self.background.threads if not t.is_alive()]
        if stopped and not self.background.stop.is_set():
            return 503, {"status": "unavailable", "error": f"worker threads stopped: {', '.join(stopped)}"}
        try:
            self.desk.db.ping()
        except Unavailable as exc:
            return 503, {"status": "unavailable", "error": str(exc)}
        return 200, {"status": "ok", "version": __version__}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    #: Seconds a connection may stay silent: a client that opens one and sends nothing must not hold a
    #: thread for good.
    timeout = 10.0

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._metrics()
        elif path == "/healthz":
            self._json(*self.server.health())
        else:
            self._json(404, {"error": f"no route {path}: this port serves /metrics and /healthz"})

    def _metrics(self) -> None:
        if not scrape_allowed(self.headers.get("Authorization"), self.server.desk.settings.metrics_token):
            self._json(401, SCRAPE_REFUSED, {"WWW-Authenticate": "Bearer"})
            return
        self._send(200, self.server.desk.metrics.render(), CONTENT_TYPE)

    def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log (as ``opsdesk serve``, whose uvicorn access log is off)."""
