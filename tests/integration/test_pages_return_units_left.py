"""A refund case of a return some of whose units were refunded since offers what is left of the return's own units, not
the order's remainder, and refuses more before anything is queued (ADR 0055). Before, the case page offered the
request's whole amount (capped only by the order's remainder), and a person's approval of it was sent: a unit paid
twice. The dashboard and the API, the refunds playbook, the Shopify stand-in over HTTP; SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.desk import Desk
from opsdesk.domain.records import CaseFilter
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.testing import RecordingConnector
from opsdesk.web.app import create_app
from tests.conftest import SQL_BACKENDS
from tests.integration.dashboard_harness import dashboard_desk, sign_in
from tests.integration.desk_harness import bearer
from tests.integration.test_pages_refund_left import deliver
from tests.integration.test_refunded_return_tax import usd
from tests.samples import delivery, order_lifecycle, sample

TOKEN = "shpat_units_left"
RETURNED, OTHER = 7_000_000_000_000_000_001, 7_000_000_000_000_000_101  # 2 units and 3 units, 80.00 each


def two_lines(payload: dict[str, Any]) -> dict[str, Any]:
    """An order of 5 units at 80.00: 2 of the line the return names, 3 of another."""
    first, second = (copy.deepcopy(payload["line_items"][i]) for i in (0, 1))
    first.update(quantity=2, price="80.00")
    second.update(id=OTHER, admin_graphql_api_id=f"gid://shopify/LineItem/{OTHER}", quantity=3, price="80.00",
                  discount_allocations=[], tax_lines=[], total_discount="0.00")
    return {**payload, "line_items": [first, second], "total_price": "400.00", "subtotal_price": "400.00",
            "total_discounts": "0.00"}


def lifecycle() -> list[dict[str, Any]]:
    """Order 1 created, paid and shipped, and a return of both units of its first line (160.00: over the cap)."""
    found = []
    for d in order_lifecycle(1, price="80.00")[:6]:
        topic, webhook = d["headers"]["X-Shopify-Topic"], d["headers"]["X-Shopify-Webhook-Id"]
        payload = json.loads(d["body"])
        if topic.startswith("orders/"):
            payload = two_lines(payload)
        if topic == "returns/request":
            payload["return_line_items"][0]["quantity"] = 2
        found.append(delivery(topic, payload, webhook))
    return found


def one_unit_refunded_in_shopify(order_id: int) -> dict[str, Any]:
    """A person's refund in Shopify admin of one of the returned line's two units (not from the return)."""
    refund = sample("refunds/create")
    [line] = refund["refund_line_items"][:1]
    line.update(quantity=1, line_item_id=RETURNED, subtotal=80.0, subtotal_set=usd("80.00"), total_tax=0,
                total_tax_set=usd("0.00"))
    line["line_item"].update(id=RETURNED, admin_graphql_api_id=f"gid://shopify/LineItem/{RETURNED}", quantity=2,
                             price="80.00", discount_allocations=[], tax_lines=[])
    [transaction] = refund["transactions"][:1]
    refund.update(id=2_100_001, order_id=order_id, refund_line_items=[line], refund_shipping_lines=[],
                  order_adjustments=[], transactions=[{**transaction, "order_id": order_id, "amount": "80.00"}])
    refund["return"] = None
    return refund


def offered(page: str) -> list[str]:
    """The amounts the case page's approval offers."""
    return re.findall(r'<input name="amount" inputmode="decimal" value="([^"]*)"', page)


@pytest.fixture(params=SQL_BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[tuple[Desk, FakeShopifyAdmin]]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        shopify = ShopifyAdmin(fake.url_for, lambda _shop: TOKEN, timeout=5.0)
        connectors = {"shopify": shopify, "smtp": RecordingConnector("smtp")}
        yield dashboard_desk(tmp_path, monkeypatch, database_url=url, connectors=connectors), fake


def test_a_return_partly_refunded_since_is_offered_and_refunded_only_its_units_left(desk) -> None:
    desk, fake = desk
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        deliver(client, desk, lifecycle())
        with desk.db.unit_of_work(read_only=True) as uow:
            (case,) = uow.cases.search(CaseFilter(), 5)
        order_id = case.order_id or 0
        sign_in(client, "alice")
        assert offered(client.get(f"/cases/{case.id}").text) == ["160.00"]
        refund = one_unit_refunded_in_shopify(order_id)
        deliver(client, desk, [delivery("refunds/create", refund, "w-1-one-unit")])

        assert offered(client.get(f"/cases/{case.id}").text) == ["80.00"]  # the order has 320.00 left
        headers = bearer(desk, "alice", "agent")
        refused = client.post(f"/api/v1/cases/{case.id}/resolve", headers=headers,
                              json={"resolution": "approve_refund", "amount": "160.00"})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == (
            "160.00 is more than is left to refund: return 4000001's units not refunded yet are worth 80.00 "
            "(the order has 320.00 left)"
        )
        approved = client.post(f"/api/v1/cases/{case.id}/resolve", headers=headers,
                               json={"resolution": "approve_refund", "amount": "80.00"})
        assert approved.status_code == 200, approved.text
        sender = desk.sender()
        while sender.run_once():
            pass
    assert [e.amount for e in fake.effects if e.kind == "refundCreate"] == [Decimal("80.00")]
