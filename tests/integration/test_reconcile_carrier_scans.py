"""The reconciliation sweep and carrier scans judged by when they happened (ADR 0065; ADR 0040), over real HTTP on
SQLite and PostgreSQL: a delay recovered with the later in-transit scan that followed it tells nobody, and a deleted
delivery (its delete webhook arrived) stays deleted while the sweep brings the fulfilment's newer status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from opsdesk.desk import Desk
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.testing import ManualClock
from tests.integration.reconcile_harness import (
    T0,
    TOKEN,
    _order,
    arrive_created_and_paid,
    build,
    database,  # noqa: F401 (the fixture: SQLite and PostgreSQL)
    drain,
)
from tests.integration.test_reconcile_carrier_events import (
    SCAN,
    SHIP,
    carrier_event,
    emails,
    superseded_rules,
)
from tests.integration.test_reconcile_changes import shipped
from tests.samples import SHOP, delivery

MOVED, DELETED = SCAN + timedelta(minutes=30), SCAN + timedelta(hours=2)


def test_a_recovered_delay_before_a_recovered_movement_tells_nobody_and_a_deleted_delivery_stays_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str],  # noqa: F811
) -> None:
    # g: delayed, then in transit again 30 minutes later; both carrier events' webhooks lost (the fulfilment's
    # update and the order's arrived). h: in transit, then delivered by mistake, then that scan deleted; every
    # webhook arrived but the fulfilment's update after the deletion, which the sweep brings.
    orders = {k: _order(n) for k, n in (("g", 20), ("h", 23))}
    ids = {k: versions[-1][1]["id"] for k, versions in orders.items()}
    first = {k: shipped(orders[k][-1][1], 8_400_000_200 + n, SHIP, "confirmed") for n, k in enumerate(orders)}
    now = {"g": shipped(orders["g"][-1][1], first["g"]["id"], MOVED, "in_transit"),
           "h": shipped(orders["h"][-1][1], first["h"]["id"], DELETED, "in_transit")}
    order_now = {k: {**orders[k][-1][1], "fulfillment_status": "fulfilled", "fulfillments": [now[k]],
                     "updated_at": now[k]["updated_at"]} for k in orders}
    delay, moving = carrier_event(8_500_000_201, now["g"], "delayed", SCAN), carrier_event(
        8_500_000_202, now["g"], "in_transit", MOVED)
    transit, mistake = carrier_event(8_500_000_211, now["h"], "in_transit", SCAN), carrier_event(
        8_500_000_212, now["h"], "delivered", MOVED)
    arriving = [
        *[(SHIP, delivery("fulfillments/create", first[k], f"w-{k}-ship", triggered_at=SHIP)) for k in orders],
        (MOVED, delivery("fulfillments/update", now["g"], "w-g-update", triggered_at=MOVED)),
        (MOVED, delivery("orders/updated", order_now["g"], "w-g-order", triggered_at=MOVED)),
        (SCAN, delivery("fulfillment_events/create", transit, "w-h-transit", triggered_at=SCAN)),
        (MOVED, delivery("fulfillment_events/create", mistake, "w-h-mistake", triggered_at=MOVED)),
        (MOVED, delivery("fulfillments/update", {**now["h"], "shipment_status": "delivered",
                                                 "updated_at": MOVED.isoformat()}, "w-h-update", triggered_at=MOVED)),
        (DELETED, delivery("fulfillment_events/delete", mistake, "w-h-delete", triggered_at=DELETED)),
    ]
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 - timedelta(minutes=1))
        desk, smtp = build(tmp_path, "scans", database("scans"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        arrive_created_and_paid(desk, clock, list(orders.values()), *arriving)
        assert shipment(desk, ids["h"], now["h"]["id"]) == "in_transit"  # the deletion folded: not delivered
        for k in orders:
            fake.put_order_payload(order_now[k])
        for event in (delay, moving, transit):  # Shopify no longer has the deleted scan
            fake.store.put_fulfilment_event(event)

        clock.set(DELETED + timedelta(hours=1))
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert sorted((f["resource"], f["reason"]) for f in report.found) == sorted([
            (f"carrier_event:{delay['id']}", "undecided"), (f"carrier_event:{moving['id']}", "undecided"),
            ("order", "stale"), (f"fulfillment:{now['h']['id']}", "stale")])
        drain(desk)

        assert emails(smtp) == Counter()  # g's delay was over when the desk heard of it
        assert superseded_rules(desk, ids["g"]) == [f"fulfillment_event.created:{delay['id']}"]
        assert {k: shipment(desk, ids[k], now[k]["id"]) for k in orders} == {"g": "in_transit", "h": "in_transit"}
        again = reconciler.sweep(SHOP, since=T0)  # the same window again: nothing appended
        assert again.ok and again.appended == 0 and again.found == []


def shipment(desk: Desk, order_id: int, fulfilment_id: int) -> str | None:
    with desk.db.unit_of_work(read_only=True) as uow:
        state = uow.orders.find(ShopDomain(SHOP), OrderId(order_id))
    return state.shipments[fulfilment_id].status if state is not None and fulfilment_id in state.shipments else None
