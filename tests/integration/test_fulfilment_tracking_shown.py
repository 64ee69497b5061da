"""A fulfilment's tracking reaches the customer and the person (ADR 0065, amended in session 15), through the
composition root on SQLite and PostgreSQL from Shopify's sample payloads: the ``carrier_needs_buyer`` email received
by the SMTP stand-in names the carrier and the tracking link (and reads well without them); a ``javascript:`` link
is never written; an update's number replaces the first; the carrier cases carry the parcel's tracking."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.tracking import Parcel, Tracking
from tests.integration.order_scenarios import MONDAY_9AM, Scenario, database_url, order, order_id_of
from tests.integration.test_carrier_scan_order import carrier_delays_only
from tests.integration.test_carrier_trouble_playbook import scan, waiting_cases
from tests.samples import SHOP, sample

FULFILMENT = 123456  # the samples' (the scans' fulfillment_id)
UPS_LINK = "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scenario(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    yield from carrier_delays_only(tmp_path, monkeypatch, database_url(request, tmp_path))


def fulfilment(topic: str, hours: float, **fields: Any) -> dict[str, Any]:
    """Shopify's ``fulfillments/*`` sample (UPS, ``1z827wk74630``) as order 1's, ``hours`` after Monday 09:00."""
    at = (MONDAY_9AM + timedelta(hours=hours)).isoformat()
    return sample(topic) | {"order_id": order_id_of(1), "created_at": at, "updated_at": at, "status": "success",
                            **fields}


def scanned(scenario: Scenario, status: str, **fields: Any) -> tuple[str, str]:
    """Order 1 shipped with ``fields`` in its fulfilment, then scanned ``status``: the email's subject and body."""
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("fulfillments/create", fulfilment("fulfillments/create", 0.5, **fields))
    scenario.later(hours=3)
    scenario.deliver("fulfillment_events/create", scan(status, 1, 1))
    scenario.work()
    [mail] = scenario.mail_to("c1@example.com")
    return mail.subject, mail.body


def waiting(scenario: Scenario, **fields: Any) -> str:
    """Order 1 shipped with ``fields`` in its fulfilment, then waiting for the buyer: the email's body."""
    return scanned(scenario, "buyer_action_required", **fields)[1]


def stored(scenario: Scenario) -> dict[int, Tracking]:
    with scenario.desk.db.unit_of_work(read_only=True) as uow:
        state = uow.orders.find(ShopDomain(SHOP), OrderId(order_id_of(1)))
    assert state is not None
    return state.tracking


def test_the_buyer_is_emailed_the_carrier_and_the_tracking_link_and_the_case_carries_them(scenario: Scenario) -> None:
    body = waiting(scenario)

    assert stored(scenario) == {FULFILMENT: Tracking("UPS", (Parcel("1z827wk74630", UPS_LINK),),
                                                     MONDAY_9AM + timedelta(hours=0.5))}
    assert f"The UPS tracking page for parcel 1z827wk74630 shows what the carrier needs and how to give it:\n\n" \
           f"  {UPS_LINK}\n" in body
    scenario.later(hours=72)  # still waiting: the buyer-action monitor's case
    [case] = waiting_cases(scenario)
    assert case.detail["tracking"] == [{"fulfillment_id": FULFILMENT, "company": "UPS",
                                        "parcels": [{"number": "1z827wk74630", "url": UPS_LINK}]}]


def test_without_tracking_the_email_points_to_the_shipping_confirmation(scenario: Scenario) -> None:
    body = waiting(scenario, tracking_company=None, tracking_number=None, tracking_numbers=[], tracking_url=None,
                   tracking_urls=[])

    assert "The tracking link in your shipping confirmation email shows what the carrier needs and how to\n" \
           "give it." in body
    assert "tracking page" not in body and "None" not in body


def test_a_javascript_link_is_never_written_and_the_number_is(scenario: Scenario) -> None:
    body = waiting(scenario, tracking_url="javascript:alert(document.cookie)",
                   tracking_urls=["javascript:alert(document.cookie)"])

    assert "javascript" not in body
    assert "shows what the carrier needs and how to\ngive it (UPS tracking number 1z827wk74630).\n" in body
    assert stored(scenario)[FULFILMENT].parcels == (Parcel("1z827wk74630", ""),)


def test_an_update_changes_the_number_the_returning_parcels_case_carries(scenario: Scenario) -> None:
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("fulfillments/create", fulfilment("fulfillments/create", 0.5))
    link = "https://www.dhl.com/track?AWB=JD014600006281230701"
    scenario.deliver("fulfillments/update", fulfilment(
        "fulfillments/update", 0.75, tracking_company="DHL Express", tracking_number="JD014600006281230701",
        tracking_numbers=["JD014600006281230701"], tracking_url=link, tracking_urls=[link]))
    scenario.deliver("fulfillments/update", fulfilment("fulfillments/update", 0.6))  # the older one, retried late
    scenario.later(hours=3)
    scenario.deliver("fulfillment_events/create", scan("returning_to_sender", 1, 1))
    scenario.work()

    [case] = scenario.cases()
    assert case.detail["tracking"] == [{"fulfillment_id": FULFILMENT, "company": "DHL Express",
                                        "parcels": [{"number": "JD014600006281230701", "url": link}]}]
    assert stored(scenario)[FULFILMENT].number == "JD014600006281230701"
