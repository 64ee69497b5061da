"""Reliability test 8, SQLite's disk full: intake answers 503 and acknowledges nothing it could not store, and
``/healthz``, which connect-your-store.md tells an uptime check to watch ("503 while the database is
unavailable"), says so too instead of "ok" while every delivery is refused; both recover when space returns.

A real SQLite file whose connections may not grow it (``PRAGMA max_page_count``: SQLite's own "database or disk
is full", as on a full disk); the desk's real app and intake.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from opsdesk.web.app import create_app
from tests.integration.desk_harness import make_desk
from tests.samples import order_lifecycle


def post(client: TestClient, n: int) -> Any:
    delivery = order_lifecycle(n)[0]
    return client.post("/webhooks/shopify", content=delivery["body"].encode(), headers=delivery["headers"])


def until(client: TestClient, status: int, seconds: float = 15) -> Any:
    """``/healthz`` once it answers ``status`` (its last answer after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while (health := client.get("/healthz")).status_code != status and time.monotonic() < deadline:
        time.sleep(0.2)
    return health


def test_a_full_disk_is_503_on_intake_and_on_healthz_until_space_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = make_desk(tmp_path, monkeypatch)
    full = {"on": False}

    @event.listens_for(desk.db.engine, "connect")
    def _no_room(dbapi_conn: Any, _record: Any) -> None:
        if full["on"]:  # the file may not grow past the pages it has
            pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
            dbapi_conn.execute(f"PRAGMA max_page_count={pages}")

    with TestClient(create_app(desk, background=False)) as client:
        assert post(client, 1).status_code == 200
        full["on"] = True
        desk.db.engine.dispose()
        answers = [post(client, n) for n in range(2, 60)]
        refused = [a for a in answers if a.status_code != 200]
        health_full = until(client, 503)
        full["on"] = False
        desk.db.engine.dispose()
        assert post(client, 60).status_code == 200
        health_back = until(client, 200)

    assert refused, "the disk never filled: the test proves nothing"
    assert {(a.status_code, a.text) for a in refused} == {(503, "storage unavailable, retry later")}
    assert health_full.status_code == 503, health_full.text
    assert "database or disk is full" in health_full.json()["error"]
    assert health_back.json()["status"] == "ok"
    with desk.db.unit_of_work(read_only=True) as uow:
        assert uow.deliveries.count() == 2 + len(answers) - len(refused)
