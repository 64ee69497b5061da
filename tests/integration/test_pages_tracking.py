"""The order page, the case page and the API's order show each fulfilment's tracking (ADR 0065, amended in session
15): the number links to the carrier's page (escaped, opened apart: ``rel="noopener noreferrer"``), a link that is
not http(s) is never one, and a fulfilment's update replaces what its first version said. SQLite and PostgreSQL."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.domain.records import CaseFilter
from opsdesk.services import tokens
from opsdesk.web.app import create_app
from tests.conftest import SQL_BACKENDS
from tests.integration.dashboard_harness import dashboard_desk, sign_in
from tests.samples import delivery, order_lifecycle, sample

ORDER = 5_000_000_000_000_000_001
FULFILMENT = 8_000_001  # order_lifecycle(1)'s, from Shopify's sample: UPS, 1z827wk74630
UPS_LINK = "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630"
PAGE = f"/orders/demo-store.myshopify.com/{ORDER}"


@pytest.fixture(params=SQL_BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return dashboard_desk(tmp_path, monkeypatch, database_url=url)


@pytest.fixture
def client(desk: Desk) -> Iterator[TestClient]:
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        for d in order_lifecycle(1, price="80.00")[:6]:  # shipped with the sample's tracking; a refund case
            assert client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]).status_code == 200
        desk.process_pending()
        sign_in(client, "vera")
        yield client


def link(url: str, number: str) -> str:
    return f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{html.escape(number)}</a>'


def updated(client: TestClient, desk: Desk, **fields: object) -> None:
    """A ``fulfillments/update`` of the order's fulfilment, a day after it shipped, with ``fields``."""
    payload = sample("fulfillments/update") | {"id": FULFILMENT, "order_id": ORDER, "status": "success",
                                               "updated_at": "2026-01-06T09:00:00+00:00", **fields}
    d = delivery("fulfillments/update", payload, "w-update", triggered_at=datetime(2026, 1, 6, 9, tzinfo=UTC))
    assert client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]).status_code == 200
    desk.process_pending()


def test_the_order_and_case_pages_link_the_tracking_number_to_the_carriers_page(client, desk) -> None:
    with desk.db.unit_of_work(read_only=True) as uow:
        [case] = uow.cases.search(CaseFilter(), 5)
    order, case_page = client.get(PAGE).text, client.get(f"/cases/{case.key}").text

    for page in (order, case_page):
        assert f"<dt>Tracking</dt><dd class=\"tracking\"><div>UPS {link(UPS_LINK, '1z827wk74630')}</div></dd>" in page


def test_an_update_replaces_the_number_and_a_link_that_is_not_http_is_no_link(client, desk) -> None:
    updated(client, desk, tracking_company="<i>DHL</i>", tracking_numbers=['<b>"1Z"&x</b>', "JD0146"],
            tracking_urls=["javascript:alert(document.cookie)", "https://dhl.example/t?n=JD0146&l=en"])

    page = client.get(PAGE).text

    assert "1z827wk74630" not in page and "javascript" not in page and "<b>" not in page and "<i>" not in page
    assert ("<div>&lt;i&gt;DHL&lt;/i&gt; &lt;b&gt;&#34;1Z&#34;&amp;x&lt;/b&gt;, "
            f"{link('https://dhl.example/t?n=JD0146&l=en', 'JD0146')}</div>") in page


def test_the_api_gives_each_fulfilments_carrier_and_parcels(client, desk) -> None:
    updated(client, desk, tracking_urls=["javascript:alert(1)"], tracking_url="javascript:alert(1)")
    with desk.db.unit_of_work() as uow:
        bearer = tokens.create_token(uow, "test", "viewer", desk.clock.now())
        uow.commit()

    answer = client.get(f"/api/v1/orders/{ORDER}", headers={"Authorization": f"Bearer {bearer}"})

    assert answer.status_code == 200, answer.text
    assert answer.json()["state"]["tracking"] == [
        {"fulfillment_id": FULFILMENT, "company": "UPS", "parcels": [{"number": "1z827wk74630", "url": ""}]}]
