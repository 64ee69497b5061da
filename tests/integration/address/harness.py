"""The address case's desk: the customer never answered about the address the carrier refused, and the case opened.

The desk of tests/integration/fulfilment_harness.py (a SQLite file, or PostgreSQL) with the real Shopify
connector against the local Shopify Admin stand-in, whose fulfilment order is held and released for real, the
carrier stand-in refusing the sample's postal code, the SMTP stand-in, and the case page over HTTP. The stand-ins
and where the desk runs are this folder's fixtures (conftest.py).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.domain.cases import Case
from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.services import users
from opsdesk.web.app import create_app
from tests.integration.dashboard_harness import PASSWORD, sign_in
from tests.integration.fulfilment_harness import ORDER_ID, START, Run, make_run, paid_order
from tests.samples import delivery

ADDRESSES = {"delayed_fulfilment": {"enabled": False}, "stuck_orders": {"enabled": False}}
TOKEN = "shpat_address_case"
ASK = "Please confirm the delivery address for order #9999"
FULFILMENT_ORDER = f"gid://shopify/FulfillmentOrder/{ORDER_ID}1"
REFUSED = "carrier ups ADDRESS.VERIFY.FAILURE: Address not found"  # the carrier stand-in's answer

#: Where the desk runs: its folder, the test's monkeypatch, its database's URL.
Desk = tuple[Path, pytest.MonkeyPatch, str]


def unanswered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, carrier: FakeCarrier,
               smtp: FakeSmtp, shopify: FakeShopifyAdmin) -> tuple[Run, Case]:
    """The carrier refused the paid order's address, the order was held in Shopify, the customer was asked,
    and 24 hours went by without an answer: the address case, for fred of the warehouse team."""
    run = paid(tmp_path, monkeypatch, db_url, carrier, smtp, shopify)
    run.settle()
    run.advance(hours=24)
    [case] = run.cases()
    assert (case.kind, case.owner, holds(shopify)) == ("address", "fred", ["ON_HOLD"])
    return run, case


def paid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, carrier: FakeCarrier, smtp: FakeSmtp,
         shopify: FakeShopifyAdmin, **shipping: str) -> Run:
    """The desk with the order paid (``orders/paid`` stored, not processed yet); ``shipping``: its shipping
    address's fields that differ from the sample's (``address1``, ``zip``)."""
    connector = ShopifyAdmin(shopify.url_for, lambda _shop: TOKEN, timeout=5)
    run = make_run(tmp_path, monkeypatch, carrier=carrier, smtp=smtp, monitors=ADDRESSES, database_url=db_url,
                   extra_connectors={"shopify": connector})
    order = paid_order()
    order["shipping_address"] = {**order["shipping_address"], **shipping}
    run.feed(delivery("orders/paid", order, "w-paid"))
    return run


def holds(shopify: FakeShopifyAdmin) -> list[str]:
    """The status of the order's fulfilment orders in Shopify."""
    return [fo["status"] for fo in shopify.store.order(ORDER_ID)["fulfillmentOrders"]["nodes"]]


def answer(run: Run, hours: float, webhook_id: str, street: str = "125 Shipping Street", zip_: str = "40004",
           **changes: Any) -> None:
    """The customer's answer: the order's shipping address changed in Shopify, ``hours`` after it was paid
    (``orders/updated``, delivered now); ``changes`` to the order besides."""
    order = paid_order(updated_at=(START + timedelta(hours=hours)).isoformat(), **changes)
    order["shipping_address"] = {**order["shipping_address"], "address1": street, "zip": zip_}
    run.feed(delivery("orders/updated", order, webhook_id))


def checked(carrier: FakeCarrier) -> list[tuple[str, int]]:
    """The postal codes the carrier was asked about, in order, with its answers."""
    return [(c.body["address"]["zip"], c.status) for c in carrier.calls if c.what == "addresses"]


def effects(shopify: FakeShopifyAdmin) -> list[str]:
    """What the desk did in Shopify, in order (``fulfillmentOrderHold``, ...)."""
    return [e.kind for e in shopify.effects]


def case_page(run: Run, case_id: str, person: str = "fred") -> str:
    """The case page as ``person`` (an agent, signed in through the login form) reads it over HTTP."""
    with run.desk.db.unit_of_work() as uow:
        if uow.users.find(person) is None:
            users.add_user(uow, person, PASSWORD, person.title(), {"*": "agent"}, person, now=run.clock.now())
        uow.commit()
    with TestClient(create_app(run.desk, background=False), base_url="http://127.0.0.1") as client:
        sign_in(client, person)
        return client.get(f"/cases/{case_id}").text
