"""The rule that decided a refund, asked again before the send on the order as it is now (ADR 0041, amended in
session 14): the merchant tagged the order ``no-auto-refund`` between the decision and the send, so the refund is not
sent and a case names the rule and what changed; another tag lets it go, and a person's approval is theirs. Through
the real pipeline, the outbox and the Shopify stand-in over HTTP, on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal

from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    later,
    order,
    order_id_of,
    return_request,
    sql_scenario,
)
from tests.integration.refunded_return_harness import refund_actions, refunds_made
from tests.integration.test_dispute_before_send import approve_refund

__all__ = ["sql_scenario"]


def tagged(scenario: Scenario, tags: str) -> None:
    """Shopify's ``orders/updated`` for order 1: the merchant set its tags in admin."""
    updated = order(1, MONDAY_9AM)
    updated.update(tags=tags, updated_at=later(MONDAY_9AM, minutes=5).isoformat())
    scenario.deliver("orders/updated", updated)


def test_a_refund_decided_before_the_merchant_tagged_the_order_no_auto_refund_is_not_sent(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))  # decided: a refund in the outbox
    tagged(scenario, "no-auto-refund")  # before the outbox ran
    scenario.work()

    assert refunds_made(scenario, 1) == []
    why = ("not sent: the rule auto-refund-simple-purchase-error's condition (playbook refunds) no longer holds: "
           'order.tags gained "no-auto-refund" since this refund was decided')
    assert refund_actions(scenario, 1) == [("failed", why)]
    assert scenario.mail_to("c1@example.com") == []  # its confirmation fails with it (ADR 0042)
    [case] = scenario.cases(queue="automation")
    assert (case.kind, case.order_id) == ("automation_failure", order_id_of(1))
    assert 'order.tags gained "no-auto-refund"' in case.reason


def test_a_refund_decided_before_a_tag_its_rule_does_not_exclude_goes_out(sql_scenario: Scenario) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))
    tagged(scenario, "vip, wholesale")
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("19.99")]
    assert refund_actions(scenario, 1) == [("sent", "")]
    assert scenario.cases(queue="automation") == []


def test_a_refund_a_person_approved_goes_out_though_the_order_was_tagged_no_auto_refund_since(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "OTHER"))  # not a simple purchase error: a person's
    approve_refund(scenario, "refunds")
    tagged(scenario, "no-auto-refund")  # the tag stops automatic refunds; this one a person decided
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("19.99")]
    assert refund_actions(scenario, 1) == [("sent", "")]
