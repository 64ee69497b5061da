"""The desk's own refunds name their units (ADR 0041, amended): Shopify's webhook for a refund the desk made counts
its units in the order's projection, so a line bought twice, one unit refunded by the desk and one by a person, is
not refunded a third time. Shopify's samples, the starter playbooks, a virtual clock, the Shopify (its refunds'
webhooks) and SMTP stand-ins.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from tests.integration import order_scenarios as scenarios
from tests.integration.order_scenarios import Scenario
from tests.integration.refunded_return_harness import LISTENING, refund_by_a_person, refunds_made, requested

__all__ = ["scenario", "sql_scenario"]

# the scenario desk, on SQLite (and PostgreSQL)
scenario, sql_scenario = scenarios.scenario, scenarios.sql_scenario


def twice_bought(n: int) -> dict[str, Any]:
    """Order ``n`` with its 19.99 line bought twice."""
    payload = scenarios.order(n, scenarios.MONDAY_9AM)
    payload["line_items"][0]["quantity"] = 2
    return payload


def second_return(n: int) -> dict[str, Any]:
    """Order ``n``'s second return of one unit of its line (the first is ``return_request``'s)."""
    payload = scenarios.return_request(n, "UNWANTED")
    payload.update(id=4_100_000 + n, admin_graphql_api_id=f"gid://shopify/Return/{4_100_000 + n}")
    payload["return_line_items"][0]["id"] = 3_100_000 + n
    return payload


def test_a_line_bought_twice_refunded_once_by_the_desk_and_once_by_a_person_is_not_refunded_a_third_time(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", twice_bought(1))
    scenario.deliver(
        "returns/request", scenarios.return_request(1, "UNWANTED")
    )  # the first unit: the desk refunds it
    scenario.work()
    assert refunds_made(scenario, 1) == [Decimal("19.99")]
    [made] = [e for e in scenario.shopify.effects if e.kind == "refundCreate"]
    assert made.detail["lines"] == [
        [scenarios.line_id_of(1), 1]
    ]  # the stand-in refunded the unit, not only the money
    [ours] = scenario.shopify.refund_webhooks(scenarios.order_id_of(1))
    assert [(li["line_item_id"], li["quantity"]) for li in ours["refund_line_items"]] == [
        (scenarios.line_id_of(1), 1)
    ]
    scenario.later(minutes=1)
    scenario.deliver("refunds/create", ours)  # Shopify's webhook for the desk's own refund
    # the second unit's return: a person refunded it in Shopify admin; its request's webhook came late
    scenario.later(hours=1)
    scenario.deliver("refunds/create", refund_by_a_person(1, [(scenarios.line_id_of(1), "19.99")]))
    scenario.later(minutes=30)
    scenario.deliver(
        "returns/request", second_return(1), triggered_at=scenarios.MONDAY_9AM + timedelta(minutes=30)
    )
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("19.99")]  # not a second time
    assert [d for d in requested(scenario, 1) if d[2] == "superseded"] == [
        ("return.requested", p, "superseded", "ignore") for p in LISTENING
    ]
    assert scenario.cases() == []


def test_the_second_unit_of_a_line_the_desk_refunded_once_is_still_refunded_when_asked(
    scenario: Scenario,
) -> None:
    scenario.deliver("orders/create", twice_bought(1))
    scenario.deliver("returns/request", scenarios.return_request(1, "UNWANTED"))
    scenario.work()
    [ours] = scenario.shopify.refund_webhooks(scenarios.order_id_of(1))
    scenario.deliver("refunds/create", ours)
    scenario.later(hours=1)
    scenario.deliver("returns/request", second_return(1))
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("19.99"), Decimal("19.99")]
    made = scenario.shopify.refund_webhooks(scenarios.order_id_of(1))
    assert [len(body["refund_line_items"]) for body in made] == [1, 1]  # each names its unit
