"""The "your parcel is delayed" email says where to follow the parcel (ADR 0065, amended in session 15 (2)): through
the composition root on SQLite and PostgreSQL from Shopify's sample payloads, the ``carrier_delay_notice`` the SMTP
stand-in receives names the carrier and the tracking link, reads well without them, and never writes a
``javascript:`` link."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.order_scenarios import Scenario, database_url
from tests.integration.test_carrier_scan_order import carrier_delays_only
from tests.integration.test_fulfilment_tracking_shown import UPS_LINK, scanned

NO_TRACKING = {"tracking_company": None, "tracking_number": None, "tracking_numbers": [], "tracking_url": None,
               "tracking_urls": []}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scenario(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    yield from carrier_delays_only(tmp_path, monkeypatch, database_url(request, tmp_path))


def delayed(scenario: Scenario, **fields: Any) -> str:
    """Order 1 shipped with ``fields`` in its fulfilment, then delayed in transit: the delay email's body."""
    subject, body = scanned(scenario, "delayed", **fields)
    assert subject == "Your order #1001 is delayed in transit"
    return body


def test_the_delay_email_names_the_carrier_and_the_tracking_link(scenario: Scenario) -> None:
    body = delayed(scenario)

    assert "nothing you need to do.\n\nThe UPS tracking page for parcel 1z827wk74630 shows where your parcel is " \
           f"now:\n\n  {UPS_LINK}\n\nWe are sorry for the wait" in body


LINK = "javascript:alert(document.cookie)"
JAVASCRIPT = {"tracking_url": LINK, "tracking_urls": [LINK]}


@pytest.mark.parametrize(("fields", "known"), [(NO_TRACKING, ""), (JAVASCRIPT, " (UPS tracking number 1z827wk74630)")])
def test_without_a_link_the_delay_email_points_to_the_shipping_confirmation(
    scenario: Scenario, fields: dict[str, Any], known: str
) -> None:
    body = delayed(scenario, **fields)

    assert "nothing you need to do. The tracking link in your shipping confirmation email shows where your parcel " \
           f"is now{known}. We are sorry for the wait" in " ".join(body.split())  # however its lines are wrapped
    assert "tracking page" not in body and "None" not in body and "javascript" not in body
