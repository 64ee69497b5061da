"""The dashboard's pages over the real app: the desk (SQLite and PostgreSQL), its clock, a signed-in client.

The client delivers three returns over the automatic-refund cap (80.00): the starter refunds playbook
escalates each to the ``refunds`` queue, owned by the support team until someone claims it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.domain.records import CaseFilter
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from tests.conftest import SQL_BACKENDS
from tests.integration.dashboard_harness import csrf_of, dashboard_desk
from tests.samples import order_lifecycle

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
ORDER = 5_000_000_000_000_000_001
ROW = re.compile(r'<tr data-id="([^"]+)"')


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(params=SQL_BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> Desk:
    """The same pages on a SQLite file and on a PostgreSQL schema of its own."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return dashboard_desk(tmp_path, monkeypatch, clock=clock, database_url=url)


def deliver(client: TestClient, desk: Desk, *orders: int) -> None:
    for n in orders:
        for d in order_lifecycle(n, price="80.00")[:6]:
            response = client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"])
            assert response.status_code == 200
    desk.process_pending()


@pytest.fixture
def client(desk: Desk) -> Iterator[TestClient]:
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        deliver(client, desk, 1, 2, 3)
        yield client


def case_ids(desk: Desk) -> dict[int, str]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return {c.order_id or 0: c.id for c in uow.cases.search(CaseFilter(), 50)}


def key_of(desk: Desk, case_id: str) -> str:
    with desk.db.unit_of_work(read_only=True) as uow:
        return uow.cases.get(case_id).key


def rows(html: str) -> list[str]:
    return ROW.findall(html)


def act(client: TestClient, path: str, **form: str) -> object:
    token = csrf_of(client.get("/queue").text)
    return client.post(path, data={"csrf_token": token, **form}, follow_redirects=False)
