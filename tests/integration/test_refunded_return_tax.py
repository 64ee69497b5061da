"""A refund that leaves a unit's tax unpaid, or whose money went partly to shipping, did not pay for the unit in full
(ADR 0041, amended): a later request for the unit is not superseded but goes to a person, told why. Shopify's
samples, the starter playbooks, a virtual clock, the Shopify and SMTP stand-ins; SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    line_id_of,
    order,
    return_request,
    scenario,
    sql_scenario,
)
from tests.integration.refunded_return_harness import LISTENING, refund_by_a_person, refunds_made, requested

__all__ = ["scenario", "sql_scenario"]


def usd(amount: str) -> dict[str, Any]:
    money = {"amount": amount, "currency_code": "USD"}
    return {"shop_money": money, "presentment_money": money}


def taxed_order(n: int) -> dict[str, Any]:
    """Order ``n``: its 19.99 line taxed 1.60, 21.59 paid for it."""
    payload = order(n, MONDAY_9AM)
    payload["line_items"][0]["tax_lines"] = [{"title": "State tax", "price": "1.60", "rate": 0.08,
                                              "price_set": usd("1.60"), "channel_liable": False}]
    return payload


def refunded_taxed(n: int, paid: str, **more: Any) -> dict[str, Any]:
    """A person's refund in Shopify admin of order ``n``'s taxed line (19.99 and 1.60 of tax), giving ``paid``."""
    refund = refund_by_a_person(n, [(line_id_of(n), "19.99")], paid=paid)
    [line] = refund["refund_line_items"]
    line.update(total_tax=1.6, total_tax_set=usd("1.60"))
    line["line_item"]["tax_lines"] = taxed_order(n)["line_items"][0]["tax_lines"]
    return {**refund, **more}


SHIPPING = [{"id": 1, "shipping_line_id": 2, "subtotal_amount_set": usd("4.99"), "tax_amount_set": usd("0.00")}]
PERSON = (
    "rule refund-request-needs-a-person escalates: always; the amount to refund is not known: units of line item "
    f"{line_id_of(1)} were refunded for less than they were worth (refund 2000001 gave {{}} for lines worth 21.59): "
    "what is left to refund is for a person to decide"
)


@pytest.mark.parametrize(
    ("refund", "gave"),
    [
        (refunded_taxed(1, "19.99"), "19.99"),  # the price, not its tax
        (refunded_taxed(1, "21.59", refund_shipping_lines=SHIPPING), "16.60"),  # 4.99 of it for shipping
    ],
    ids=["price without tax", "shipping in the money"],
)
def test_a_return_whose_item_a_person_refunded_short_of_its_tax_goes_to_a_person_with_the_reason(
    sql_scenario: Scenario, refund: dict[str, Any], gave: str
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", taxed_order(1))
    scenario.later(minutes=30)
    scenario.deliver("refunds/create", refund)  # the return stays open in Shopify
    scenario.later(minutes=30)
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))
    scenario.work()

    assert refunds_made(scenario, 1) == []
    assert scenario.mail_to("c1@example.com") == []
    assert ("return.requested", "refunds", "refund-request-needs-a-person", "escalate") in requested(scenario, 1)
    [case] = scenario.cases(queue="refunds")
    assert case.reason == PERSON.format(gave)


def test_a_return_whose_item_a_person_refunded_with_its_tax_and_shipping_besides_is_not_refunded_again(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", taxed_order(1))
    scenario.deliver("refunds/create", refunded_taxed(1, "26.58", refund_shipping_lines=SHIPPING))
    scenario.later(minutes=30)
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))
    scenario.work()

    assert refunds_made(scenario, 1) == []
    assert scenario.cases() == []
    assert requested(scenario, 1) == [("return.requested", p, "superseded", "ignore") for p in LISTENING]
