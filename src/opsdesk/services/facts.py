"""The facts a rule sees about an event: ``event``, ``order``, ``customer``, ``shop``.

Money is Decimal here; the CEL adapter hands it to expressions as a double (conditions compare
amounts, they never do money arithmetic; caps are enforced by guardrails in Decimal).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from opsdesk.domain import shipments
from opsdesk.domain.events import (
    ComplianceKind,
    ComplianceRequested,
    DiscountChange,
    DiscountChanged,
    DisputeChange,
    DisputeChanged,
    FulfillmentChanged,
    FulfillmentEventDeleted,
    FulfillmentEventRecorded,
    FulfillmentHeld,
    InventoryItemChanged,
    InventoryLevelChanged,
    LineItem,
    OrderChange,
    OrderChanged,
    OrderId,
    OrderOversold,
    OrderSnapshot,
    PaymentOverdue,
    RefundCreated,
    ReturnChange,
    ReturnChanged,
    ReturnLine,
    RiskAssessed,
    ShopDomain,
    StoreEvent,
)
from opsdesk.domain.freezes import frozen_by
from opsdesk.domain.money import Money
from opsdesk.domain.orders import OrderState, superseded
from opsdesk.domain.refunds import not_known, unrefunded
from opsdesk.domain.tracking import Parcel, Tracking
from opsdesk.domain.worth import returned_worth
from opsdesk.services.tracking import tracking_facts


def facts_for(event: StoreEvent, state: OrderState | None) -> dict[str, Any]:
    order = order_facts(state)
    return {
        "shop": event.shop,
        "event": {"name": event.name, "occurred_at": event.occurred_at, **_event_facts(event, state)},
        "order": order,
        "customer": {"id": order.get("customer_id"), "email": order.get("email", "")},
    }


def order_facts(state: OrderState | None) -> dict[str, Any]:
    """What rules see as ``order``."""
    if state is None:
        return {"known": False}
    snap = state.snapshot
    facts: dict[str, Any] = {
        "known": snap is not None,
        "id": state.order_id,
        "payment_status": state.payment_status,
        "fulfilment_status": state.fulfilment_status,
        "refunded": state.refunded,
        "open_returns": state.open_returns,
        "disputed": bool(state.disputes),
        "refunds_frozen": state.refunds_frozen,
        "frozen_by": frozen_by(state),  # what freezes them, by name: a freeze that comes later is told apart
        "risk_level": state.risk_level,
        "owner": state.owner or "",
    }
    if snap is not None:
        facts.update(
            name=snap.name,
            email=snap.email,
            customer_id=snap.customer_id,
            currency=snap.currency,
            total=snap.total.amount,
            total_discounts=snap.total_discounts.amount,
            tags=list(snap.tags),
            source_name=snap.source_name,
            country=snap.shipping_country,
            cancelled=snap.cancelled_at is not None,
            cancel_reason=snap.cancel_reason,
            skus=[li.sku for li in snap.line_items if li.sku],
            created_at=snap.created_at,
            discount_codes=list(snap.discount_codes),
        )
    return facts


def return_amount(event: ReturnChanged, state: OrderState | None) -> Decimal | None:
    """What the customer paid for the returned units not refunded yet (``refunds.unrefunded``): their share of their
    order lines' price less discounts plus tax (``worth.returned_worth``, ADR 0049); None if unknown
    (``amount_unknown`` says why)."""
    worth = _return_worth(event, state)
    return worth if isinstance(worth, Decimal) else None


def amount_unknown(event: ReturnChanged, state: OrderState | None) -> str:
    """Why a return's amount is not known ("" when it is): for the person its request goes to."""
    worth = _return_worth(event, state)
    return worth if isinstance(worth, str) else ""


def _return_worth(event: ReturnChanged, state: OrderState | None) -> Decimal | str:
    if not event.lines:
        return f"return {event.return_id} names no line"
    lines = unrefunded(event, state)
    if lines is None:
        return not_known(event, state)
    return returned_worth(event, lines, state)


def _event_facts(event: StoreEvent, state: OrderState | None) -> dict[str, Any]:
    match event:
        case ReturnChanged():
            held = state.returns.get(event.return_id) if state is not None else None
            return {
                "return_id": event.return_id,
                "status": event.status,
                "return_status": held.status if held is not None else event.status,
                "superseded": superseded(event, state),
                "reasons": list(event.reasons),
                "simple_purchase_error": event.simple_purchase_error,
                "damage_claim": event.damage_claim,
                "notes": [line.note for line in event.lines if line.note],
                "skus": return_skus(event, state),
                "amount": return_amount(event, state),
                "amount_unknown": amount_unknown(event, state),
                "lines": len(event.lines),
                # which units, so that a case opened on it can offer what is left of them later (ADR 0055)
                "units": [[line.line_item_id, line.quantity] for line in event.lines],
            }
        case RefundCreated():
            return {
                "refund_id": event.refund_id,
                "amount": event.amount.amount,
                "currency": event.amount.currency,
            }
        case DisputeChanged():
            return {
                "dispute_id": event.dispute_id,
                "amount": event.amount.amount,
                "kind": event.kind,
                "reason": event.reason,
                "status": event.status,
                "evidence_due_by": event.evidence_due_by,
            }
        case OrderChanged():
            return {"change": event.change.value}
        case FulfillmentChanged():
            return {
                "fulfillment_id": event.fulfillment_id,
                "status": event.status,
                "shipment_status": event.shipment_status,
                **tracking_facts(state, event.fulfillment_id),
                "tracking_company": event.tracking_company,
            }
        case FulfillmentEventRecorded():
            return {"fulfillment_id": event.fulfillment_id, "status": event.status,
                    "superseded": superseded(event, state), "repeated": shipments.repeated(event, state),
                    **tracking_facts(state, event.fulfillment_id)}
        case FulfillmentEventDeleted():
            return {"fulfillment_id": event.fulfillment_id, "status": event.status}
        case FulfillmentHeld():
            return {"reason": event.reason, "note": event.note}
        case DiscountChanged():
            return {"discount_id": event.discount_gid, "title": event.title, "status": event.status}
        case InventoryLevelChanged():
            return {
                "inventory_item_id": event.inventory_item_id,
                "location_id": event.location_id,
                "available": event.available,
            }
        case ComplianceRequested():
            return {"kind": event.kind.value, "customer_id": event.customer_id}
        case _:
            return _desk_event_facts(event)


def _desk_event_facts(event: StoreEvent) -> dict[str, Any]:
    """Facts of the risk, inventory and payment events (the order-side default playbooks)."""
    match event:
        case RiskAssessed():
            return {"risk_level": event.risk_level, "provider": event.provider}
        case InventoryItemChanged():
            return {"inventory_item_id": event.inventory_item_id, "sku": event.sku, "tracked": event.tracked}
        case OrderOversold():
            return {"skus": list(event.skus), "available": event.available, "cause": event.cause}
        case PaymentOverdue():
            return {
                "stage": event.stage,
                "minutes": event.minutes,
                "checked_status": event.checked_status,
                "gateways": list(event.gateways),
                "slow_method": event.slow_method,
            }
        case _:
            return {}


def return_skus(event: ReturnChanged, state: OrderState | None) -> list[str]:
    """The SKUs of the returned lines, from the order's line items (a return line names no SKU)."""
    skus = {li.id: li.sku for li in state.snapshot.line_items} if state and state.snapshot else {}
    return sorted({sku for line in event.lines if (sku := skus.get(line.line_item_id or -1))})


_AT = datetime(2026, 1, 1, tzinfo=UTC)
_SHOP = ShopDomain("specimen.myshopify.com")
_ORDER = OrderId(1)


def _specimen_order() -> OrderState:
    usd = Money(Decimal("10.00"), "USD")
    snapshot = OrderSnapshot(
        id=_ORDER,
        name="#1001",
        email="a@example.com",
        customer_id=1,
        currency="USD",
        total=usd,
        subtotal=usd,
        total_discounts=usd,
        financial_status="paid",
        fulfillment_status="",
        cancelled_at=None,
        created_at=_AT,
        updated_at=_AT,
        tags=("vip",),
        source_name="web",
        shipping_country="US",
        discount_codes=("X",),
        line_items=(LineItem(1, "SKU", 1, 1, 1, Decimal("10.00"), Decimal(0), "", Decimal("10.00")),),
    )
    parcel = Parcel("1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784")
    return OrderState(shop=_SHOP, order_id=_ORDER, snapshot=snapshot, owner="team:ops",
                      tracking={1: Tracking("UPS", (parcel,), _AT)})


def specimen_events() -> list[StoreEvent]:
    """One event of every kind, with every field set: what ``policy check`` type-checks rules against."""
    usd = Money(Decimal("10.00"), "USD")
    snapshot = _specimen_order().snapshot
    assert snapshot is not None
    events: list[StoreEvent] = [OrderChanged(_SHOP, _AT, change, snapshot) for change in OrderChange]
    events += [
        ReturnChanged(_SHOP, _AT, change, 1, _ORDER, "open", (ReturnLine(1, 1, "UNWANTED", "", None),))
        for change in ReturnChange
    ]
    events += [
        DisputeChanged(_SHOP, _AT, change, 1, _ORDER, usd, "chargeback", "fraudulent", "open", _AT)
        for change in DisputeChange
    ]
    events += [
        DiscountChanged(_SHOP, _AT, change, "gid://shopify/DiscountAutomaticNode/1", "T", "ACTIVE")
        for change in DiscountChange
    ]
    events += [ComplianceRequested(_SHOP, _AT, kind, 1, "a@example.com", (1,)) for kind in ComplianceKind]
    events += [
        FulfillmentChanged(_SHOP, _AT, 1, _ORDER, "success", "in_transit", "UPS", 1, True),
        FulfillmentEventRecorded(_SHOP, _AT, 1, 1, _ORDER, "in_transit"),
        FulfillmentEventDeleted(_SHOP, _AT, 1, 1, _ORDER, "in_transit", _AT),
        FulfillmentHeld(
            _SHOP, _AT, "gid://shopify/FulfillmentOrder/1", "gid://shopify/FulfillmentHold/1", "other", ""
        ),
        RefundCreated(_SHOP, _AT, 1, _ORDER, usd, ""),
        InventoryLevelChanged(_SHOP, _AT, 1, 1, 5),
        InventoryItemChanged(_SHOP, _AT, 1, "SKU", True),
        RiskAssessed(_SHOP, _AT, _ORDER, "medium", "shopify"),
        OrderOversold(_SHOP, _AT, _ORDER, ("SKU",), -1, "stock below zero"),
        PaymentOverdue(_SHOP, _AT, _ORDER, "checked", 30, "PENDING", ("visa",)),
    ]
    return events


def specimens() -> dict[str, dict[str, Any]]:
    """Facts of every event name, fully populated."""
    state = _specimen_order()
    return {event.name: facts_for(event, state) for event in specimen_events()}
