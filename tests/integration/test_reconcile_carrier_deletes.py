"""The reconciliation sweep recovers a lost ``fulfillment_events/delete`` (ADR 0065, amended in session 14), over
real HTTP against the Shopify stand-in, on SQLite and PostgreSQL: a ``delivered`` scan the desk holds that Shopify no
longer has was deleted, and the order is no longer delivered; never when the fulfilment's events were not all read,
and never for a scan the desk heard of after it read them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsdesk.connectors import shopify_reads
from opsdesk.desk import Desk
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.testing import ManualClock
from tests.integration.http_harness import serving
from tests.integration.reconcile_harness import (
    T0,
    TOKEN,
    _order,
    arrive_created_and_paid,
    build,
    database,  # noqa: F401 (the fixture: SQLite and PostgreSQL)
    drain,
    post,
)
from tests.integration.test_reconcile_carrier_events import SCAN, SHIP, carrier_event
from tests.integration.test_reconcile_carrier_scans import DELETED, MOVED, shipment
from tests.integration.test_reconcile_changes import shipped
from tests.samples import SHOP, delivery


def test_a_deleted_delivery_whose_webhook_was_lost_is_no_delivery_after_a_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str],  # noqa: F811
) -> None:
    # Each order: shipped, in transit, then delivered (Shopify's fulfilment update mirrors the scan), every webhook
    # arrived. k: the delivery was scanned by mistake and deleted in Shopify, its fulfillment_events/delete lost.
    # m: the same, but the fulfilment has more events than the sweep reads (cut): nothing is taken for deleted.
    # n: a new scan is made just after the sweep read the fulfilment's events, and its webhook is folded before the
    # sweep compares them with the desk: it is not taken for deleted.
    monkeypatch.setattr(shopify_reads, "EVENT_PAGES", 1, raising=False)  # 50 events at the most
    orders = {k: _order(n) for k, n in (("k", 2), ("m", 5), ("n", 8))}
    ids = {k: versions[-1][1]["id"] for k, versions in orders.items()}
    fids = {k: 8_400_000_300 + i for i, k in enumerate(orders)}
    first = {k: shipped(orders[k][-1][1], fids[k], SHIP, "confirmed") for k in orders}
    now = {k: shipped(orders[k][-1][1], fids[k], MOVED, "delivered") for k in orders}
    order_now = {k: {**orders[k][-1][1], "fulfillment_status": "fulfilled", "fulfillments": [now[k]],
                     "updated_at": MOVED.isoformat()} for k in orders}
    transit = {k: carrier_event(8_500_000_310 + i, now[k], "in_transit", SCAN) for i, k in enumerate(orders)}
    mistake = {k: carrier_event(8_500_000_320 + i, now[k], "delivered", MOVED) for i, k in enumerate(orders)}
    more = [carrier_event(8_500_001_000 + i, now["m"], "in_transit", SCAN + timedelta(seconds=i)) for i in range(60)]
    late = carrier_event(8_500_000_330, now["n"], "out_for_delivery", DELETED)
    arriving = [
        *[(SHIP, delivery("fulfillments/create", first[k], f"w-{k}-ship", triggered_at=SHIP)) for k in orders],
        *[(SCAN, delivery("fulfillment_events/create", transit[k], f"w-{k}-transit", triggered_at=SCAN))
          for k in orders],
        *[(MOVED, delivery(topic, body, f"w-{k}-{topic}", triggered_at=MOVED)) for k in orders
          for topic, body in (("fulfillment_events/create", mistake[k]), ("fulfillments/update", now[k]),
                              ("orders/updated", order_now[k]))],
        *[(SCAN, delivery("fulfillment_events/create", e, f"w-m-{e['id']}", triggered_at=SCAN)) for e in more],
    ]
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 - timedelta(minutes=1))
        desk, _smtp = build(tmp_path, "deletes", database("deletes"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        arrive_created_and_paid(desk, clock, list(orders.values()), *arriving)
        assert {k: shipment(desk, ids[k], fids[k]) for k in orders} == dict.fromkeys(orders, "delivered")
        for k in orders:
            fake.put_order_payload(order_now[k])
            for event in (transit[k], mistake[k]):
                fake.store.put_fulfilment_event(event)
        for k in ("k", "m"):
            fake.store.delete_fulfilment_event(mistake[k]["id"])  # deleted in Shopify; the webhook lost
        for event in more:
            fake.store.put_fulfilment_event(event)
        arrives_while_listed(monkeypatch, reconciler.reader, desk, fake, late)

        clock.set(DELETED + timedelta(hours=1))
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert [(f["resource"], f["reason"]) for f in report.found if f["resource"].endswith(":deleted")] == [
            (f"carrier_event:{mistake['k']['id']}:deleted", "missing")]
        drain(desk)

        assert {k: shipment(desk, ids[k], fids[k]) for k in orders} == {
            "k": "in_transit", "m": "delivered", "n": "out_for_delivery"}
        assert carrier_status(desk, ids["k"]) == "in_transit"  # the order is no longer delivered
        again = reconciler.sweep(SHOP, since=T0)  # the same window again: nothing appended
        assert again.ok and again.appended == 0 and again.found == [], again.found


def arrives_while_listed(monkeypatch: pytest.MonkeyPatch, reader: Any, desk: Desk, fake: FakeShopifyAdmin,
                         scan: dict[str, Any]) -> None:
    """``scan`` is created in Shopify just after the sweep first reads its fulfilment's events (so they lack it), and
    its webhook reaches the desk, and is folded, before the sweep compares them with what the desk holds."""
    read, made = reader.fulfillment_events, []

    def racing(shop: str, fulfillment_gid: str) -> Any:
        reply = read(shop, fulfillment_gid)
        if fulfillment_gid.endswith(f"/{scan['fulfillment_id']}") and not made:
            made.append(scan)
            fake.store.put_fulfilment_event(scan)
            with serving(desk) as url, httpx.Client(timeout=10) as client:
                assert post(client, url, delivery("fulfillment_events/create", scan, "w-n-late",
                                                  triggered_at=DELETED)) == 200
            drain(desk)
        return reply

    monkeypatch.setattr(reader, "fulfillment_events", racing)


def carrier_status(desk: Desk, order_id: int) -> str | None:
    with desk.db.unit_of_work(read_only=True) as uow:
        state = uow.orders.find(ShopDomain(SHOP), OrderId(order_id))
    return state.carrier_status.status if state is not None and state.carrier_status else None
