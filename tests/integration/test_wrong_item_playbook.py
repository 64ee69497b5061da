"""Wrong item picked (playbooks/wrong_item.yaml, services/quality.py) on a virtual clock, from Shopify's
``returns/request`` and order samples: the return approved and a reship asked for at the Shopify
stand-in, the customer told, and a quality case for the warehouse that notes repeat SKUs.
"""

from __future__ import annotations

from datetime import timedelta

from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    order,
    order_id_of,
    return_request,
    scenario,
)

__all__ = ["scenario"]


def test_a_wrong_item_is_approved_and_reshipped_and_the_warehouse_gets_a_quality_case(
    scenario: Scenario,
) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM, sku="MUG-BLUE"))
    scenario.deliver("returns/request", return_request(1, "WRONG_ITEM", note="got a red one"))
    scenario.work()

    assert scenario.shopify.return_status(4_000_001) == "OPEN"  # approved
    kinds = sorted(e.kind for e in scenario.shopify.effects)
    assert kinds == ["orderUpdate", "returnApproveRequest", "tagsAdd"]
    [tags] = [e.detail["tags"] for e in scenario.shopify.effects if e.kind == "tagsAdd"]
    assert tags == ["reship"]
    [mail] = scenario.mail_to("c1@example.com")
    assert "we sent you the wrong item" in mail.body
    [case] = scenario.cases()
    assert (case.queue, case.kind, case.priority, case.owner) == ("quality", "quality", "normal", "carol")
    assert case.detail["skus"] == ["MUG-BLUE"] and case.detail["repeats"] == {"MUG-BLUE": 0}
    assert scenario.effects("refundCreate") == []  # a reship, not a refund


def test_the_second_wrong_pick_of_a_sku_is_a_high_priority_quality_case_naming_the_repeat(
    scenario: Scenario,
) -> None:
    for n in (1, 2):
        scenario.deliver("orders/create", order(n, MONDAY_9AM + timedelta(minutes=n), sku="MUG-BLUE"))
        scenario.deliver("returns/request", return_request(n, "WRONG_ITEM"))
    scenario.work()

    cases = {c.order_id: c for c in scenario.cases()}
    assert cases[order_id_of(1)].priority == "normal"
    second = cases[order_id_of(2)]
    assert (second.priority, second.detail["repeats"]) == ("high", {"MUG-BLUE": 1})
    assert "SKUs picked wrong before: MUG-BLUE (1 before)" in second.reason


def test_an_expensive_wrong_item_is_not_reshipped_automatically(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM, price="400.00"))
    scenario.deliver("returns/request", return_request(1, "WRONG_ITEM", price="400.00"))
    scenario.work()

    assert scenario.shopify.effects == [] and scenario.mail_to("c1@example.com") == []
    [case] = scenario.cases()
    assert (case.queue, case.priority) == ("quality", "high")
    assert case.reason.startswith("guardrail: amount 400.00 would exceed 150")


def test_a_return_approved_already_is_not_approved_twice(scenario: Scenario) -> None:
    scenario.shopify.set_return(4_000_001, "OPEN")  # approved in Shopify's admin meanwhile
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "WRONG_ITEM"))
    scenario.work()
    assert scenario.effects("returnApproveRequest") == []
    assert [c.queue for c in scenario.cases()] == ["quality"]  # no automation failure
