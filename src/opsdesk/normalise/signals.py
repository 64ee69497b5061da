"""``orders/risk_assessment_changed`` and the desk's own internal signals (``opsdesk/*`` topics).

Internal signals are deliveries the desk appends itself (``services.signals.emit``): a monitor or a
timer that finds something (an order for stock that is gone, a payment still pending past its limit)
reports it as an event, so the playbooks decide it like any webhook, with the same deduplication,
decision records and replay.
"""

from __future__ import annotations

from datetime import datetime

from opsdesk.domain.events import OrderId, OrderOversold, PaymentOverdue, RiskAssessed, ShopDomain, StoreEvent
from opsdesk.normalise.fields import JSON, FieldError, find_id, get_id, get_int, get_text, occurred_at, text

_RISK_TIMES = ("created_at",)
_SIGNAL_TIMES = ("at",)
#: Shopify's RiskAssessmentResult values, lower-cased; anything else is kept as sent.
RISK_LEVELS = ("low", "medium", "high", "none", "pending")


def risk_assessed(payload: JSON, shop: ShopDomain, triggered_at: datetime | None) -> tuple[StoreEvent, ...]:
    """A risk assessment; the sample names no order (it may be null), which leaves the event orderless."""
    try:
        order = find_id(payload, "order_id", "admin_graphql_api_order_id")
    except FieldError:  # an id that is not one names no order we know: the level is kept, unattached
        order = None
    return (
        RiskAssessed(
            shop,
            occurred_at(payload, _RISK_TIMES, triggered_at),
            order=None if order is None else OrderId(order),
            risk_level=text(payload, "risk_level").lower(),
            provider=text(payload, "provider_title") or "shopify",
        ),
    )


def order_oversold(payload: JSON, shop: ShopDomain, triggered_at: datetime | None) -> tuple[StoreEvent, ...]:
    skus = payload.get("skus")
    if not isinstance(skus, list) or not all(isinstance(s, str) for s in skus):
        raise FieldError("skus", "is not a list of SKUs")
    return (
        OrderOversold(
            shop,
            occurred_at(payload, _SIGNAL_TIMES, triggered_at),
            order=OrderId(get_id(payload, "order_id", None)),
            skus=tuple(skus),
            available=get_int(payload, "available"),
            cause=get_text(payload, "cause"),
        ),
    )


def payment_overdue(payload: JSON, shop: ShopDomain, triggered_at: datetime | None) -> tuple[StoreEvent, ...]:
    gateways = payload.get("gateways") or []
    return (
        PaymentOverdue(
            shop,
            occurred_at(payload, _SIGNAL_TIMES, triggered_at),
            order=OrderId(get_id(payload, "order_id", None)),
            stage=get_text(payload, "stage"),
            minutes=get_int(payload, "minutes"),
            checked_status=text(payload, "checked_status"),
            gateways=tuple(str(g) for g in gateways),
            slow_method=payload.get("slow_method") is True,
        ),
    )
