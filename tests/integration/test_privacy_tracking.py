"""A customer's erasure removes their parcels' tracking numbers and links (ADR 0016, amended in session 15), on a
SQLite file and on PostgreSQL: a carrier's tracking page can show the recipient's town or name. The order's tracking,
the case that carries it, the email that named it, the decision's facts and the raw delivery lose the numbers and
links; the carrier's name stays. A fulfilment update that arrives after the erasure brings none back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from opsdesk.domain.tracking import Parcel, Tracking
from opsdesk.storage.sql import SqlDatabase
from tests.integration.order_scenarios import MONDAY_9AM, Scenario, database_url, order_id_of
from tests.integration.test_carrier_scan_order import carrier_delays_only
from tests.integration.test_carrier_trouble_playbook import waiting_cases
from tests.integration.test_fulfilment_tracking_shown import FULFILMENT, UPS_LINK, fulfilment, stored, waiting
from tests.integration.test_privacy import dump, occurrences, send
from tests.samples import SHOP, sample

NUMBER = "1z827wk74630"
CUSTOMER = 9_000_001  # order 1's


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scenario(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    yield from carrier_delays_only(tmp_path, monkeypatch, database_url(request, tmp_path))


def redact(scenario: Scenario) -> None:
    payload = sample("customers/redact") | {"shop_domain": SHOP, "orders_to_redact": [order_id_of(1)],
                                             "customer": {"id": CUSTOMER, "email": "c1@example.com", "phone": None}}
    send(scenario, "customers/redact", payload, "redact-1")  # signed, through the HTTP intake


def test_an_erasure_removes_the_tracking_numbers_and_links_and_keeps_the_carrier(scenario: Scenario) -> None:
    assert NUMBER in waiting(scenario)  # the buyer was emailed the number and the link
    scenario.later(hours=72)  # the buyer-action monitor's case carries them
    [case] = waiting_cases(scenario)
    assert case.detail["tracking"][0]["parcels"] == [{"number": NUMBER, "url": UPS_LINK}]
    db: SqlDatabase = scenario.desk.db  # type: ignore[assignment]
    assert {table for table, *_ in occurrences(dump(db), [NUMBER])} >= {"orders", "cases", "actions", "deliveries"}

    redact(scenario)

    assert occurrences(dump(db), [NUMBER, UPS_LINK]) == []
    assert stored(scenario) == {FULFILMENT: Tracking("UPS", (Parcel("[redacted]", "[redacted]"),),
                                                     MONDAY_9AM + timedelta(hours=0.5))}
    [case] = waiting_cases(scenario)
    assert case.detail["tracking"] == [{"fulfillment_id": FULFILMENT, "company": "UPS",
                                        "parcels": [{"number": "[redacted]", "url": "[redacted]"}]}]


def test_a_fulfilment_update_after_the_erasure_brings_no_number_back(scenario: Scenario) -> None:
    waiting(scenario)
    redact(scenario)
    late = "https://www.dhl.com/track?id=JD014600006281230701"
    update = fulfilment("fulfillments/update", 5, tracking_company="DHL Express", tracking_url=late,
                        tracking_number="JD014600006281230701", tracking_numbers=["JD014600006281230701"],
                        tracking_urls=[late])
    send(scenario, "fulfillments/update", update, "late-1")  # Shopify's retry, through the HTTP intake
    db: SqlDatabase = scenario.desk.db  # type: ignore[assignment]
    assert occurrences(dump(db), ["JD014600006281230701", late, NUMBER]) == []
    assert stored(scenario)[FULFILMENT].company == "DHL Express"
