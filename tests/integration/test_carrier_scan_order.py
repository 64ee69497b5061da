"""Carrier scans delivered out of order and deleted, through the composition root, on SQLite and PostgreSQL, from
Shopify's sample payloads (ADR 0065): a delay older than a later scan is recorded and not acted on; a deleted
delivery is no delivery, and the stuck-order monitor that stopped because of it watches again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from opsdesk.domain.events import OrderId, ShopDomain
from tests.integration import order_scenarios
from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    database_url,
    make_scenario,
    order,
    order_id_of,
)
from tests.samples import SHOP, sample


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scenario(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    yield from carrier_delays_only(tmp_path, monkeypatch, database_url(request, tmp_path))


def carrier_delays_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> Iterator[Scenario]:
    """A scenario with the carrier-delays playbook alone, its cases in the fulfilment queue."""
    monkeypatch.setattr(order_scenarios, "ORDER_PLAYBOOKS", ("carrier_delays",))
    monkeypatch.setattr(order_scenarios, "ORDER_QUEUES", frozenset({"fulfilment"}))
    yield from make_scenario(tmp_path, monkeypatch, url)


def scan(topic: str, status: str, event_id: int, hours: float) -> dict[str, Any]:
    """Shopify's ``fulfillment_events/*`` sample as order 1's carrier scan ``hours`` after Monday 09:00."""
    happened = (MONDAY_9AM + timedelta(hours=hours)).isoformat()
    payload = sample(topic)
    payload.update(id=event_id, order_id=order_id_of(1), status=status, message=f"carrier says {status}",
                   happened_at=happened, created_at=happened, updated_at=happened)
    return payload


def test_a_delay_that_arrives_after_a_later_in_transit_scan_is_recorded_and_not_told(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.later(hours=3)
    scenario.deliver("fulfillment_events/create", scan("fulfillment_events/create", "in_transit", 2, 2))
    scenario.deliver("fulfillment_events/create", scan("fulfillment_events/create", "delayed", 1, 1))
    scenario.work()

    assert scenario.mail_to("c1@example.com") == [] and scenario.cases() == []
    assert ("fulfillment_event.created", "carrier-delays", "superseded", "ignore") in scenario.decisions(
        order_id_of(1))

    scenario.deliver("fulfillment_events/create", scan("fulfillment_events/create", "delayed", 3, 2.5))
    scenario.work()
    [mail] = scenario.mail_to("c1@example.com")  # a delay after the last movement is news
    assert mail.subject == "Your order #1001 is delayed in transit"


def test_a_deleted_delivery_is_no_delivery_and_the_stuck_order_monitor_watches_again(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("fulfillment_events/create", scan("fulfillment_events/create", "in_transit", 1, 0.5))
    scenario.deliver("fulfillment_events/create", scan("fulfillment_events/create", "delivered", 2, 1))
    assert carrier_status(scenario) == "delivered"
    scenario.later(hours=2)
    scenario.deliver("fulfillment_events/delete", scan("fulfillment_events/delete", "delivered", 2, 1))
    scenario.deliver("fulfillment_events/delete", scan("fulfillment_events/delete", "delivered", 2, 1))  # again

    assert carrier_status(scenario) == "in_transit"
    scenario.later(hours=24 * 11)
    assert [(p, rule, outcome) for _, p, rule, outcome in scenario.decisions(order_id_of(1))
            if p == "stuck-order"] == [("stuck-order", "stuck-paid", "escalate")]


def carrier_status(scenario: Scenario) -> str | None:
    with scenario.desk.db.unit_of_work(read_only=True) as uow:
        state = uow.orders.find(ShopDomain(SHOP), OrderId(order_id_of(1)))
    assert state is not None
    return state.carrier_status.status if state.carrier_status else None


def test_a_delay_older_than_the_carriers_pickup_or_the_pickup_points_is_not_told(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.later(hours=3)
    scenario.deliver("fulfillment_events/create", scan("fulfillment_events/create", "carrier_picked_up", 2, 2))
    scenario.deliver("fulfillment_events/create", scan("fulfillment_events/create", "delayed", 1, 1))
    scenario.deliver("fulfillment_events/create", scan("fulfillment_events/create", "ready_for_pickup", 3, 2.5))
    scenario.deliver("fulfillment_events/create", scan("fulfillment_events/create", "attempted_delivery", 4, 0.5))
    scenario.work()
    assert scenario.mail_to("c1@example.com") == [] and scenario.cases() == []
    # The delay and the attempt, both older than the carrier's pickup, are history; the two movements are news.
    assert sorted(rule for _, p, rule, _ in scenario.decisions(order_id_of(1)) if p == "carrier-delays") == [
        "default", "default", "superseded", "superseded"]
    assert carrier_status(scenario) == "ready_for_pickup"


def test_a_parcel_the_customer_collected_is_not_stuck(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("fulfillment_events/create", scan("fulfillment_events/create", "ready_for_pickup", 1, 0.5))
    scenario.deliver("fulfillment_events/create", scan("fulfillment_events/create", "picked_up", 2, 1))
    assert carrier_status(scenario) == "picked_up"  # collected at the pickup point: it arrived, as if delivered
    scenario.later(hours=24 * 11)
    assert [p for _, p, _, _ in scenario.decisions(order_id_of(1)) if p == "stuck-order"] == []
