"""A desk's app over real HTTP: uvicorn on a free port of 127.0.0.1, in a thread of the test's process."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from opsdesk.desk import Desk
from opsdesk.web.app import create_app


@contextlib.contextmanager
def serving(desk: Desk) -> Iterator[str]:
    """The real intake (the pipeline and outbox are driven by the test): its URL."""
    with serve(create_app(desk, background=False)) as base:
        yield f"{base}/webhooks/shopify"


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """``app`` served until the block ends: its base URL (``http://127.0.0.1:<port>``)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
