"""A return declined, cancelled or closed in Shopify between its refund's decision and the send (ADR 0041): the
outbox's last look finds its request over, so the refund is not sent and a case says why. Through the real
pipeline, the outbox and the Shopify stand-in over HTTP, on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    order,
    order_id_of,
    return_change,
    return_request,
    sql_scenario,
)
from tests.integration.refunded_return_harness import refund_actions, refunds_made

__all__ = ["sql_scenario"]


@pytest.mark.parametrize(("topic", "status"), [("returns/decline", "declined"), ("returns/cancel", "canceled")])
def test_a_refund_decided_before_its_return_was_declined_or_cancelled_is_not_sent(
    sql_scenario: Scenario, topic: str, status: str
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))  # decided: a refund in the outbox
    scenario.deliver(topic, return_change(1, topic))  # the merchant said no (or the customer withdrew) before it went
    scenario.work()

    assert refunds_made(scenario, 1) == []
    why = f"not sent: return 4000001 was {status} in Shopify since this refund was decided: its request is over"
    assert refund_actions(scenario, 1) == [("failed", why)]
    assert scenario.mail_to("c1@example.com") == []
    [case] = scenario.cases(queue="automation")
    assert (case.kind, case.order_id) == ("automation_failure", order_id_of(1))
    assert f"return 4000001 was {status} in Shopify" in case.reason
