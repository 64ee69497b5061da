"""Fraud flags (playbooks/risk.yaml) on a virtual clock, from Shopify's ``orders/risk_assessment_changed``,
``orders/cancelled`` and ``orders/updated`` samples: hold for review instead of cancelling, and review a
fraud cancellation the order's own risk level does not support.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.order_scenarios import MONDAY_9AM, Scenario, order, order_id_of, scenario
from tests.samples import sample

__all__ = ["scenario"]


def assessed(n: int, level: str) -> dict[str, Any]:
    payload = sample("orders/risk_assessment_changed")  # the sample names no order: this one does
    payload.update(
        risk_level=level,
        order_id=order_id_of(n),
        admin_graphql_api_order_id=f"gid://shopify/Order/{order_id_of(n)}",
    )
    return payload


def cancelled(n: int, at: datetime, reason: str) -> dict[str, Any]:
    payload = order(n, MONDAY_9AM)
    sample_cancel = sample("orders/cancelled")
    payload.update(
        cancelled_at=at.isoformat(),
        updated_at=at.isoformat(),
        cancel_reason=reason,
        financial_status=sample_cancel["financial_status"],
    )
    return payload


def test_a_high_risk_order_is_held_for_review_not_cancelled_with_a_risk_case_due_in_two_business_hours(
    scenario: Scenario,
) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("orders/risk_assessment_changed", assessed(1, "high"))
    scenario.work()

    [hold] = [e for e in scenario.shopify.effects if e.kind == "fulfillmentOrderHold"]
    assert (hold.target, hold.detail["reason"]) == (
        f"gid://shopify/FulfillmentOrder/{order_id_of(1)}1",
        "HIGH_RISK_OF_FRAUD",
    )
    assert {e.kind for e in scenario.shopify.effects} == {"fulfillmentOrderHold"}  # nothing cancelled
    [case] = scenario.cases()
    assert (case.queue, case.kind, case.priority, case.owner) == ("risk", "order", "high", "carol")
    assert case.due_at == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 09:00 + 2 business hours, New York


def test_a_fraud_cancellation_while_the_risk_is_medium_is_reviewed_as_a_likely_false_positive(
    scenario: Scenario,
) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("orders/risk_assessment_changed", assessed(1, "medium"))
    scenario.later(minutes=10)
    scenario.deliver("orders/cancelled", cancelled(1, scenario.clock.now(), "fraud"))

    [case] = scenario.cases()
    assert (case.queue, case.priority, case.order_id) == ("risk", "high", order_id_of(1))
    assert ("order.cancelled", "risk", "fraud-cancel-at-low-risk", "escalate") in scenario.decisions(
        order_id_of(1)
    )
    assert scenario.shopify.effects == []  # a medium risk is not held


def test_a_low_risk_assessment_arriving_after_a_fraud_cancellation_is_reviewed_too(
    scenario: Scenario,
) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("orders/cancelled", cancelled(1, MONDAY_9AM + timedelta(minutes=5), "fraud"))
    assert scenario.cases() == []  # no assessment yet: nothing says the flag was wrong
    scenario.deliver("orders/risk_assessment_changed", assessed(1, "low"))
    [case] = scenario.cases()
    assert case.queue == "risk"


def test_stop_conditions_high_risk_fraud_cancels_and_other_cancellations_open_nothing(
    scenario: Scenario,
) -> None:
    for n, level, reason in ((1, "high", "fraud"), (2, "low", "customer"), (3, "medium", "inventory")):
        scenario.deliver("orders/create", order(n, MONDAY_9AM))
        scenario.deliver("orders/cancelled", cancelled(n, MONDAY_9AM + timedelta(minutes=1), reason))
        scenario.deliver("orders/risk_assessment_changed", assessed(n, level))  # after: cancelled, not held
    scenario.work()
    assert scenario.cases() == []
    assert scenario.shopify.effects == []


def test_an_order_held_by_a_fraud_tag_at_low_risk_goes_to_review(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("orders/risk_assessment_changed", assessed(1, "low"))
    tagged = sample("orders/updated")
    tagged.update({k: v for k, v in order(1, MONDAY_9AM).items() if k in tagged})
    tagged.update(tags="fraud-hold, vip", updated_at=(MONDAY_9AM + timedelta(minutes=3)).isoformat())
    scenario.deliver("orders/updated", tagged)
    [case] = scenario.cases()
    assert (case.queue, case.priority) == ("risk", "normal")
