"""The desk refunds what the customer paid for the returned units, not their list price (ADR 0049): their price less
their discounts, plus their tax unless the price includes it (``taxes_included``, ADR 0051). Shopify's webhook for that
refund says its lines were paid in full, so a later request for the same units is superseded, not a case; so does a
person's refund heard of before its tax-inclusive order, once the order is known. Shopify's samples, the starter
playbooks, a virtual clock, the Shopify (its refunds' webhooks) and SMTP stand-ins; SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

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
from tests.integration.refunded_return_harness import LISTENING, refund_by_a_person, refunds_made, requested
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


def vat_inside(n: int) -> dict[str, Any]:
    """Order ``n``: its line at 25.00, 20 % off (5.00 allocated), 8 % VAT inside the price (``taxes_included``: 1.48
    of the 20.00 paid)."""
    payload = discounted_taxed(n)
    payload["taxes_included"] = True
    [tax_line] = payload["line_items"][0]["tax_lines"]
    tax_line.update(title="VAT", price="1.48", price_set=usd("1.48"))
    return payload


@pytest.mark.parametrize(
    ("placed", "paid", "tax"),
    [
        (discounted_taxed, "21.60", 1.6),  # 25.00 less 5.00, plus 1.60 of tax
        (vat_inside, "20.00", 1.48),  # 25.00 less 5.00: the 1.48 of VAT is in it (not 21.48)
    ],
    ids=["tax on top", "tax inside the price"],
)
def test_a_discounted_taxed_unit_is_refunded_what_was_paid_and_a_second_request_for_it_is_superseded(
    sql_scenario: Scenario, placed: Callable[[int], dict[str, Any]], paid: str, tax: float
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", placed(1))
    scenario.later(minutes=5)
    scenario.deliver("returns/request", return_request(1, "UNWANTED", price="25.00"))
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal(paid)]
    [mail] = scenario.mail_to("c1@example.com")
    assert f"We have refunded {paid} USD for order #1001" in mail.body
    [ours] = scenario.shopify.refund_webhooks(order_id_of(1))
    # Shopify's refund line: its subtotal the price less discounts (the tax in it when the price includes it)
    assert [(li["line_item_id"], li["subtotal"], li["total_tax"]) for li in ours["refund_line_items"]] == [
        (line_id_of(1), 20.0, tax)
    ]
    scenario.later(minutes=1)
    scenario.deliver("refunds/create", ours)  # Shopify's webhook for the desk's refund: the unit paid in full
    scenario.later(hours=1)
    scenario.deliver("returns/request", second_return(1))  # the same unit asked for again
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal(paid)]  # not a second time
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


def test_a_persons_refund_heard_of_before_its_tax_inclusive_order_pays_the_unit_in_full_once_the_order_is_known(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario
    refund = refund_by_a_person(1, [(line_id_of(1), "20.00")])  # 20.00 given, its line's subtotal
    [line] = refund["refund_line_items"]
    line.update(total_tax=1.48, total_tax_set=usd("1.48"))  # the VAT inside the 20.00
    scenario.deliver("refunds/create", refund)  # before its order: tax-exclusive as far as the desk knows
    scenario.deliver("orders/create", vat_inside(1))
    scenario.later(minutes=5)
    scenario.deliver("returns/request", return_request(1, "UNWANTED", price="25.00"))
    scenario.work()

    assert refunds_made(scenario, 1) == []
    assert [d for d in requested(scenario, 1) if d[2] == "superseded"] == [
        ("return.requested", p, "superseded", "ignore") for p in LISTENING
    ]
    assert scenario.cases() == []
