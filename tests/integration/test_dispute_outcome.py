"""A finished dispute and a later return (ADR 0009, amended): a dispute the merchant won left the money with the
store, so the return is refunded as any other; one open, lost, accepted, charge-refunded or prevented keeps automatic
refunds off the order. Through the real pipeline and the Shopify stand-in, on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    order,
    order_id_of,
    return_request,
    scenario,
    sql_scenario,
)
from tests.integration.test_disputes_playbook import dispute

__all__ = ["scenario", "sql_scenario"]

DUE = "2026-03-20T19:00:00-05:00"


def _finished(scenario: Scenario, status: str) -> None:
    """Order 1, a chargeback on it, then the dispute at ``status`` (a later ``disputes/update``)."""
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("disputes/create", dispute(1, due=DUE))
    scenario.later(hours=1)
    update = dispute(1, due=DUE, status=status, topic="disputes/update")
    update["finalized_on"] = "2026-03-02T10:00:00-05:00"
    scenario.deliver("disputes/update", update)
    scenario.later(hours=1)


def test_a_return_after_a_dispute_the_merchant_won_is_refunded_as_any_other(sql_scenario: Scenario) -> None:
    _finished(sql_scenario, "won")
    sql_scenario.deliver("returns/request", return_request(1, "SIZE_TOO_SMALL"))
    sql_scenario.work()

    assert sql_scenario.effects("refundCreate") == [f"gid://shopify/Order/{order_id_of(1)}"]
    assert ("return.requested", "refunds", "auto-refund-simple-purchase-error", "automate") in (
        sql_scenario.decisions(order_id_of(1)))
    assert [c.queue for c in sql_scenario.cases()] == ["disputes"]  # the chargeback's own case, nothing more


@pytest.mark.parametrize("status", ["needs_response", "under_review", "lost", "accepted", "charge_refunded",
                                    "prevented", "some_status_shopify_adds"])
def test_a_dispute_not_won_keeps_automatic_refunds_off_the_order(scenario: Scenario, status: str) -> None:
    _finished(scenario, status)
    scenario.deliver("returns/request", return_request(1, "SIZE_TOO_SMALL"))
    scenario.work()

    assert scenario.effects("refundCreate") == []
    assert ("return.requested", "refunds", "refund-request-needs-a-person", "escalate") in (
        scenario.decisions(order_id_of(1)))
    assert sorted(c.queue for c in scenario.cases()) == ["disputes", "refunds"]


def test_a_dispute_won_then_reopened_freezes_refunds_again(scenario: Scenario) -> None:
    _finished(scenario, "won")
    reopened = dispute(1, due=DUE, status="under_review", topic="disputes/update")
    reopened["evidence_sent_on"] = "2026-03-02T11:30:00-05:00"
    scenario.deliver("disputes/update", reopened)
    scenario.deliver("returns/request", return_request(1, "SIZE_TOO_SMALL"))
    scenario.work()

    assert scenario.effects("refundCreate") == []
