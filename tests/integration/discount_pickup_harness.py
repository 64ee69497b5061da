"""Shopify deliveries for the discount and pickup scenarios, built from Shopify's own sample payloads.

``orders/create`` and ``discounts/create`` come from ``../shared/fixtures/real/shopify/.../samples-2026-07``
(MIT, see that folder's SOURCES.md); only ids, times, lines and discounts are changed per order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.desk import Desk
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.ports import Connector
from opsdesk.testing import ManualClock, RecordingConnector
from tests.integration.desk_harness import make_desk
from tests.pipeline_harness import feed
from tests.samples import delivery, sample

TOKEN = "shpat_scenario"
CENT = Decimal("0.01")
#: The desk's organisation: pricing and warehouse queues, on a calendar that never closes.
ORG: dict[str, Any] = {
    "calendars": {"always": {"timezone": "UTC", "always_open": True}},
    "sla_policies": {
        "pricing": {"calendar": "always", "targets": {"resolution": "1h"}, "warn_at": [0.5]},
        "warehouse": {"calendar": "always", "targets": {"resolution": "8h"}, "warn_at": [0.5]},
    },
    "people": {
        "paula": {"name": "Paula Price", "email": "paula@example.com"},
        "wendy": {"name": "Wendy Wu", "email": "wendy@example.com"},
    },
    "teams": {
        "pricing": {"members": ["paula"], "lead": "paula", "calendar": "always", "on_call": ["paula"]},
        "warehouse": {"members": ["wendy"], "lead": "wendy", "calendar": "always"},
        "ops": {"members": ["paula"], "lead": "paula"},
    },
    "queues": {
        "pricing": {"team": "pricing", "sla": "pricing"},
        "warehouse": {"team": "warehouse", "sla": "warehouse"},
    },
}


@dataclass(frozen=True)
class LineSpec:
    sku: str
    price: Decimal
    quantity: int = 1


def order_payload(
    n: int,
    at: datetime,
    lines: Sequence[LineSpec],
    *,
    discount: Decimal = Decimal(0),
    automatic: str | None = None,
    code: str | None = None,
    customer_since: datetime | None = None,
    location_id: int | None = None,
    tags: str = "",
    customer_id: int | None = None,
) -> dict[str, Any]:
    """Shopify's sample ``orders/create`` as order ``n``: its lines, its discount, placed at ``at``."""
    p = sample("orders/create")
    oid = 7_100_000_000 + n
    template = p["line_items"][0]
    items = []
    for i, spec in enumerate(lines):
        item = {
            **template,
            "id": oid * 10 + i,
            "sku": spec.sku,
            "price": str(spec.price),
            "quantity": spec.quantity,
            "total_discount": "0.00",
            "discount_allocations": [],
        }
        items.append(item)
    gross = sum((s.price * s.quantity for s in lines), Decimal(0))
    stamp = at.isoformat()
    applications = []
    if automatic:
        applications.append(
            {
                "type": "automatic",
                "title": automatic,
                "value": "90.0",
                "value_type": "percentage",
                "allocation_method": "across",
                "target_selection": "all",
                "target_type": "line_item",
            }
        )
    if code:
        applications.append(
            {
                "type": "discount_code",
                "code": code,
                "value": "10.0",
                "value_type": "percentage",
                "allocation_method": "across",
                "target_selection": "all",
                "target_type": "line_item",
            }
        )
    customer = dict(p["customer"])
    customer["id"] = customer_id or 880_000 + n
    customer["created_at"] = customer_since.isoformat() if customer_since else None
    p.update(
        id=oid,
        admin_graphql_api_id=f"gid://shopify/Order/{oid}",
        name=f"#{3000 + n}",
        order_number=3000 + n,
        created_at=stamp,
        updated_at=stamp,
        processed_at=stamp,
        cancelled_at=None,
        cancel_reason=None,
        financial_status="paid",
        fulfillment_status=None,
        line_items=items,
        total_discounts=str(discount),
        total_line_items_price=str(gross),
        subtotal_price=str(gross - discount),
        total_price=str(gross - discount),
        discount_applications=applications,
        discount_codes=[{"code": code, "amount": str(discount), "type": "percentage"}] if code else [],
        location_id=location_id,
        tags=tags,
        customer=customer,
        shipping_lines=[],
    )
    return p


def discount_payload(gid: str, title: str, at: datetime, status: str = "ACTIVE") -> dict[str, Any]:
    """Shopify's sample ``discounts/create``: only the id, title, status and times."""
    p = sample("discounts/create")
    p.update(
        admin_graphql_api_id=gid,
        title=title,
        status=status,
        created_at=at.isoformat(),
        updated_at=at.isoformat(),
    )
    return p


@dataclass
class Scenario:
    """A desk on a SQLite file and a virtual clock, talking to a fake Admin API over real HTTP."""

    desk: Desk
    clock: ManualClock
    fake: FakeShopifyAdmin
    sent: int = 0
    queued: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)

    def deliver(self, topic: str, payload: dict[str, Any], at: datetime) -> None:
        """Shopify delivers this webhook at ``at`` (on the virtual clock)."""
        self.sent += 1
        self.queued.append((at, delivery(topic, payload, f"w-{self.sent}", triggered_at=at)))

    def step(self, length: timedelta = timedelta(seconds=5)) -> None:
        """One tick of the desk: deliver what is due, process, read discounts, fire timers, send; then advance."""
        now = self.clock.now()
        due = [d for at, d in self.queued if at <= now]
        self.queued = [(at, d) for at, d in self.queued if at > now]
        if due:
            feed(self.desk.db, due, self.clock)
        self.desk.process_pending()
        self.desk.inspect_discounts()
        while self._sweeper.run_once():
            pass
        while self._sender.run_once():
            pass
        self.clock.advance(seconds=length.total_seconds())

    def run_until(self, until: datetime, step: timedelta = timedelta(seconds=5)) -> None:
        while self.clock.now() <= until:
            self.step(step)

    def __post_init__(self) -> None:
        self._sender, self._sweeper = self.desk.sender("scenario"), self.desk.sweeper("scenario")


@pytest.fixture
def fake_admin() -> Iterator[FakeShopifyAdmin]:
    with FakeShopifyAdmin(access_tokens={TOKEN}) as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return f"sqlite:///{tmp_path}/opsdesk.db"


def scenario(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeShopifyAdmin,
    start: datetime,
    database_url: str | None = None,
    **config: Any,
) -> Scenario:
    clock = ManualClock(start)
    connectors: dict[str, Connector] = {
        "shopify": ShopifyAdmin(fake.url_for, lambda shop: TOKEN, timeout=5.0),
        "smtp": RecordingConnector("smtp"),
    }
    desk = make_desk(
        tmp_path,
        monkeypatch,
        clock=clock,
        connectors=connectors,
        database_url=database_url,
        **{**ORG, **config},
    )
    return Scenario(desk, clock, fake)


def excess(gross: Decimal, discount: Decimal, max_share: Decimal) -> Decimal:
    """The discount beyond the allowed share of the gross: what the scenario expects, worked out apart."""
    return discount - gross * max_share if discount > gross * max_share else Decimal(0)
