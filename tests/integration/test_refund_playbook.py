"""Refund requests for simple purchase errors (playbooks/refunds.yaml), end to end on a virtual clock:
Shopify's sample payloads in, a real refund at the Shopify stand-in and a real email at the SMTP one out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    order,
    order_id_of,
    return_request,
    scenario,
)
from tests.samples import sample

__all__ = ["scenario"]


def test_a_wrong_size_inside_the_caps_is_refunded_at_shopify_and_the_customer_gets_the_confirmation(
    scenario: Scenario,
) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.later(minutes=5)
    scenario.deliver("returns/request", return_request(1, "SIZE_TOO_SMALL"))
    scenario.work()

    [refund] = [e for e in scenario.shopify.effects if e.kind == "refundCreate"]
    assert (refund.order_id, refund.amount, refund.currency) == (order_id_of(1), Decimal("19.99"), "USD")
    [mail] = scenario.mail_to("c1@example.com")
    assert (mail.to, mail.subject) == ("c1@example.com", "Your refund for order #1001")
    assert "We have refunded 19.99 USD for order #1001" in mail.body
    assert scenario.cases() == []
    assert (
        "return.requested",
        "refunds",
        "auto-refund-simple-purchase-error",
        "automate",
    ) in scenario.decisions(order_id_of(1))


def test_a_refund_over_the_cap_goes_to_the_refunds_queue_with_an_owner_and_a_business_hours_deadline(
    scenario: Scenario,
) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM, price="80.00"))
    scenario.deliver("returns/request", return_request(1, "UNWANTED", price="80.00"))
    scenario.work()

    [case] = scenario.cases()
    assert (case.queue, case.kind, case.order_id) == ("refunds", "refund", order_id_of(1))
    assert case.owner in {"alice", "bob"}  # on shift, with the refunds skill (starter opsdesk.yaml)
    # First response in 4 business hours: 09:00 to 12:00, lunch, 13:00 to 14:00 New York time.
    assert case.due_at == datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
    assert scenario.shopify.effects == [] and scenario.mail_to("c1@example.com") == []


def test_no_automatic_refund_on_a_disputed_order_a_person_decides(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    dispute = sample("disputes/create")
    dispute.update(
        order_id=order_id_of(1),
        initiated_at="2026-03-02T09:30:00-05:00",
        evidence_due_by="2026-03-12T19:00:00-05:00",
    )
    scenario.deliver("disputes/create", dispute)
    scenario.deliver("returns/request", return_request(1, "SIZE_TOO_SMALL"))
    scenario.work()

    assert [e for e in scenario.shopify.effects if e.kind == "refundCreate"] == []
    assert scenario.mail_to("c1@example.com") == []
    assert sorted(c.queue for c in scenario.cases()) == ["disputes", "refunds"]


def test_a_return_delivered_twice_is_refunded_once(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "COLOR"))
    scenario.deliver("returns/request", return_request(1, "COLOR"))  # another webhook id, the same return
    scenario.work()
    scenario.later(hours=1)

    assert len([e for e in scenario.shopify.effects if e.kind == "refundCreate"]) == 1
    assert len(scenario.mail_to("c1@example.com")) == 1
