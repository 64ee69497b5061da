"""A worker asked to stop while its reconciliation sweep waits for Shopify's cost bucket stops within its grace.

The Shopify connector paces the sweep's reads by the shop's cost bucket (ADR 0015): with the bucket drained
by someone else's queries, reading an order whole (809 points asked, plus the reserve) waits for the bucket
to fill, some 18 s at 50 points a second. The worker's reconcile thread waits with its stop event, so
``Background.close`` does not wait that out (it gives each thread 10 s), and the sweep sends no further read.
Real HTTP to FakeShopifyAdmin, whose bucket refills on the wall clock; the desk on a SQLite file.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsdesk.background import Background
from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.connectors.shopify_reads import ORDERS_UPDATED
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services.reconcile import read_mark
from opsdesk.testing import ManualClock, RecordingConnector
from tests.integration.desk_harness import make_desk
from tests.integration.test_reconcile_pacing import T0, order
from tests.samples import SHOP

TOKEN = "shpat_shutdown"
BUCKET = (1000.0, 50.0)  # 1,000 points, 50 a second: an 18 s wait from empty for a read of 809 and the reserve
ORDERS = 100


def drain(fake: FakeShopifyAdmin) -> None:
    """Another app's query spends the shop's bucket: 100 orders listed, 903 points."""
    variables = {"first": 100, "after": None, "query": f"updated_at:>='{T0:%Y-%m-%dT%H:%M:%SZ}'"}
    answer = httpx.post(fake.url_for(SHOP), json={"query": ORDERS_UPDATED, "variables": variables},
                        headers={"X-Shopify-Access-Token": TOKEN}, timeout=5.0)
    assert answer.status_code == 200 and "data" in answer.json()


def until(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the sweep never got that far"
        time.sleep(0.05)


def test_a_worker_stops_within_its_grace_while_its_sweep_waits_for_the_cost_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeShopifyAdmin(access_tokens=[TOKEN], bucket=BUCKET) as fake:
        for n in range(ORDERS):
            fake.put_order_payload(order(n))
        shopify = ShopifyAdmin(fake.url_for, lambda _shop: TOKEN, timeout=5.0)
        desk = make_desk(tmp_path, monkeypatch, clock=ManualClock(T0 + timedelta(hours=2)),
                         connectors={"shopify": shopify, "smtp": RecordingConnector("smtp")},
                         reconcile={"page_size": 1})  # a listing of 12 points: it fits what is left
        background = Background(desk, pipeline=False, first_sweep_after=0.0)
        drain(fake)
        background.start()
        until(lambda: len(fake.calls) >= 2)  # the sweep's first listing: it tells the connector the bucket is low
        time.sleep(1.0)
        sent = len(fake.calls)
        assert sent == 2, "the read of the order waits for the bucket: nothing is sent meanwhile"

        started = time.monotonic()
        background.close()
        took = time.monotonic() - started

        assert [t.name for t in background.threads if t.is_alive()] == []
        assert took < Background.GRACE_SECONDS / 2, took
        assert len(fake.calls) <= sent + 1  # at most the read whose wait was cut short; no page after it
        with desk.db.unit_of_work(read_only=True) as uow:
            assert read_mark(uow, SHOP) is None  # the sweep did not finish: the next one starts over
