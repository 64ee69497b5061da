"""The last look before the send: a refund made in Shopify between the desk's decision and the outbox stops
the refund decided, unless it was of another item (ADR 0041). Shopify's samples, the starter playbooks, a
virtual clock, the Shopify and SMTP stand-ins.
"""

from __future__ import annotations

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
from tests.integration.refunded_return_harness import (
    SECOND_LINE,
    refund_actions,
    refund_by_a_person,
    refunds_made,
    two_line_order,
)
from tests.samples import sample

__all__ = ["scenario", "sql_scenario"]  # the fixtures: in memory, and on SQLite and PostgreSQL

# -- the last look before the send: a refund made in Shopify between the decision and the outbox -----------------


@pytest.mark.parametrize(
    ("meanwhile", "why"),
    [
        (
            refund_by_a_person(1, [(line_id_of(1), "19.99")]),
            "not sent: the items of return 4000001 were refunded in Shopify after this refund was decided (refund "
            "2000001)",
        ),
        (
            refund_by_a_person(1, [], return_id=4_000_001),
            "not sent: return 4000001 was refunded in Shopify (refund 2000001) after this refund was decided",
        ),
        (  # the whole order's money given back, no line named
            {
                **refund_by_a_person(1, []),
                "transactions": [{**sample("refunds/create")["transactions"][0], "amount": "404.95"}],
            },
            "not sent: 19.99 is more than the 0.00 the order has left to refund (404.95 refunded already: refund "
            "2000001)",
        ),
    ],
)
def test_a_refund_decided_before_a_person_refunded_the_return_in_shopify_is_not_sent(
    sql_scenario: Scenario, meanwhile: dict[str, Any], why: str
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))  # decided: a refund in the outbox
    scenario.deliver("refunds/create", meanwhile)  # before the outbox sent it
    scenario.work()

    assert refunds_made(scenario, 1) == []
    assert refund_actions(scenario, 1) == [("failed", why)]
    [case] = scenario.cases(queue="automation")
    assert (case.kind, case.order_id) == ("automation_failure", order_id_of(1))


def test_a_refund_of_another_item_meanwhile_does_not_stop_the_refund_decided(scenario: Scenario) -> None:
    scenario.deliver("orders/create", two_line_order(1))
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))  # the 19.99 line
    scenario.deliver("refunds/create", refund_by_a_person(1, [(SECOND_LINE + 1, "24.99")]))
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("19.99")]
    assert refund_actions(scenario, 1) == [("sent", "")]
