"""Carrier delays (playbooks/carrier_delays.yaml) on a virtual clock, from Shopify's sample payloads:
the customer is told of a delay by email at the SMTP stand-in; a second delay and a failed delivery go
to the fulfilment queue with an owner and a business-hours deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration import order_scenarios
from tests.integration.order_scenarios import MONDAY_9AM, Scenario, make_scenario, order, order_id_of
from tests.samples import sample


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    monkeypatch.setattr(order_scenarios, "ORDER_PLAYBOOKS", ("carrier_delays",))
    monkeypatch.setattr(order_scenarios, "ORDER_QUEUES", frozenset({"fulfilment"}))
    yield from make_scenario(tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'opsdesk.db'}")


def scan(n: int, status: str, event_id: int) -> dict[str, Any]:
    """Shopify's ``fulfillment_events/create`` sample as a carrier scan on order ``n``."""
    payload = sample("fulfillment_events/create")
    payload.update(id=event_id, order_id=order_id_of(n), status=status, message=f"carrier says {status}")
    return payload


def test_a_delay_is_told_to_the_customer_once_and_a_second_delay_goes_to_a_person(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("fulfillment_events/create", scan(1, "in_transit", 1))
    scenario.later(hours=1)
    assert scenario.mail_to("c1@example.com") == [] and scenario.cases() == []

    scenario.deliver("fulfillment_events/create", scan(1, "delayed", 2))
    scenario.work()

    [mail] = scenario.mail_to("c1@example.com")
    assert mail.subject == "Your order #1001 is delayed in transit"
    assert scenario.cases() == []
    assert ("fulfillment_event.created", "carrier-delays", "tell-the-customer-about-a-carrier-delay",
            "automate") in scenario.decisions(order_id_of(1))

    scenario.later(hours=2)
    scenario.deliver("fulfillment_events/create", scan(1, "delayed", 3))
    scenario.work()

    assert len(scenario.mail_to("c1@example.com")) == 1  # not told twice: a person takes it from here
    [case] = scenario.cases()
    assert (case.queue, case.order_id, case.owner) == ("fulfilment", order_id_of(1), "team:ops")  # at lunch: the team


def test_a_failed_delivery_goes_straight_to_a_person_and_nothing_is_sent(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("fulfillment_events/create", scan(1, "failure", 9))
    scenario.work()

    [case] = scenario.cases()
    assert (case.queue, case.priority) == ("fulfilment", "high")
    # 8 business hours on the support calendar (09:00-12:00, 13:00-17:30 New York) from Monday 09:00:
    # 7.5 hours on Monday, the last half hour on Tuesday morning.
    assert case.due_at == datetime(2026, 3, 3, 14, 30, tzinfo=UTC)
    assert scenario.mail_to("c1@example.com") == []


def test_scans_that_are_not_delays_change_nothing(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    for i, status in enumerate(("confirmed", "in_transit", "out_for_delivery", "delivered")):
        scenario.deliver("fulfillment_events/create", scan(1, status, 20 + i))
    scenario.work()
    assert scenario.cases() == [] and scenario.mail_to("c1@example.com") == []
