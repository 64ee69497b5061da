"""JSON for what the tables keep as documents: order state, decision inputs, action payloads."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from opsdesk.domain.events import LineItem, OrderId, OrderSnapshot, ShippingAddress, ShopDomain
from opsdesk.domain.money import Money
from opsdesk.domain.orders import OrderState, Versioned
from opsdesk.domain.refunds import RefundFor
from opsdesk.domain.shipments import Scan, Withdrawn
from opsdesk.domain.tracking import Parcel, Tracking


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, frozenset | set | tuple):
        return sorted(value) if isinstance(value, frozenset | set) else list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: object) -> str:
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _money(value: dict[str, str]) -> Money:
    return Money(Decimal(value["amount"]), value["currency"])


def _versioned(items: dict[str, list[Any]]) -> dict[int, Versioned]:
    return {int(k): Versioned(v[0], datetime.fromisoformat(v[1]), Decimal(v[2])) for k, v in items.items()}


def _encode_versioned(items: dict[int, Versioned]) -> dict[int, list[Any]]:
    return {k: [v.status, v.at, str(v.amount)] for k, v in items.items()}


def _encode_scans(state: OrderState) -> dict[str, Any]:
    """The carrier scans (fulfilment, status, time) and the deleted ones (the same, and when deleted), by event id."""
    return {"scans": {k: [s.fulfillment_id, s.status, s.at] for k, s in state.scans.items()},
            "withdrawn": {k: [w.scan.fulfillment_id, w.scan.status, w.scan.at, w.deleted_at]
                          for k, w in state.withdrawn.items()},
            "reported": _encode_versioned(state.reported)}


def _scans(d: dict[str, Any]) -> dict[str, Any]:
    """A state stored before scans were kept (ADR 0065) has none; its fulfilments' reports are its shipments."""
    scans = {int(k): Scan(v[0], v[1], datetime.fromisoformat(v[2])) for k, v in (d.get("scans") or {}).items()}
    withdrawn = {int(k): Withdrawn(Scan(v[0], v[1], datetime.fromisoformat(v[2])), datetime.fromisoformat(v[3]))
                 for k, v in (d.get("withdrawn") or {}).items()}
    reported = d["reported"] if "reported" in d else d.get("shipments") or {}
    return {"scans": scans, "withdrawn": withdrawn, "reported": _versioned(reported)}


def _encode_tracking(items: dict[int, Tracking]) -> dict[int, list[Any]]:
    return {k: [t.company, [[p.number, p.url] for p in t.parcels], t.at] for k, t in items.items()}


def _tracking(items: dict[str, list[Any]]) -> dict[int, Tracking]:
    """Each fulfilment's tracking (ADR 0065, session 15); a state stored before it was kept has none."""
    return {int(k): Tracking(v[0], tuple(Parcel(p[0], p[1]) for p in v[1]), datetime.fromisoformat(v[2]))
            for k, v in items.items()}


def _refunded_for(items: dict[str, list[Any]]) -> dict[int, RefundFor]:
    """Each refund's return and lines, and (kept since ADR 0041's amendment: none before) its money and worth, and
    (since ADR 0051: none before) its lines' tax."""
    def money(v: list[Any], at: int) -> Decimal | None:
        return Decimal(v[at]) if len(v) > at and v[at] is not None else None

    return {int(k): RefundFor(v[0], tuple((line[0], line[1]) for line in v[1]), money(v, 2), money(v, 3),
                                money(v, 4))
            for k, v in items.items()}


def _encode_refunded_for(items: dict[int, RefundFor]) -> dict[int, list[Any]]:
    def money(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {k: [v.return_id, [list(line) for line in v.lines], money(v.paid), money(v.worth), money(v.tax)]
            for k, v in items.items()}


def _encode_money(m: Money) -> dict[str, str]:
    return {"amount": str(m.amount), "currency": m.currency}


# The encoders below hand datetimes to orjson as they are and turn Decimals into text themselves: orjson
# writes a datetime exactly as ``isoformat()`` does, and ``_default`` (a call back into Python per value)
# would write ``str(amount)`` too. An order is encoded at every event that changes it.
def _encode_snapshot(s: OrderSnapshot) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "email": s.email,
        "customer_id": s.customer_id,
        "currency": s.currency,
        "total": _encode_money(s.total),
        "subtotal": _encode_money(s.subtotal),
        "total_discounts": _encode_money(s.total_discounts),
        "financial_status": s.financial_status,
        "fulfillment_status": s.fulfillment_status,
        "cancelled_at": s.cancelled_at,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "tags": s.tags,
        "source_name": s.source_name,
        "discount_codes": s.discount_codes,
        "shipping_country": s.shipping_country,
        "location_id": s.location_id,
        "cancel_reason": s.cancel_reason,
        "shipping_address": _address(s.shipping_address),
        "applied_discounts": s.applied_discounts,
        "customer_created_at": s.customer_created_at,
        "payment_gateways": s.payment_gateways,
        "taxes_included": s.taxes_included,
        "line_items": [
            [li.id, li.sku, li.variant_id, li.product_id, li.quantity, str(li.price), str(li.total_discount),
             li.title, None if li.paid is None else str(li.paid)]
            for li in s.line_items
        ],
    }


def _address(a: ShippingAddress | None) -> dict[str, str] | None:
    return {name: getattr(a, name) for name in ShippingAddress.__dataclass_fields__} if a else None


def _decode_snapshot(d: dict[str, Any]) -> OrderSnapshot:
    return OrderSnapshot(
        id=OrderId(d["id"]),
        name=d["name"],
        email=d["email"],
        customer_id=d["customer_id"],
        currency=d["currency"],
        total=_money(d["total"]),
        subtotal=_money(d["subtotal"]),
        total_discounts=_money(d["total_discounts"]),
        financial_status=d["financial_status"],
        fulfillment_status=d["fulfillment_status"],
        cancelled_at=_dt(d["cancelled_at"]),
        created_at=datetime.fromisoformat(d["created_at"]),
        updated_at=datetime.fromisoformat(d["updated_at"]),
        tags=tuple(d["tags"]),
        source_name=d["source_name"],
        discount_codes=tuple(d["discount_codes"]),
        shipping_country=d["shipping_country"],
        location_id=d["location_id"],
        cancel_reason=d.get("cancel_reason", ""),
        shipping_address=ShippingAddress(**d["shipping_address"]) if d.get("shipping_address") else None,
        applied_discounts=tuple(d.get("applied_discounts", ())),
        customer_created_at=_dt(d.get("customer_created_at")),
        payment_gateways=tuple(d.get("payment_gateways", ())),  # none in a state stored before they were kept
        taxes_included=d.get("taxes_included", False),  # a state stored before ADR 0051: tax-exclusive, as before
        line_items=tuple(
            # no title, nor what was paid for it (ADR 0049), in a line stored before the desk kept them
            LineItem(li[0], li[1], li[2], li[3], li[4], Decimal(li[5]), Decimal(li[6]), li[7] if len(li) > 7 else "",
                     Decimal(li[8]) if len(li) > 8 and li[8] is not None else None)
            for li in d["line_items"]
        ),
    )


def encode_order(state: OrderState) -> str:
    carrier = state.carrier_status
    return dumps(
        {
            "snapshot": _encode_snapshot(state.snapshot) if state.snapshot else None,
            "fulfillments": _encode_versioned(state.fulfillments),
            "returns": _encode_versioned(state.returns),
            "refunds": _encode_versioned(state.refunds),
            "refunded_for": _encode_refunded_for(state.refunded_for),
            "disputes": _encode_versioned(state.disputes),
            "dispute_kinds": _encode_versioned(state.dispute_kinds),
            "shipments": _encode_versioned(state.shipments),
            "carrier": [carrier.status, carrier.at] if carrier else None,
            "last_event": state.last_event,
            "risk": [state.risk.status, state.risk.at] if state.risk else None,
            "damage_claims": state.damage_claims,
            "payment_seen": [state.first_awaiting_at, state.first_paid_at],
            "tracking": _encode_tracking(state.tracking),
        }
        | _encode_scans(state)
    )


def decode_order(
    shop: str,
    order_id: int,
    text: str,
    owner: str | None,
    ship_by: datetime | None,
    last_event_at: datetime | None,
) -> OrderState:
    d = loads(text)
    carrier, risk = d["carrier"], d.get("risk")
    awaiting, paid = d.get("payment_seen") or (None, None)  # an order stored before the field: none seen
    return OrderState(
        shop=ShopDomain(shop),
        order_id=OrderId(order_id),
        snapshot=_decode_snapshot(d["snapshot"]) if d["snapshot"] else None,
        fulfillments=_versioned(d["fulfillments"]),
        returns=_versioned(d["returns"]),
        refunds=_versioned(d["refunds"]),
        refunded_for=_refunded_for(d.get("refunded_for") or {}),  # none in a state stored before it was kept
        disputes=_versioned(d["disputes"]),
        dispute_kinds=_versioned(d.get("dispute_kinds") or {}),  # none in a state stored before they were kept
        shipments=_versioned(d.get("shipments") or {}),  # none in a state stored before they were kept
        carrier_status=Versioned(carrier[0], datetime.fromisoformat(carrier[1])) if carrier else None,
        ship_by=ship_by,
        owner=owner,
        last_event_at=last_event_at,
        last_event=d["last_event"],
        risk=Versioned(risk[0], datetime.fromisoformat(risk[1])) if risk else None,
        damage_claims=frozenset(d.get("damage_claims", ())),
        first_awaiting_at=_dt(awaiting),
        first_paid_at=_dt(paid),
        tracking=_tracking(d.get("tracking") or {}),
        **_scans(d),
    )
