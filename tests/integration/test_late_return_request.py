"""A ``returns/request`` that Shopify delivers after the return was declined, cancelled or closed (it retries a
failed delivery for hours, in no particular order) is not decided as a new request: no refund, no approval and
reship, no case; each listening playbook records why. Shopify's samples, the starter playbooks, a virtual clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from opsdesk.domain.events import OrderId, ShopDomain
from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    order,
    order_id_of,
    return_change,
    return_request,
    scenario,
    sql_scenario,
)
from tests.samples import SHOP

__all__ = ["scenario", "sql_scenario"]

LISTENING = ("disputes", "refunds", "wrong_item")  # the starter playbooks that decide return.requested


def held_status(scenario: Scenario, n: int) -> str:
    with scenario.desk.db.unit_of_work(read_only=True) as uow:
        state = uow.orders.find(ShopDomain(SHOP), OrderId(order_id_of(n)))
    assert state is not None
    return state.returns[4_000_000 + n].status


@pytest.mark.parametrize(
    ("changes", "held"),
    [
        (["returns/decline"], "declined"),
        (["returns/cancel"], "canceled"),
        (["returns/approve", "returns/close"], "closed"),  # approved, then refunded and closed in Shopify
    ],
)
@pytest.mark.parametrize("reason", ["UNWANTED", "WRONG_ITEM", "DEFECTIVE"])
def test_a_request_delivered_after_the_return_was_over_is_not_decided_as_a_new_one(
    scenario: Scenario, changes: list[str], held: str, reason: str
) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    requested_at = MONDAY_9AM + timedelta(minutes=5)  # its first delivery failed; Shopify retries it
    scenario.later(minutes=30)
    for topic in changes:  # the merchant acts on the return in Shopify meanwhile
        scenario.deliver(topic, return_change(1, topic))
        scenario.later(minutes=5)
    scenario.later(hours=1)
    scenario.deliver("returns/request", return_request(1, reason), triggered_at=requested_at)
    scenario.work()

    assert scenario.shopify.effects == []  # neither refundCreate nor returnApproveRequest, no tag, no note
    assert scenario.mail_to("c1@example.com") == []
    assert scenario.cases() == []
    assert held_status(scenario, 1) == held
    requested = [d for d in scenario.decisions(order_id_of(1)) if d[0] == "return.requested"]
    assert requested == [("return.requested", p, "superseded", "ignore") for p in LISTENING]


def test_a_late_request_triggered_after_the_decline_by_its_clock_still_finds_the_return_declined(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario  # on SQLite and PostgreSQL
    # The request's trigger time says nothing of the return's life: no change of a return leads back to requested.
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/decline", return_change(1, "returns/decline"), triggered_at=MONDAY_9AM)
    scenario.later(minutes=30)
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))
    scenario.work()

    assert scenario.shopify.effects == [] and scenario.mail_to("c1@example.com") == []
    assert held_status(scenario, 1) == "declined"
    requested = [d for d in scenario.decisions(order_id_of(1)) if d[0] == "return.requested"]
    assert requested == [("return.requested", p, "superseded", "ignore") for p in LISTENING]


def test_a_request_delivered_after_its_approval_is_still_decided_once(scenario: Scenario) -> None:
    # Approved in Shopify before the desk heard the request: the request is news (the order the reconciliation
    # sweep appends them in), decided once; a retry of it afterwards is a duplicate.
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/approve", return_change(1, "returns/approve"))
    scenario.later(minutes=30)
    scenario.deliver("returns/request", return_request(1, "UNWANTED"), triggered_at=MONDAY_9AM)
    scenario.deliver("returns/request", return_request(1, "UNWANTED"), triggered_at=MONDAY_9AM)
    scenario.work()

    assert len(scenario.effects("refundCreate")) == 1
    assert held_status(scenario, 1) == "open"
