"""Reliability test 8 on PostgreSQL: while the database is away, intake answers 503 with ``Retry-After`` and no
stack trace, acknowledges nothing it did not commit, and stores again within 30 s of the database's return.

Real PostgreSQL, reached through a TCP proxy on 127.0.0.1 that the test cuts (every connection closed, new ones
refused, as in a restart or a network partition) and restores; the desk's real app and intake.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

from opsdesk.web.app import create_app
from tests.integration.desk_harness import make_desk
from tests.samples import order_lifecycle

RECOVERY_SECONDS = 30  # reliability.md, test 8


class Cuttable:
    """A TCP proxy on 127.0.0.1 to ``upstream``; ``cut()`` closes every connection and refuses new ones."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self.up = True

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def __enter__(self) -> Self:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._listener.close()
        self.cut()

    def cut(self) -> None:
        with self._lock:
            self.up, doomed, self._open = False, self._open, []
        for sock in doomed:
            sock.close()

    def restore(self) -> None:
        self.up = True

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed: the test is over
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(self._upstream)
            with self._lock:
                self._open += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, target), daemon=True).start()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            sock.close()


@pytest.fixture
def proxy(pg_url: str) -> Iterator[Cuttable]:
    url = make_url(pg_url)
    with Cuttable((url.host or "127.0.0.1", url.port or 5432)) as cuttable:
        yield cuttable


def post(client: TestClient, n: int) -> Any:
    delivery = order_lifecycle(n)[0]
    return client.post("/webhooks/shopify", content=delivery["body"].encode(), headers=delivery["headers"])


def test_intake_answers_503_while_postgresql_is_away_and_stores_again_within_30_s_of_its_return(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str, proxy: Cuttable
) -> None:
    proxied = make_url(pg_url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    desk = make_desk(tmp_path, monkeypatch, database_url=proxied)
    with TestClient(create_app(desk, background=False)) as client:
        assert post(client, 1).status_code == 200
        proxy.cut()
        away = [post(client, n) for n in range(2, 6)]
        proxy.restore()
        back = time.monotonic()
        while (again := post(client, 6)).status_code != 200 and time.monotonic() - back < RECOVERY_SECONDS:
            time.sleep(0.2)
        recovered_in = time.monotonic() - back
    desk.db.dispose()

    assert [(r.status_code, r.text, r.headers.get("retry-after")) for r in away] == [
        (503, "storage unavailable, retry later", "5")
    ] * 4
    assert again.status_code == 200, f"still {again.status_code} {RECOVERY_SECONDS} s after the database returned"
    assert recovered_in <= RECOVERY_SECONDS
    engine = create_engine(pg_url)  # straight to the database: what is stored is what was acknowledged
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT webhook_id FROM deliveries ORDER BY id")).scalars().all()
    engine.dispose()
    acknowledged = [order_lifecycle(n)[0]["headers"]["X-Shopify-Webhook-Id"] for n in (1, 6)]
    assert stored == acknowledged
