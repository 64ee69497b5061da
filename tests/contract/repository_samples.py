"""The instants, shops, ids and rows the repository contract tests write, and how they read them back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

from opsdesk.domain.events import LineItem, OrderId, OrderSnapshot, ShopDomain
from opsdesk.domain.money import Money
from opsdesk.domain.orders import OrderState, Versioned
from opsdesk.domain.records import CaseRecord, DecisionRecord, OutboxAction, RawDelivery
from opsdesk.ports import Database
from tests.contract.transactions import write

R = TypeVar("R")

T0 = datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=UTC)
SHOP = ShopDomain("alpha.myshopify.com")
OTHER_SHOP = ShopDomain("beta.myshopify.com")
MAX_ID = OrderId(9_223_372_036_854_775_807)
SNOWFLAKE_ID = OrderId(820_982_911_946_154_508)  # a real-looking Shopify id, beyond float precision
LEASE = timedelta(seconds=60)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def delivery(webhook_id: str, shop: str = SHOP, body: bytes = b'{"id": 1}', **changes: Any) -> RawDelivery:
    return replace(RawDelivery(shop=shop, webhook_id=webhook_id, topic="orders/updated", body=body,
                               received_at=T0, api_version="2026-01", event_id=f"evt-{webhook_id}",
                               triggered_at=at(-2)), **changes)


def snapshot(order_id: OrderId) -> OrderSnapshot:
    return OrderSnapshot(
        id=order_id, name="#1001", email="ada@example.com", customer_id=7_446_372_194_617, currency="EUR",
        total=Money(Decimal("1234.50"), "EUR"), subtotal=Money(Decimal("1250.00"), "EUR"),
        total_discounts=Money(Decimal("15.50"), "EUR"), financial_status="partially_refunded",
        fulfillment_status="partial", cancelled_at=None, created_at=at(-86_400),
        updated_at=datetime(2026, 3, 2, 11, 15, 30, 654321, tzinfo=timezone(timedelta(hours=2))),
        tags=("vip", "wholesale"), source_name="web",
        line_items=(
            LineItem(MAX_ID, "SKU-1", 44_000_000_000_001, 9_000_000_000_001, 2, Decimal("600.00"), Decimal("0")),
            LineItem(SNOWFLAKE_ID, "", None, None, 1, Decimal("50.005"), Decimal("15.50")),
        ),
        discount_codes=("SPRING10",), shipping_country="DE", location_id=SNOWFLAKE_ID,
        payment_gateways=("gift_card", "Cash on Delivery (COD)"),
    )


def order_state(shop: ShopDomain, order_id: OrderId, owner: str | None = "grace") -> OrderState:
    return OrderState(
        shop=shop, order_id=order_id, snapshot=snapshot(order_id),
        fulfillments={5_500_000_000_001: Versioned("success", at(-3_600))},
        returns={MAX_ID: Versioned("requested", at(-1_800))},
        refunds={1: Versioned("issued", at(-900), Decimal("10.10")),
                 SNOWFLAKE_ID: Versioned("issued", at(-600), Decimal("5.00"))},
        disputes={42: Versioned("needs_response", at(-300), Decimal("1234.50"))},
        carrier_status=Versioned("in_transit", at(-60)),
        ship_by=at(86_400), owner=owner, last_event_at=at(-60), last_event="refund.created",
    )


def decision(decision_id: str, order_id: int | None = SNOWFLAKE_ID, decided_at: datetime = T0,
             **changes: Any) -> DecisionRecord:
    return replace(DecisionRecord(
        id=decision_id, shop=SHOP, delivery_id=MAX_ID, order_id=order_id, event_name="refund.created",
        event_key=f"refund.created:{decision_id}", playbook="refunds", rule_id="small-refunds",
        policy_version="v3", outcome="automate", reason="under the cap",
        inputs={"event": {"amount": "12.30", "ids": [MAX_ID, 1]}, "known": True, "note": None},
        decided_at=decided_at,
    ), **changes)


def action(action_id: str, due: datetime = T0, **changes: Any) -> OutboxAction:
    return replace(OutboxAction(
        id=action_id, decision_id=f"decision-{action_id}", shop=SHOP, order_id=SNOWFLAKE_ID, kind="refund",
        provider="shopify", payload={"amount": "12.30", "currency": "EUR", "order_id": SNOWFLAKE_ID},
        idempotency_key=f"opsdesk-{action_id}", created_at=at(-10), next_attempt_at=due,
    ), **changes)


def case(case_id: str, order_id: int | None = SNOWFLAKE_ID, kind: str = "refund", opened_at: datetime = T0,
         **changes: Any) -> CaseRecord:
    return replace(CaseRecord(
        id=case_id, shop=SHOP, kind=kind, queue="refunds", title=f"case {case_id}", reason="over the cap",
        opened_at=opened_at, order_id=order_id, source=f"decision:{case_id}", priority="high",
        detail={"playbook": "refunds", "sla": "4h", "history": [{"attempt": 1}]},
    ), **changes)


def claim(db: Database, worker: str, now: datetime, limit: int = 10) -> list[str]:
    return write(db, lambda uow: [a.id for a in uow.outbox.claim_due(now, limit, now + LEASE, worker)])


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.utcoffset() == timedelta(0)
