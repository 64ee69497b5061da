"""Ports for servers the tests start as subprocesses, safe under pytest-xdist (ADR 0044).

Asking the kernel for a free port (bind to port 0, read it, close) and handing the number to a subprocess leaves a
gap in which the other worker's test can be given the same port by the same trick. Each worker picks instead from
a range of its own, below Linux's ephemeral range (32768-60999), so no other worker and no outgoing connection can
be handed a port in it; a port still taken (a server of an earlier test in this worker) is passed over.
"""

from __future__ import annotations

import itertools
import os
import socket

FIRST = 20_000
PER_WORKER = 1_500


def _worker_index() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # "gw0", "gw1", ... ; absent without xdist
    index = int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else 0
    if FIRST + (index + 1) * PER_WORKER > 32_768:
        raise RuntimeError(f"tests/ports.py has ranges for {(32_768 - FIRST) // PER_WORKER} workers, not {index + 1}")
    return index


_START = FIRST + _worker_index() * PER_WORKER
_NEXT = itertools.cycle(range(_START + os.getpid() % PER_WORKER, _START + PER_WORKER))


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on, that no other test worker will pick."""
    for _ in range(PER_WORKER):
        port = next(_NEXT)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {_START}-{_START + PER_WORKER - 1}")


def wait_until_healthy(base_url: str, attempts: int = 150) -> None:
    """Wait until the opsdesk server at ``base_url`` answers ``/healthz`` (it is started as a subprocess)."""
    import time

    import httpx

    for _ in range(attempts):
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
