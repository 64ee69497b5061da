"""The desk refunds what the customer paid for the returned units, not their list price (ADR 0049): their price less
their discounts, plus their tax. Shopify's webhook for that refund says its lines were paid in full, so a later
request for the same units is superseded, not a case. Shopify's samples, the starter playbooks, a virtual clock, the
Shopify (its refunds' webhooks) and SMTP stand-ins; SQLite and PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    line_id_of,
    order,
    order_id_of,
    return_request,
    scenario,
    sql_scenario,
)
from tests.integration.test_refunded_return import LISTENING, refunds_made, requested
from tests.integration.test_refunded_return_tax import usd
from tests.integration.test_refunded_return_units import second_return

__all__ = ["scenario", "sql_scenario"]


def discounted_taxed(n: int, units: int = 1) -> dict[str, Any]:
    """Order ``n``: ``units`` of its line at 25.00, 20 % off (5.00 a unit allocated), taxed 8 % (1.60 a unit):
    21.60 a unit paid."""
    payload = order(n, MONDAY_9AM, price="25.00")
    off, tax = f"{5 * units}.00", f"{Decimal('1.60') * units}"
    payload["line_items"][0].update(
        quantity=units,
        current_quantity=units,
        total_discount=off,
        total_discount_set=usd(off),
        discount_allocations=[{"amount": off, "amount_set": usd(off), "discount_application_index": 0}],
        tax_lines=[{"title": "State tax", "price": tax, "price_set": usd(tax), "rate": 0.08, "channel_liable": False}],
    )
    return payload


def test_a_discounted_taxed_unit_is_refunded_what_was_paid_and_a_second_request_for_it_is_superseded(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", discounted_taxed(1))
    scenario.later(minutes=5)
    scenario.deliver("returns/request", return_request(1, "UNWANTED", price="25.00"))
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("21.60")]  # 25.00 less 5.00, plus 1.60 of tax
    [mail] = scenario.mail_to("c1@example.com")
    assert "We have refunded 21.60 USD for order #1001" in mail.body
    [ours] = scenario.shopify.refund_webhooks(order_id_of(1))
    assert [(li["line_item_id"], li["subtotal"], li["total_tax"]) for li in ours["refund_line_items"]] == [
        (line_id_of(1), 20.0, 1.6)
    ]
    scenario.later(minutes=1)
    scenario.deliver("refunds/create", ours)  # Shopify's webhook for the desk's refund: the unit paid in full
    scenario.later(hours=1)
    scenario.deliver("returns/request", second_return(1))  # the same unit asked for again
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("21.60")]  # not a second time
    assert [d for d in requested(scenario, 1) if d[2] == "superseded"] == [
        ("return.requested", p, "superseded", "ignore") for p in LISTENING
    ]
    assert scenario.cases() == []


def test_the_units_of_a_line_refunded_one_by_one_are_refunded_what_the_line_cost(scenario: Scenario) -> None:
    # three units at 25.00 less 15.00, taxed 4.80: 64.80, 21.60 each
    scenario.deliver("orders/create", discounted_taxed(1, units=3))
    scenario.deliver("returns/request", return_request(1, "UNWANTED", price="25.00"))
    scenario.work()
    [ours] = scenario.shopify.refund_webhooks(order_id_of(1))
    scenario.deliver("refunds/create", ours)
    scenario.later(hours=1)
    later = second_return(1)
    later["return_line_items"][0]["quantity"] = 2
    scenario.deliver("returns/request", later)
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("21.60"), Decimal("43.20")]
    assert sum(refunds_made(scenario, 1), Decimal(0)) == Decimal("64.80")
    assert scenario.cases() == []
