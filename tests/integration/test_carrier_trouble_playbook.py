"""A parcel returning to the sender or waiting for the buyer (playbooks/carrier_delays.yaml, ADR 0065 amended in
session 14), through the composition root on SQLite and PostgreSQL, from Shopify's sample payloads, the customer's
email at the SMTP stand-in: a returning parcel is one case per fulfilment for a person (reship or refund); a parcel
waiting for the buyer is one email per fulfilment telling them to look at the tracking link."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsdesk.domain.cases import Case, CaseStatus
from opsdesk.services.cases import act
from tests.integration import test_carrier_scan_order
from tests.integration.order_scenarios import MONDAY_9AM, Scenario, database_url, order, order_id_of
from tests.samples import sample


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scenario(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    """The carrier-delays playbook alone (``test_carrier_scan_order``'s), on SQLite and on PostgreSQL."""
    yield from test_carrier_scan_order.carrier_delays_only(tmp_path, monkeypatch, database_url(request, tmp_path))


def scan(status: str, event_id: int, hours: float) -> dict[str, Any]:
    """Order 1's carrier scan ``hours`` after Monday 09:00 (``fulfillment_events/create``)."""
    return test_carrier_scan_order.scan("fulfillment_events/create", status, event_id, hours)


def test_a_parcel_returning_to_the_sender_is_one_case_for_a_person_however_often_the_carrier_says_it(
    scenario: Scenario,
) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.later(hours=3)
    scenario.deliver("fulfillment_events/create", scan("in_transit", 1, 1))
    scenario.deliver("fulfillment_events/create", scan("returning_to_sender", 3, 2.5))
    scenario.deliver("fulfillment_events/create", scan("returning_to_sender", 3, 2.5))  # a redelivery
    scenario.deliver("fulfillment_events/create", scan("returning_to_sender", 2, 2))  # an earlier one, late
    scenario.work()
    [case] = scenario.cases()
    assert case.owner == "team:ops" and case.due_at is not None  # at lunch: the team, with an SLA deadline
    with scenario.desk.db.unit_of_work() as uow:  # carol decides: reship (an open case would join the next one)
        act(uow, case.id, "claim", "carol", scenario.clock.now(), scenario.desk.case_hooks)
        act(uow, case.id, "resolve", "carol", scenario.clock.now(), scenario.desk.case_hooks, resolution="no_action")
        uow.commit()
    scenario.later(hours=1)
    scenario.deliver("fulfillment_events/create", scan("returning_to_sender", 4, 3.5))  # the carrier again
    scenario.work()

    [case] = scenario.cases()  # the parcel carol decided on is not put back in front of anyone
    assert case.status is CaseStatus.RESOLVED
    assert (case.queue, case.priority, case.order_id) == ("fulfilment", "high", order_id_of(1))
    sample_scan = sample("fulfillment_events/create")
    assert case.detail["rule"] == "returning-parcel-needs-a-reship-or-refund"
    assert case.detail["shipment"]["fulfillment_id"] == sample_scan["fulfillment_id"]
    assert case.detail["shipment"]["status"] == "returning_to_sender"
    assert scenario.mail_to("c1@example.com") == []  # the person decides what the customer is told


def test_a_return_to_the_sender_older_than_a_later_movement_opens_no_case(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.later(hours=3)
    scenario.deliver("fulfillment_events/create", scan("in_transit", 2, 2))
    scenario.deliver("fulfillment_events/create", scan("returning_to_sender", 1, 1))
    scenario.work()

    assert scenario.cases() == []
    assert ("fulfillment_event.created", "carrier-delays", "superseded", "ignore") in scenario.decisions(
        order_id_of(1))


def test_a_parcel_waiting_for_the_buyer_is_told_to_the_customer_once_with_where_to_look(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.later(hours=3)
    scenario.deliver("fulfillment_events/create", scan("buyer_action_required", 1, 1))
    scenario.work()
    scenario.later(hours=5)
    scenario.deliver("fulfillment_events/create", scan("buyer_action_required", 1, 1))  # a redelivery
    scenario.deliver("fulfillment_events/create", scan("buyer_action_required", 2, 7))  # the carrier again
    scenario.work()

    [mail] = scenario.mail_to("c1@example.com")
    assert mail.subject == "The carrier needs something from you for order #1001"
    assert "tracking link" in mail.body
    assert ("fulfillment_event.created", "carrier-delays", "tell-the-customer-the-carrier-needs-them",
            "automate") in scenario.decisions(order_id_of(1))


def waiting_cases(scenario: Scenario) -> list[Case]:
    """The cases the buyer-action monitor opened, or joined: the order (paid, never marked fulfilled) is late to ship
    too, and the delayed-fulfilment monitor's case for it takes the signal rather than a second case opening."""
    return [c for c in scenario.cases() if c.source == "monitor:buyer-action"
            or any(s["source"] == "monitor:buyer-action" for s in c.detail.get("signals", []))]


def told(scenario: Scenario) -> list[str]:
    return [m.subject for m in scenario.mail_to("c1@example.com") if m.subject.startswith("The carrier needs")]


def unanswered(scenario: Scenario) -> int:
    return scenario.decisions(order_id_of(1)).count(
        ("monitor.buyer-action", "buyer-action", "buyer-action-unanswered", "escalate"))


def test_a_parcel_still_waiting_for_the_buyer_after_the_threshold_goes_to_a_person_once(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.later(hours=3)
    scenario.deliver("fulfillment_events/create", scan("buyer_action_required", 1, 1))
    scenario.work()
    scenario.later(hours=69)  # monitors.buyer_action.hours (72) after the scan, less an hour
    assert waiting_cases(scenario) == [] and unanswered(scenario) == 0

    scenario.later(hours=1)
    scenario.deliver("fulfillment_events/create", scan("buyer_action_required", 2, 74))  # the carrier again
    scenario.later(hours=24)

    [case] = waiting_cases(scenario)
    assert (case.queue, case.order_id) == ("fulfilment", order_id_of(1)) and case.due_at is not None
    assert unanswered(scenario) == 1 and len(told(scenario)) == 1


def test_a_parcel_that_moves_on_after_waiting_for_the_buyer_opens_no_case(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.later(hours=3)
    scenario.deliver("fulfillment_events/create", scan("buyer_action_required", 1, 1))
    scenario.later(hours=20)
    scenario.deliver("fulfillment_events/create", scan("in_transit", 2, 22))  # the customer paid the fee
    scenario.later(hours=80)

    assert waiting_cases(scenario) == [] and unanswered(scenario) == 0
    assert len(told(scenario)) == 1


def test_a_delay_scan_on_a_parcel_waiting_for_the_buyer_still_goes_to_a_person(scenario: Scenario) -> None:
    """A ``delayed`` scan after the wait is trouble, not movement: the parcel still waits (found by the
    carrier-meltdown scenario, session 15: the buyer-action monitor took any later status as moving on)."""
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.later(hours=3)
    scenario.deliver("fulfillment_events/create", scan("buyer_action_required", 1, 1))
    scenario.later(hours=10)
    scenario.deliver("fulfillment_events/create", scan("delayed", 2, 12))
    scenario.later(hours=80)

    [case] = waiting_cases(scenario)
    assert unanswered(scenario) == 1 and case.order_id == order_id_of(1)
