"""The inventory cases name the stock by what the desk knows as they open: the product and its SKU, and the
warehouse of the location; by the ids Shopify sent, said as such, for what it does not know.

Through the real intake path (Shopify's ``inventory_items/update``, ``inventory_levels/update`` and order
samples), the starter's inventory playbook and the Shopify Admin stand-in, on a SQLite file and on PostgreSQL
(tests/integration/order_scenarios.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from opsdesk.services.cases import act
from tests.integration.order_scenarios import (
    ITEM,
    LOCATION,
    MONDAY_9AM,
    SHOP,
    Scenario,
    inventory_item,
    inventory_level,
    make_scenario,
    order,
    order_id_of,
    scenario,
)

__all__ = ["scenario"]

#: The store's warehouse at the samples' location (opsdesk.yaml ``warehouses:``).
WAREHOUSES = {"main": {"name": "Main warehouse", "location_id": LOCATION, "lead": "carol"}}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stocked(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    """The scenario desk with the warehouse, on a SQLite file, then on a PostgreSQL schema of its own."""
    url = f"sqlite:///{tmp_path / 'opsdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield from make_scenario(tmp_path, monkeypatch, url, warehouses=WAREHOUSES)


def titles(s: Scenario) -> dict[int | None, str]:
    """The inventory cases' titles, by order (None: a level's own case)."""
    return {c.order_id: c.title for c in s.cases(queue="inventory")}


def test_stock_below_zero_is_named_by_its_product_sku_and_warehouse(stocked: Scenario) -> None:
    s = stocked
    s.deliver("inventory_items/update", inventory_item())
    s.deliver("inventory_levels/update", inventory_level(1, MONDAY_9AM))
    s.deliver("orders/create", order(1, MONDAY_9AM + timedelta(minutes=1)))  # one pair of Aviator sunglasses
    s.deliver("orders/create", order(2, MONDAY_9AM + timedelta(minutes=2)))
    s.later(minutes=3)

    s.deliver("inventory_levels/update", inventory_level(-2, s.clock.now()))
    s.work()

    assert titles(s) == {
        None: "Stock below zero: Aviator sunglasses (SKU SKU2006-001) at Main warehouse, -2 available",
        order_id_of(1): "Order #1001 oversold: Aviator sunglasses (SKU SKU2006-001)",
        order_id_of(2): "Order #1002 oversold: Aviator sunglasses (SKU SKU2006-001)",
    }
    [level_case] = [c for c in s.cases(queue="inventory") if c.order_id is None]
    assert level_case.detail["stock"] == {
        "inventory_item_id": ITEM, "location_id": LOCATION, "available": -2,
        "sku": "SKU2006-001", "product": "Aviator sunglasses", "location": "Main warehouse",
    }


def test_an_order_for_stock_already_gone_names_each_of_its_products(stocked: Scenario) -> None:
    s = stocked
    s.deliver("inventory_items/update", inventory_item())
    s.deliver("inventory_levels/update", inventory_level(-2, MONDAY_9AM))  # nobody holds the SKU yet: no product title
    s.deliver("orders/create", order(1, MONDAY_9AM + timedelta(minutes=5)))
    s.work()

    assert titles(s) == {
        None: "Stock below zero: SKU SKU2006-001 at Main warehouse, -2 available",
        order_id_of(1): "Order #1001 oversold: Aviator sunglasses (SKU SKU2006-001)",
    }


def test_stock_the_desk_cannot_name_is_said_by_the_ids_shopify_sent(scenario: Scenario) -> None:
    # No inventory_items/* ever came for the item (a store installed before its products were last changed),
    # Shopify does not know it either when asked, and no warehouse is configured at the location.
    scenario.deliver("inventory_levels/update", inventory_level(-3, MONDAY_9AM))
    scenario.work()

    assert titles(scenario) == {
        None: f"Stock below zero: inventory item {ITEM} (SKU not known) at location {LOCATION}, -3 available",
    }
    [case] = scenario.cases(queue="inventory")
    assert [signal["reason"] for signal in case.detail["signals"]] == [
        f"the item's SKU could not be read from Shopify: no inventory item gid://shopify/InventoryItem/{ITEM} "
        f"in {SHOP}"
    ]
    assert not [c for c in scenario.cases() if c.kind == "automation_failure"]


def test_an_item_known_only_by_id_is_asked_of_shopify_and_its_orders_are_held(stocked: Scenario) -> None:
    """A store whose items have not changed since opsdesk was connected never sends ``inventory_items/*``: a level
    below zero names its item by id only. The desk asks Shopify which SKU it is (once), then finds and holds the
    open orders holding it and names the stock's case, as if the item had been heard of."""
    s = stocked
    s.shopify.add_inventory_item(ITEM, "SKU2006-001")
    s.deliver("orders/create", order(1, MONDAY_9AM + timedelta(minutes=1)))  # one pair of Aviator sunglasses
    s.deliver("orders/create", order(2, MONDAY_9AM + timedelta(minutes=2)))
    s.later(minutes=3)

    s.deliver("inventory_levels/update", inventory_level(-1, s.clock.now()))
    s.work()
    s.deliver("inventory_levels/update", inventory_level(-2, s.clock.now() + timedelta(minutes=1)))
    s.work()

    assert titles(s) == {
        None: "Stock below zero: Aviator sunglasses (SKU SKU2006-001) at Main warehouse, -2 available",
        order_id_of(1): "Order #1001 oversold: Aviator sunglasses (SKU SKU2006-001)",
        order_id_of(2): "Order #1002 oversold: Aviator sunglasses (SKU SKU2006-001)",
    }
    held = sorted(s.effects("fulfillmentOrderHold"))
    assert held == [f"gid://shopify/FulfillmentOrder/{order_id_of(n)}1" for n in (1, 2)]
    asked = [c for c in s.shopify.calls if c.operation == "inventoryItem"]
    assert len(asked) == 1  # once per item: the second level knows the SKU
    [level_case] = [c for c in s.cases(queue="inventory") if c.order_id is None]
    assert level_case.detail["stock"]["sku"] == "SKU2006-001"


OTHER_LOCATION = LOCATION + 1


def test_a_level_falling_further_joins_its_open_case_and_retitles_it(stocked: Scenario) -> None:
    """One case for an item at a location while it is open, however far the level falls (the demo's overselling
    opened one case per unit sold past zero); another location's level is a case of its own; once the case has
    ended, the next fall opens a new one."""
    s = stocked
    s.deliver("inventory_items/update", inventory_item())
    for n, available in enumerate((-1, -2, -3)):
        s.deliver("inventory_levels/update", inventory_level(available, MONDAY_9AM + timedelta(minutes=n)))
    s.deliver("inventory_levels/update", inventory_level(-1, MONDAY_9AM + timedelta(minutes=4), OTHER_LOCATION))
    s.work()

    [here, there] = sorted(s.cases(queue="inventory"), key=lambda c: c.detail["stock"]["location_id"])
    assert here.title == "Stock below zero: SKU SKU2006-001 at Main warehouse, -3 available"
    assert here.detail["stock"]["available"] == -3
    assert [signal["reason"] for signal in here.detail["signals"]] == [here.reason] * 2
    assert (there.detail["stock"]["location_id"], there.detail["stock"]["available"]) == (OTHER_LOCATION, -1)
    with s.desk.db.unit_of_work(read_only=True) as uow:
        retitled = [c.after.get("title") for c in uow.cases.timeline(here.id) if c.kind == "signal"]
    assert retitled == [
        "Stock below zero: SKU SKU2006-001 at Main warehouse, -2 available",
        "Stock below zero: SKU SKU2006-001 at Main warehouse, -3 available",
    ]

    with s.desk.db.unit_of_work() as uow:
        hooks = s.desk.case_hooks
        act(uow, here.id, "resolve", "carol", s.clock.now(), hooks, resolution="no_action", note="recounted")
        uow.commit()
    s.deliver("inventory_levels/update", inventory_level(-4, MONDAY_9AM + timedelta(minutes=30)))
    s.work()
    active = [c for c in s.cases(queue="inventory") if c.status.active and c.detail["stock"]["location_id"] == LOCATION]
    assert [(c.id != here.id, c.detail["stock"]["available"]) for c in active] == [(True, -4)]
