"""Inventory sync lag and overselling (playbooks/inventory.yaml, services/inventory.py) on a virtual
clock, from Shopify's ``inventory_items/update``, ``inventory_levels/update`` and order samples.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsdesk.services.inventory import freshness
from tests.integration.order_scenarios import (
    ITEM,
    MONDAY_9AM,
    Scenario,
    order,
    order_id_of,
    scenario,
    sql_scenario,
)
from tests.integration.order_scenarios import inventory_item as item
from tests.integration.order_scenarios import inventory_level as level
from tests.samples import SHOP

__all__ = ["scenario", "sql_scenario"]


def test_stock_below_zero_holds_the_open_orders_for_it_and_opens_inventory_cases(
    sql_scenario: Scenario,
) -> None:
    s = sql_scenario
    s.deliver("inventory_items/update", item())
    s.deliver("inventory_levels/update", level(1, MONDAY_9AM))
    s.deliver("orders/create", order(1, MONDAY_9AM + timedelta(minutes=1)))
    s.deliver("orders/create", order(2, MONDAY_9AM + timedelta(minutes=2)))
    assert s.cases() == []  # one unit was there for the first order: nothing is wrong yet
    s.later(minutes=3)
    s.deliver("inventory_levels/update", level(-1, s.clock.now()))
    s.work()

    # One unit short: the newest order is the one sold without stock; the first took the unit there was.
    assert s.effects("fulfillmentOrderHold") == [f"gid://shopify/FulfillmentOrder/{order_id_of(2)}1"]
    assert {e.detail["reason"] for e in s.shopify.effects} == {"INVENTORY_OUT_OF_STOCK"}
    by_order = {c.order_id: c for c in s.cases()}
    assert sorted(by_order, key=str) == sorted([None, order_id_of(2)], key=str)
    for case in by_order.values():
        assert (case.queue, case.kind, case.priority) == ("inventory", "inventory", "high")
        # 4 hours around the clock (the starter's "around-the-clock" calendar), from when it opened.
        assert case.due_at == s.clock.now() + timedelta(hours=4)
        assert case.owner == "carol"  # the ops team's only member
    with s.desk.db.unit_of_work(read_only=True) as uow:
        fresh = freshness(uow, SHOP, s.clock.now())
    assert fresh.last_update == s.clock.now() and fresh.age == timedelta(0)
    assert [(x.inventory_item_id, x.available, x.sku) for x in fresh.negative] == [(ITEM, -1, "SKU2006-001")]


def test_an_order_for_stock_already_below_zero_is_held_when_it_arrives(scenario: Scenario) -> None:
    scenario.deliver("inventory_items/update", item())
    scenario.deliver("inventory_levels/update", level(-2, MONDAY_9AM))
    scenario.deliver("orders/create", order(1, MONDAY_9AM + timedelta(minutes=5)))
    scenario.work()

    assert scenario.effects("fulfillmentOrderHold") == [f"gid://shopify/FulfillmentOrder/{order_id_of(1)}1"]
    assert ("order.oversold", "inventory", "hold-oversold-order", "automate") in scenario.decisions(
        order_id_of(1)
    )


def test_fulfilled_and_cancelled_orders_are_not_held_and_a_stale_level_changes_nothing(
    scenario: Scenario,
) -> None:
    scenario.deliver("inventory_items/update", item())
    scenario.deliver("inventory_levels/update", level(3, MONDAY_9AM + timedelta(minutes=10)))
    placed = MONDAY_9AM + timedelta(minutes=15)  # after the item was last heard in stock
    shipped = order(1, placed)
    shipped["fulfillment_status"] = "fulfilled"
    scenario.deliver("orders/create", shipped)
    cancelled = order(2, placed)
    cancelled.update(cancelled_at=placed.isoformat(), cancel_reason="customer")
    scenario.deliver("orders/create", cancelled)
    scenario.deliver("orders/create", order(3, placed))
    # Older than the level already stored: Shopify delivered it late, it says nothing about stock now.
    scenario.deliver("inventory_levels/update", level(-5, MONDAY_9AM + timedelta(minutes=1)))
    scenario.work()

    assert scenario.effects("fulfillmentOrderHold") == []
    assert scenario.cases() == [
        c for c in scenario.cases() if c.order_id is None
    ]  # only the level's own case
    scenario.deliver("inventory_levels/update", level(-1, MONDAY_9AM + timedelta(minutes=20)))
    scenario.work()
    assert scenario.effects("fulfillmentOrderHold") == [f"gid://shopify/FulfillmentOrder/{order_id_of(3)}1"]


def test_a_level_below_zero_holds_one_of_the_newest_open_orders_per_unit_short(scenario: Scenario) -> None:
    scenario.deliver("inventory_items/update", item())
    scenario.deliver("inventory_levels/update", level(1, MONDAY_9AM))
    for n in (1, 2, 3):
        scenario.deliver("orders/create", order(n, MONDAY_9AM + timedelta(minutes=n)))
    scenario.deliver("inventory_levels/update", level(-2, MONDAY_9AM + timedelta(minutes=4)))
    scenario.work()

    held = sorted(scenario.effects("fulfillmentOrderHold"))
    assert held == [f"gid://shopify/FulfillmentOrder/{order_id_of(n)}1" for n in (2, 3)]


def test_orders_placed_before_the_item_was_last_in_stock_are_not_held(scenario: Scenario) -> None:
    """The orders sold while stock lasted took it and ship: a fall below zero holds only orders placed since the
    item was last heard at zero or above; an earlier order paid later is not short either. Shopify's level may
    come before the order that caused it (delivered late): that order is held when it arrives."""
    scenario.deliver("inventory_items/update", item())
    scenario.deliver("inventory_levels/update", level(2, MONDAY_9AM))
    first = order(1, MONDAY_9AM + timedelta(minutes=1))
    first["financial_status"] = "pending"
    scenario.deliver("orders/create", first)
    scenario.deliver("orders/create", order(2, MONDAY_9AM + timedelta(minutes=2)))
    scenario.deliver("inventory_levels/update", level(0, MONDAY_9AM + timedelta(minutes=3)))
    scenario.deliver("inventory_levels/update", level(-1, MONDAY_9AM + timedelta(minutes=5)))  # order 3 not in yet
    scenario.work()
    assert scenario.effects("fulfillmentOrderHold") == []

    scenario.deliver("orders/create", order(3, MONDAY_9AM + timedelta(minutes=4)))
    paid = order(1, MONDAY_9AM + timedelta(minutes=1))
    paid["updated_at"] = (MONDAY_9AM + timedelta(minutes=6)).isoformat()
    scenario.deliver("orders/paid", paid)
    scenario.work()
    assert scenario.effects("fulfillmentOrderHold") == [f"gid://shopify/FulfillmentOrder/{order_id_of(3)}1"]


def test_freshness_reports_when_stock_was_last_heard_of(scenario: Scenario) -> None:
    with scenario.desk.db.unit_of_work(read_only=True) as uow:
        assert freshness(uow, SHOP, MONDAY_9AM).last_update is None
    scenario.deliver("inventory_levels/update", level(4, MONDAY_9AM))
    with scenario.desk.db.unit_of_work(read_only=True) as uow:
        fresh = freshness(uow, SHOP, datetime(2026, 3, 2, 14, 20, tzinfo=UTC))
    assert (fresh.last_update, fresh.age, fresh.negative) == (MONDAY_9AM, timedelta(minutes=20), ())
