"""Case titles read as what happened to which order: the order's name (``#1205``) whenever the desk has it, a
plain fallback when it does not yet, and the pages put the name in once the order is stored. Stock is said by
what the event gave (the desk puts in the names it knows as the case opens: tests/integration/
test_inventory_names.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsdesk.domain.events import (
    InventoryLevelChanged,
    OrderId,
    OrderOversold,
    RiskAssessed,
    ShopDomain,
    StoreEvent,
)
from opsdesk.domain.policies import Decision, Escalation, Outcome
from opsdesk.services.effects import case_for
from opsdesk.services.resolutions import CaseResolved
from opsdesk.services.titles import case_title, with_order_name

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHOP = ShopDomain("demo.myshopify.com")
ORDER = OrderId(5_000_000_000_075_285_080)
RISK = RiskAssessed(SHOP, NOW, ORDER, "high", "Shopify")
ESCALATED = Decision("risk", "v1", "review", Outcome.ESCALATE, "high risk", escalation=Escalation("risk"))


def title(event: StoreEvent, order_name: str = "") -> str:
    return case_for("d1", ESCALATED, event, Escalation("risk"), NOW, order_name=order_name).title


@pytest.mark.parametrize(
    ("event", "order_name", "expected"),
    [
        (RISK, "#1205", "Risk assessed on order #1205"),
        (RISK, "", f"Risk assessed on order id {ORDER}"),  # the order is not stored yet
        (CaseResolved(SHOP, NOW, "c1", ORDER), "#1205", "Case resolved on order #1205"),
        (InventoryLevelChanged(SHOP, NOW, 808, 905, -2), "",
         "Stock below zero: inventory item 808 (SKU not known) at location 905, -2 available"),
        (InventoryLevelChanged(SHOP, NOW, 808, 905, 4), "",
         "Inventory level updated: inventory item 808 (SKU not known) at location 905, 4 available"),
        (InventoryLevelChanged(SHOP, NOW, 808, 905, None), "",
         "Inventory level updated: inventory item 808 (SKU not known) at location 905, no count"),
        (OrderOversold(SHOP, NOW, ORDER, ("HAT-1", "SCARF-2"), -1, "stock below zero"), "#1205",
         "Order #1205 oversold: SKU HAT-1, SKU SCARF-2"),
        (OrderOversold(SHOP, NOW, ORDER, ("HAT-1",), -1, "stock below zero"), "",
         f"Order id {ORDER} oversold: SKU HAT-1"),
    ],
)
def test_a_rule_escalated_case_says_what_happened_on_which_order(
    event: StoreEvent, order_name: str, expected: str
) -> None:
    assert title(event, order_name) == expected


def test_an_order_event_names_the_order_once() -> None:
    assert case_title("order.cancelled", ORDER, "#1455") == "Order #1455 cancelled"
    assert case_title("order.oversold", ORDER, "") == f"Order id {ORDER} oversold"


def test_the_pages_put_the_name_of_an_order_stored_since_into_a_title_that_names_it_by_its_id() -> None:
    assert with_order_name(f"Risk assessed on order id {ORDER}", ORDER, "#1205") == "Risk assessed on order #1205"
    assert with_order_name(f"Order id {ORDER} oversold", ORDER, "#1205") == "Order #1205 oversold"
    assert with_order_name(f"refund failed for order {ORDER}", ORDER, "#1205") == "refund failed for order #1205"
    assert with_order_name(f"Order id {ORDER}1 oversold", ORDER, "#1205") == f"Order id {ORDER}1 oversold"
    assert with_order_name("Risk assessed on order #1205", ORDER, "") == "Risk assessed on order #1205"
