"""The pipeline watchers read and write a whole batch at once: the same deliveries, processed in one batch or
one at a time, must give the same signals, stock, cases and actions (events in a batch depend on each other).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from opsdesk.services.inventory import OVERSOLD, freshness
from tests.integration.order_scenarios import MONDAY_9AM, Scenario, make_scenario, order, order_id_of
from tests.integration.order_scenarios import inventory_item as item
from tests.integration.order_scenarios import inventory_level as level
from tests.pipeline_harness import feed
from tests.samples import SHOP, delivery

Delivery = tuple[str, dict[str, Any]]


def deliveries() -> list[Delivery]:
    """Stock and orders whose outcome depends on what came before them in the same batch."""
    fulfilled = order(4, MONDAY_9AM + timedelta(minutes=3))
    fulfilled["fulfillment_status"] = "fulfilled"
    renamed = {**item("RENAMED"), "updated_at": (MONDAY_9AM + timedelta(minutes=5)).isoformat()}
    return [
        ("inventory_items/update", item()),
        ("inventory_levels/update", level(1, MONDAY_9AM)),
        ("orders/create", order(1, MONDAY_9AM + timedelta(minutes=1))),  # one unit left for it: fine
        ("inventory_levels/update", level(-1, MONDAY_9AM + timedelta(minutes=2))),  # order 1 is now oversold
        ("orders/create", order(2, MONDAY_9AM + timedelta(minutes=3))),  # for stock known to be below zero
        ("orders/create", order(3, MONDAY_9AM + timedelta(minutes=3), sku="OTHER")),  # no stock known
        ("orders/create", fulfilled),  # closed: not held, not tracked
        ("inventory_levels/update", level(-7, MONDAY_9AM + timedelta(minutes=1))),  # stale: says nothing
        ("inventory_levels/update", level(-2, MONDAY_9AM + timedelta(minutes=5), location=99)),  # 2nd location
        ("inventory_items/update", renamed),  # the item's SKU changes: its stock is RENAMED's now
        ("orders/create", order(5, MONDAY_9AM + timedelta(minutes=6))),  # SKU2006-001 has no stock known now
        ("orders/create", order(6, MONDAY_9AM + timedelta(minutes=6), sku="RENAMED")),
    ]


@pytest.fixture
def twins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Scenario, Scenario]]:
    desks = [make_scenario(tmp_path / name, monkeypatch, f"sqlite:///{tmp_path / name}.db")
             for name in ("batched", "single")]
    for name in ("batched", "single"):
        (tmp_path / name).mkdir()
    yield next(desks[0]), next(desks[1])
    for desk in desks:
        desk.close()  # the desk's connectors and stand-ins


def outcome(s: Scenario) -> dict[str, Any]:
    with s.desk.db.unit_of_work(read_only=True) as uow:
        signals = uow.readiness.deliveries([OVERSOLD], MONDAY_9AM - timedelta(days=1), 100)
        fresh = freshness(uow, SHOP, MONDAY_9AM)
        held = {sku: uow.inventory.open_orders(SHOP, sku) for sku in ("SKU2006-001", "OTHER", "RENAMED")}
        stock = uow.inventory.levels(SHOP, ["SKU2006-001", "RENAMED"])
    return {
        "signals": sorted((d.delivery.webhook_id, d.delivery.body) for d in signals),
        "negative": fresh.negative,
        "last": fresh.last_update,
        "open orders": held,
        "stock": {sku: sorted((x.location_id, x.available) for x in found) for sku, found in stock.items()},
        "cases": sorted((c.id, c.kind, c.order_id) for c in s.cases()),
        "holds": sorted(s.effects("fulfillmentOrderHold")),
    }


def test_one_batch_gives_what_one_delivery_at_a_time_gives(twins: tuple[Scenario, Scenario]) -> None:
    batched, single = twins
    feed(batched.desk.db, [delivery(topic, payload, f"b-{n}", triggered_at=MONDAY_9AM)
                           for n, (topic, payload) in enumerate(deliveries())], batched.clock)
    assert batched.desk.process_pending().deliveries >= len(deliveries())
    for topic, payload in deliveries():
        single.deliver(topic, payload)
    for scenario in twins:
        scenario.work()

    found = outcome(batched)
    assert found == outcome(single)
    assert [webhook_id for webhook_id, _ in found["signals"]] == [
        f"opsdesk:{OVERSOLD}:{order_id_of(1)}:SKU2006-001",  # the level below zero, after it was placed
        f"opsdesk:{OVERSOLD}:{order_id_of(2)}:SKU2006-001",  # placed after the level below zero
        f"opsdesk:{OVERSOLD}:{order_id_of(6)}:RENAMED",  # the item's stock counts for its new SKU
    ]
    assert found["open orders"] == {
        "SKU2006-001": [order_id_of(5), order_id_of(2), order_id_of(1)],
        "OTHER": [order_id_of(3)],
        "RENAMED": [order_id_of(6)],
    }
    assert found["stock"] == {"RENAMED": [(99, -2), (24826418, -1)]}  # the stale -7 was not kept
