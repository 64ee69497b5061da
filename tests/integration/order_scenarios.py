"""A desk for the order-side playbook scenarios: the real composition root, the starter playbooks and
``opsdesk.yaml``, real connectors against the local Shopify Admin and SMTP stand-ins, a virtual clock.

Payloads are Shopify's own samples (``tests.samples``, from ../shared/fixtures/real), with ids and times
changed to tell orders apart; nothing else is invented.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsdesk import app as composition
from opsdesk.config import load_settings
from opsdesk.desk import Desk
from opsdesk.domain.cases import Case
from opsdesk.domain.records import CaseFilter, OutboxAction
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.smtp import FakeSmtp, ReceivedMessage
from opsdesk.testing import ManualClock
from tests.pipeline_harness import STARTER, feed
from tests.samples import SECRET, SHOP, delivery, sample

STARTER_CONFIG = STARTER.parent / "opsdesk.yaml"
#: Monday 2 March 2026, 09:00 in New York: the starter's support calendar is open.
MONDAY_9AM = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
TOKEN = "shpat_scenario"
ORDER_QUEUES = frozenset({"refunds", "disputes", "inventory", "risk", "payments", "quality", "automation"})
ORDER_PLAYBOOKS = ("refunds", "disputes", "inventory", "risk", "payments", "wrong_item")
ITEM = 271878346596884015  # the samples' inventory item (exact, from its admin_graphql_api_id)
LOCATION = 24826418  # the samples' location


@dataclass
class Scenario:
    desk: Desk
    clock: ManualClock
    shopify: FakeShopifyAdmin
    smtp: FakeSmtp
    sent: int = 0
    _n: int = field(default=0)

    def deliver(self, topic: str, payload: dict[str, Any], triggered_at: datetime | None = None) -> None:
        """Shopify delivers ``payload`` now; the pipeline processes it (and any signal it raises).

        ``triggered_at``: when it was triggered, for a retry of a delivery that failed (now when not given). An
        order's line items are Shopify's from then on: a refund of line items is checked against them."""
        if topic in ("orders/create", "orders/updated"):
            items = {int(str(li.get("admin_graphql_api_id") or li["id"]).rsplit("/", 1)[-1]): li
                     for li in payload.get("line_items") or []}
            self.shopify.put_line_items(
                int(payload["id"]),
                {item: (int(li["quantity"]), Decimal(str(li["price"]))) for item, li in items.items()},
                {item: paid_for(li) for item, li in items.items()},
            )
        self._n += 1
        feed(
            self.desk.db,
            [delivery(topic, payload, f"s-{self._n}", triggered_at=triggered_at or self.clock.now())],
            self.clock,
        )
        self.desk.process_pending()

    def work(self) -> None:
        """Everything due now: timers fire, actions go out, signals they raise are decided, until quiet."""
        for _ in range(10):
            swept = self.desk.sweeper("test").run_once()
            sender = self.desk.sender("test")
            sent = 0
            while (claimed := sender.run_once()) > 0:
                sent += claimed
            report = self.desk.process_pending()
            if not (swept or sent or report.deliveries):
                return

    def later(self, **delta: float) -> None:
        self.clock.advance(**delta)
        self.work()

    def cases(self, **where: Any) -> list[Case]:
        """Cases of the order-side queues (monitors of other playbooks may open cases of their own)."""
        with self.desk.db.unit_of_work(read_only=True) as uow:
            found = uow.cases.search(CaseFilter(active_only=False, **where), limit=100)
        return [c for c in found if c.queue in ORDER_QUEUES]

    def mail_to(self, address: str) -> list[ReceivedMessage]:
        return [m for m in self.smtp.messages if m.to == address]

    def actions(self, order_id: int) -> list[OutboxAction]:
        with self.desk.db.unit_of_work(read_only=True) as uow:
            return sorted(uow.outbox.for_order(SHOP, order_id), key=lambda a: (a.created_at, a.kind))

    def decisions(self, order_id: int) -> list[tuple[str, str, str, str]]:
        with self.desk.db.unit_of_work(read_only=True) as uow:
            found = uow.decisions.for_order(SHOP, order_id)
        return sorted((d.event_name, d.playbook, d.rule_id, d.outcome) for d in found if d.playbook != "-")

    def effects(self, kind: str) -> list[str]:
        return [e.target for e in self.shopify.effects if e.kind == kind]


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    yield from make_scenario(tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'opsdesk.db'}")


def make_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str,
    connectors: dict[str, Any] | None = None, **overrides: Any
) -> Iterator[Scenario]:
    """``connectors``: more than the starter's (a carrier, say); ``overrides``: other top-level settings."""
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as shopify, FakeSmtp() as smtp:
        config = yaml.safe_load(STARTER_CONFIG.read_text())
        config["shops"] = [
            {"domain": SHOP, "admin_url": shopify.url_for(SHOP), "timezone": "America/New_York"}
        ]
        # Only the order-side playbooks: the scenarios show what they do, not what the others add.
        playbooks = tmp_path / "playbooks"
        playbooks.mkdir()
        for name in ORDER_PLAYBOOKS:
            (playbooks / f"{name}.yaml").write_text((STARTER / f"{name}.yaml").read_text())
        config["playbooks"] = str(playbooks)
        config["connectors"]["smtp"].update(host=smtp.host, port=smtp.port)
        config["connectors"].update(connectors or {})
        config.update(overrides)
        path = tmp_path / "opsdesk.yaml"
        path.write_text(yaml.safe_dump(config))
        monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
        monkeypatch.setenv("OPSDESK_SHOPIFY_ACCESS_TOKEN", TOKEN)
        clock = ManualClock(MONDAY_9AM)
        shopify.store.now = clock.now  # the refunds the stand-in makes are dated on the scenario's clock
        desk = composition.build(load_settings(str(path), database_url), clock=clock)
        try:
            yield Scenario(desk, clock, shopify, smtp)
        finally:
            for connector in desk.connectors.values():
                close = getattr(connector, "close", None)
                if close is not None:
                    close()


def paid_for(line: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """What Shopify says was paid for an order's line: its price times its units less its discount allocations,
    and its tax lines."""
    discounts = sum((Decimal(str(a["amount"])) for a in line.get("discount_allocations") or []), Decimal(0))
    tax = sum((Decimal(str(t["price"])) for t in line.get("tax_lines") or []), Decimal(0))
    return Decimal(str(line["price"])) * int(line["quantity"]) - discounts, tax


def order(
    n: int, at: datetime, *, financial_status: str = "paid", sku: str = "SKU2006-001", price: str = "19.99"
) -> dict[str, Any]:
    """Shopify's ``orders/create`` sample as order ``n`` of the scenario, placed at ``at``."""
    payload = sample("orders/create")
    order_id = order_id_of(n)
    payload.update(
        id=order_id,
        admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
        name=f"#{1000 + n}",
        email=f"c{n}@example.com",
        created_at=at.isoformat(),
        updated_at=at.isoformat(),
        cancelled_at=None,
        cancel_reason=None,
        financial_status=financial_status,
        fulfillment_status=None,
        tags="",
    )
    payload.update(total_discounts="0.00", discount_applications=[], discount_codes=[])
    payload["customer"]["id"] = 9_000_000 + n
    payload["line_items"] = [copy.deepcopy(payload["line_items"][0])]
    payload["line_items"][0].update(
        id=line_id_of(n),
        admin_graphql_api_id=f"gid://shopify/LineItem/{line_id_of(n)}",
        sku=sku,
        price=price,
        variant_id=None,
    )
    return payload


def inventory_item(sku: str = "SKU2006-001") -> dict[str, Any]:
    """Shopify's ``inventory_items/update`` sample: the samples' item, of ``sku``."""
    payload = sample("inventory_items/update")
    payload.update(sku=sku, updated_at=MONDAY_9AM.isoformat())
    return payload


def inventory_level(available: int, at: datetime, location: int = LOCATION) -> dict[str, Any]:
    """Shopify's ``inventory_levels/update`` sample: ``available`` units of the samples' item at ``location``."""
    payload = sample("inventory_levels/update")
    payload.update(
        available=available,
        updated_at=at.isoformat(),
        location_id=location,
        admin_graphql_api_id=f"gid://shopify/InventoryLevel/{location}?inventory_item_id={ITEM}",
    )
    return payload


def order_id_of(n: int) -> int:
    return 5_000_000_000_000_000_000 + n


def line_id_of(n: int) -> int:
    return 7_000_000_000_000_000_000 + n


def return_request(n: int, reason: str, *, note: str = "", price: str = "19.99") -> dict[str, Any]:
    """Shopify's ``returns/request`` sample for order ``n``, one line with ``reason``."""
    payload = sample("returns/request")
    order_id = order_id_of(n)
    payload.update(
        id=4_000_000 + n,
        admin_graphql_api_id=f"gid://shopify/Return/{4_000_000 + n}",
        order={"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}"},
        return_line_items=[
            {
                "id": 3_000_000 + n,
                "quantity": 1,
                "return_reason": reason,
                "return_reason_note": note,
                "line_item": {"id": line_id_of(n), "price": price},
            }
        ],
    )
    return payload


def return_change(n: int, topic: str) -> dict[str, Any]:
    """Shopify's sample for a later change (``returns/decline``, ``close``, ``cancel``...) of order ``n``'s return."""
    payload = sample(topic)
    payload.update(id=4_000_000 + n, admin_graphql_api_id=f"gid://shopify/Return/{4_000_000 + n}")
    if "order" in payload:
        order_id = order_id_of(n)
        payload["order"] = {"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}"}
    else:
        payload["order_id"] = order_id_of(n)
    return payload


def later(at: datetime, **delta: float) -> datetime:
    return at + timedelta(**delta)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_scenario(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Scenario]:
    """The scenario desk on a SQLite file, then on a PostgreSQL schema of its own."""
    yield from make_scenario(tmp_path, monkeypatch, database_url(request, tmp_path))


def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file's, or (``request.param == "postgres"``) a PostgreSQL schema's of its own."""
    return (
        f"sqlite:///{tmp_path / 'opsdesk.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
