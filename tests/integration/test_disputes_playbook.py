"""Chargebacks and damage claims (playbooks/disputes.yaml) on a virtual clock, from Shopify's samples:
the case carries the evidence, its deadline is the evidence due date, automatic refunds stop.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    order,
    order_id_of,
    return_request,
    scenario,
    sql_scenario,
)
from tests.samples import sample

__all__ = ["scenario", "sql_scenario"]


def dispute(
    n: int, *, due: str, status: str = "needs_response", topic: str = "disputes/create"
) -> dict[str, Any]:
    payload = sample(topic)
    payload.update(
        id=2_850_000 + n,
        order_id=order_id_of(n),
        status=status,
        amount="19.99",
        currency="USD",
        initiated_at="2026-03-02T09:30:00-05:00",
        evidence_due_by=due,
    )
    return payload


def shipped(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Shopify's fulfilment and carrier-scan samples for order ``n``."""
    fulfillment = sample("fulfillments/create")
    fulfillment.update(
        id=8_000_000 + n,
        order_id=order_id_of(n),
        status="success",
        created_at="2026-03-02T09:10:00-05:00",
        updated_at="2026-03-02T09:10:00-05:00",
    )
    scan = sample("fulfillment_events/create")
    scan.update(
        id=6_000_000 + n,
        fulfillment_id=8_000_000 + n,
        order_id=order_id_of(n),
        status="delivered",
        happened_at="2026-03-02T09:20:00-05:00",
        created_at="2026-03-02T09:20:00-05:00",
        updated_at="2026-03-02T09:20:00-05:00",
    )
    return fulfillment, scan


def test_a_chargeback_becomes_a_disputes_case_with_the_evidence_and_the_evidence_due_date_as_deadline(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    fulfillment, scan = shipped(1)
    scenario.deliver("fulfillments/create", fulfillment)
    scenario.deliver("fulfillment_events/create", scan)
    scenario.later(minutes=30)
    # Evidence due at 11:00 New York time: sooner than the queue's 4 business hours (13:30).
    scenario.deliver("disputes/create", dispute(1, due="2026-03-02T11:00:00-05:00"))
    scenario.work()

    [case] = scenario.cases()
    assert (case.queue, case.kind, case.priority, case.order_id) == (
        "disputes",
        "dispute",
        "high",
        order_id_of(1),
    )
    assert case.owner in {"alice", "bob"}  # the support team, on shift
    assert case.due_at == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    evidence = case.detail["evidence"]
    assert evidence["order"]["name"] == "#1001"
    assert evidence["order"]["lines"] == [{"sku": "SKU2006-001", "quantity": 1, "price": "19.99"}]
    assert [f["status"] for f in evidence["fulfilments"].values()] == ["success"]
    assert evidence["carrier"]["status"] == "delivered"
    assert {e["event"] for e in evidence["events"]} >= {"order.created", "dispute.created"}


def test_without_an_earlier_evidence_date_the_queue_sla_of_four_business_hours_applies(
    scenario: Scenario,
) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("disputes/create", dispute(1, due="2026-03-20T19:00:00-05:00"))
    [case] = scenario.cases()
    # 09:00 to 12:00 and 13:00 to 14:00 New York time (the starter support calendar has a lunch break).
    assert case.due_at == datetime(2026, 3, 2, 19, 0, tzinfo=UTC)


def test_a_damage_claim_goes_to_disputes_with_the_messages_sent_and_freezes_automatic_refunds(
    scenario: Scenario,
) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "SIZE_TOO_SMALL"))  # refunded, the customer told
    scenario.work()
    claim = return_request(1, "DEFECTIVE", note="arrived cracked")
    claim.update(id=4_100_001, admin_graphql_api_id="gid://shopify/Return/4100001")
    scenario.deliver("returns/request", claim)
    another = return_request(1, "UNWANTED")
    another.update(id=4_200_001, admin_graphql_api_id="gid://shopify/Return/4200001")
    scenario.deliver("returns/request", another)
    scenario.work()

    assert len(scenario.effects("refundCreate")) == 1  # the first only: the claim froze the rest
    cases = {c.queue: c for c in scenario.cases()}
    assert sorted(cases) == ["disputes", "refunds"]
    messages = cases["disputes"].detail["evidence"]["messages"]
    assert [(m["template"], m["to"], m["status"]) for m in messages] == [
        ("refund_confirmation", "c1@example.com", "sent")
    ]
    assert ("return.requested", "refunds", "damage-claim-is-a-dispute", "ignore") in scenario.decisions(
        order_id_of(1)
    )


def test_an_update_that_still_needs_us_joins_the_open_case_and_a_decided_dispute_opens_nothing(
    scenario: Scenario,
) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("disputes/create", dispute(1, due="2026-03-20T19:00:00-05:00"))
    scenario.later(hours=1)
    update = dispute(1, due="2026-03-20T19:00:00-05:00", status="under_review", topic="disputes/update")
    update["evidence_sent_on"] = "2026-03-02T10:30:00-05:00"
    scenario.deliver("disputes/update", update)
    won = dispute(1, due="2026-03-20T19:00:00-05:00", status="won", topic="disputes/update")
    won["finalized_on"] = "2026-03-02T11:00:00-05:00"
    scenario.deliver("disputes/update", won)

    [case] = scenario.cases()
    assert len(case.detail.get("signals", [])) == 1  # the under_review update; "won" is ignored
    assert ("dispute.updated", "disputes", "default", "ignore") in scenario.decisions(order_id_of(1))
