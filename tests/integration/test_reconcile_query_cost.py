"""The sweep reads orders under Shopify's query cost limit, and says why when one query is over it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services.reconcile import read_mark
from opsdesk.testing import ManualClock
from tests.integration.reconcile_harness import (
    PERIOD,
    T0,
    TOKEN,
    _order,
    appended_for,
    build,
    database,
    drain,
    fulfilment,
    states,
    stream,
    swept_once,
)
from tests.samples import SHOP, sample

__all__ = ["database"]  # the fixture: SQLite and PostgreSQL


def large(n: int, at: datetime) -> dict[str, Any]:
    """Order ``n`` as Shopify holds it after a busy life: more lines, discounts, fulfilments and refunds (each
    refund with more transactions and lines) than one query may read under Shopify's cost limit."""
    order = _order(n)[-1][1]
    line = order["line_items"][0]
    lines = [{**line, "id": 60_000_000 + 1000 * n + i, "sku": f"SKU-{i}", "quantity": 1} for i in range(130)]
    refunds = []
    for r in range(7):
        refund = sample("refunds/create")
        base = 70_000_000 + 1000 * n + 100 * r
        refund.update(id=base, order_id=order["id"], created_at=(at - timedelta(minutes=10 - r)).isoformat(),
                      processed_at=None, note=f"refund {r}",
                      transactions=[{**refund["transactions"][0], "id": base + t, "amount": "1.00"} for t in range(12)],
                      refund_line_items=[{**refund["refund_line_items"][0], "id": base + 50 + t,
                                          "line_item_id": lines[t]["id"]} for t in range(12)])
        refunds.append(refund)
    return {**order, "line_items": lines, "refunds": refunds, "updated_at": at.isoformat(),
            "financial_status": "partially_refunded", "fulfillment_status": "partial",
            "discount_applications": [{"title": f"manual {d}"} for d in range(12)],
            "fulfillments": [fulfilment(n, order["id"], at - timedelta(minutes=30)) | {"id": 8_300_000 + 100 * n + f}
                             for f in range(12)]}


def test_orders_with_more_than_one_query_can_read_are_recovered_whole_every_query_under_the_cost_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str]
) -> None:
    at = T0 + timedelta(minutes=30)
    held = [large(1, at), large(4, at + timedelta(minutes=1))]
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 + timedelta(hours=1))
        desk, _ = build(tmp_path, "large", database("large"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None
        for payload in held:
            fake.put_order_payload(payload)

        report = reconciler.sweep(SHOP, since=T0)

        assert report.ok, report.error
        assert (report.seen, report.orders_read, report.refunds_seen, report.incomplete) == (2, 2, 14, [])
        assert report.appended == report.missing == appended_for(held) == 2 * (1 + 12 + 7)
        assert max(c.cost for c in fake.calls) <= 1000 and {c.status for c in fake.calls} == {200}
        with desk.db.unit_of_work(read_only=True) as uow:
            bodies = [(s.delivery.topic, json.loads(s.delivery.body)) for s in uow.deliveries.pending(100)]
        orders = [b for t, b in bodies if t == "orders/updated"]
        assert [len(o["line_items"]) for o in orders] == [130, 130]
        assert [len(o["discount_applications"]) for o in orders] == [12, 12]
        assert [(o["id"], len(o["refunds"]), len(o["fulfillments"])) for o in orders] == [
            (p["id"], 7, 12) for p in held]
        refunds = [b for t, b in bodies if t == "refunds/create"]
        assert [(len(r["transactions"]), len(r["refund_line_items"])) for r in refunds] == [(12, 12)] * 14
        drain(desk)
        recovered = states(desk, [p["id"] for p in held])
        for payload in held:
            state = recovered[payload["id"]]
            assert state is not None and state.snapshot is not None
            assert [i.id for i in state.snapshot.line_items] == [i["id"] for i in payload["line_items"]]
            assert sorted(state.refunds) == sorted(r["id"] for r in payload["refunds"])
            assert state.refunded == Decimal("84.00")  # 7 refunds of 12 transactions of 1.00
            assert sorted(state.fulfillments) == sorted(f["id"] for f in payload["fulfillments"])


def test_a_query_over_shopifys_cost_limit_is_refused_and_the_sweep_says_why_without_moving_its_mark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str]
) -> None:
    _, current = stream()
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0)
        desk, reconciler, waits = swept_once(tmp_path, "costly", database, fake, monkeypatch, clock)
        for payload in current.values():
            fake.put_order_payload(payload)
        clock.set(T0 + PERIOD)
        # 250 a page is Shopify's page limit, but not what 1,000 points buy: the configuration stops at 100.
        reconciler.settings = replace(reconciler.settings, page_size=250)

        refused = reconciler.sweep(SHOP)

        assert not refused.ok and refused.mark is None and (refused.pages, refused.appended) == (0, 0)
        assert refused.error == ("the Admin API refused the orders query: MAX_COST_EXCEEDED: Query cost is 2253, "
                                 "which exceeds the single query max cost limit (1000).")
        assert waits == []  # asking again cannot help: not retried
        assert [(c.operation, c.cost, c.status) for c in fake.calls[-1:]] == [("orders", 2253, 200)]
        with desk.db.unit_of_work(read_only=True) as uow:
            assert read_mark(uow, SHOP) == T0
            assert uow.deliveries.count("pending") == 0
