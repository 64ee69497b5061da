"""An order held for its address and for fraud (and by hand in Shopify): each release takes its own hold only.

The scenario desk of tests/integration/order_scenarios.py (the composition root, the starter playbooks, a SQLite
file and PostgreSQL) with the address monitor on: the carrier stand-in refuses the sample's postal code, the
real Shopify connector holds and releases at the local Shopify Admin stand-in over HTTP, and a person works
the cases through the dashboard or the case service.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from opsdesk.domain.cases import Case
from opsdesk.domain.records import CaseFilter
from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.services.cases import act
from tests.integration.dashboard_harness import agent_client, csrf_of
from tests.integration.fulfilment_harness import carrier_connector
from tests.integration.order_scenarios import MONDAY_9AM, Scenario, make_scenario, order, order_id_of
from tests.integration.test_risk_playbook import assessed

ORDER = order_id_of(1)
#: The holds on the order (their reason, and whether the desk placed them): the handles are the connector's.
ADDRESS, FRAUD, BY_HAND = ("INCORRECT_ADDRESS", True), ("HIGH_RISK_OF_FRAUD", True), ("OTHER", False)
MONITORS = {"delayed_fulfilment": {"enabled": False}, "stuck_orders": {"enabled": False}}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def held(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    """The paid order's address refused by the carrier (held, the customer asked), then assessed high risk
    (held for review, a risk case), and held by hand in Shopify too."""
    url = f"sqlite:///{tmp_path / 'opsdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with FakeCarrier() as carrier:
        carrier.reject_zip("40003")  # the postal code of the sample's shipping address
        for scenario in make_scenario(tmp_path, monkeypatch, url, {"carrier": carrier_connector(carrier)},
                                      monitors=MONITORS):
            scenario.deliver("orders/paid", order(1, MONDAY_9AM))
            scenario.work()
            scenario.deliver("orders/risk_assessment_changed", assessed(1, "high"))
            scenario.work()
            scenario.shopify.hold_by_hand(ORDER, "OTHER")
            assert holds(scenario) == ("ON_HOLD", [ADDRESS, FRAUD, BY_HAND])
            yield scenario


def holds(scenario: Scenario) -> tuple[str, list[tuple[str, bool]]]:
    """The order's fulfilment order in Shopify: its status and its holds (reason, placed by the desk)."""
    [node] = scenario.shopify.store.order(ORDER)["fulfillmentOrders"]["nodes"]
    return node["status"], [(h["reason"], h["heldByRequestingApp"]) for h in node["fulfillmentHolds"]]


def case_of(scenario: Scenario, kind: str) -> Case:
    with scenario.desk.db.unit_of_work(read_only=True) as uow:
        [case] = uow.cases.search(CaseFilter(kind=kind))
    return case


def test_the_customer_fixing_the_address_releases_the_address_hold_only_the_order_stays_held_for_fraud(
    held: Scenario,
) -> None:
    answer = order(1, MONDAY_9AM + timedelta(hours=2))
    answer["shipping_address"] = {**answer["shipping_address"], "address1": "125 Shipping Street", "zip": "40004"}
    held.later(hours=2)
    held.deliver("orders/updated", answer)
    held.work()

    assert holds(held) == ("ON_HOLD", [FRAUD, BY_HAND])
    [release] = [a for a in held.actions(ORDER) if a.kind == "release_hold"]
    assert (release.status.value, release.payload["holds"]) == ("sent", ["address"])
    [risk] = held.cases()
    assert (risk.queue, risk.status.value) == ("risk", "assigned")  # still to review: nothing ships before


def test_a_person_releasing_the_unanswered_address_case_from_its_page_leaves_the_fraud_hold(held: Scenario) -> None:
    held.later(hours=24)  # no answer from the customer: the address case
    case = case_of(held, "address")
    with agent_client(held.desk, "carol", held.clock.now()) as client:
        page = client.get(f"/cases/{case.id}").text
        form = {"csrf_token": csrf_of(page), "resolution": "release_hold", "note": "address fixed in Shopify"}
        confirmation = client.post(f"/cases/{case.id}/resolve", data=form).text
        done = client.post(f"/cases/{case.id}/resolve", data={**form, "confirmed": "yes"}, follow_redirects=False)
    held.work()

    assert (done.status_code, holds(held)) == (303, ("ON_HOLD", [FRAUD, BY_HAND]))
    says = "releases the desk&#39;s address hold in Shopify, and no other: a fraud hold, or one placed by hand"
    assert (says in page, says in confirmation) == (True, True)  # what the page offered, and what it confirmed


def test_resolving_the_risk_case_releases_the_fraud_hold_only_and_the_address_wait_goes_on(held: Scenario) -> None:
    [risk] = held.cases()
    with held.desk.db.unit_of_work() as uow:
        act(uow, risk.id, "resolve", "carol", held.clock.now(), held.desk.case_hooks, resolution="release_hold",
            note="a known customer; the bank confirmed the card")
        uow.commit()
    held.work()

    assert holds(held) == ("ON_HOLD", [ADDRESS, BY_HAND])
    held.later(hours=24)  # the address hold stayed, so the customer's silence still becomes a case
    assert case_of(held, "address").status.value in ("open", "assigned")
