"""Shopify webhooks (topic + parsed JSON) as domain events: pure, table-driven, one parser per topic.

A topic is handled (its parser returns events), ignored on purpose (``IGNORED_TOPICS`` says why) or
unknown (ignored too, never an error). A handled topic whose payload cannot be read raises
``InvalidPayload`` naming the topic and the field; unknown enum values are kept as strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from types import MappingProxyType
from typing import Any, TypeAlias

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import (
    ComplianceKind,
    DiscountChange,
    DisputeChange,
    OrderChange,
    ReturnChange,
    ShopDomain,
    StoreEvent,
)
from opsdesk.normalise import catalogue, compliance, fulfilments, orders, payments, returns, signals
from opsdesk.normalise.fields import FieldError, is_object
from opsdesk.normalise.topics import IGNORED_TOPICS


@dataclass(frozen=True, slots=True)
class Ignored:
    """A delivery that becomes no event, and why."""

    reason: str


Normalised: TypeAlias = tuple[StoreEvent, ...] | Ignored
Parser: TypeAlias = Callable[[Mapping[str, Any], ShopDomain, datetime | None], tuple[StoreEvent, ...]]

_PARSERS: Mapping[str, Parser] = MappingProxyType(
    {
        "orders/create": partial(orders.order_changed, OrderChange.CREATED),
        "orders/updated": partial(orders.order_changed, OrderChange.UPDATED),
        "orders/paid": partial(orders.order_changed, OrderChange.PAID),
        "orders/cancelled": partial(orders.order_changed, OrderChange.CANCELLED),
        "orders/fulfilled": partial(orders.order_changed, OrderChange.FULFILLED),
        "orders/partially_fulfilled": partial(orders.order_changed, OrderChange.PARTIALLY_FULFILLED),
        "orders/edited": orders.order_edited,
        "fulfillments/create": partial(fulfilments.fulfillment_changed, True),
        "fulfillments/update": partial(fulfilments.fulfillment_changed, False),
        "fulfillment_events/create": fulfilments.fulfillment_event_recorded,
        "fulfillment_events/delete": fulfilments.fulfillment_event_deleted,
        "fulfillment_orders/placed_on_hold": fulfilments.placed_on_hold,
        "fulfillment_holds/added": fulfilments.hold_added,
        "refunds/create": payments.refund_created,
        "disputes/create": partial(payments.dispute_changed, DisputeChange.CREATED),
        "disputes/update": partial(payments.dispute_changed, DisputeChange.UPDATED),
        "returns/request": partial(returns.return_changed, ReturnChange.REQUESTED),
        "returns/approve": partial(returns.return_changed, ReturnChange.APPROVED),
        "returns/decline": partial(returns.return_changed, ReturnChange.DECLINED),
        "returns/cancel": partial(returns.return_changed, ReturnChange.CANCELLED),
        "returns/close": partial(returns.return_changed, ReturnChange.CLOSED),
        "returns/reopen": partial(returns.return_changed, ReturnChange.REOPENED),
        "returns/update": returns.return_updated,
        "discounts/create": partial(catalogue.discount_changed, DiscountChange.CREATED),
        "discounts/update": partial(catalogue.discount_changed, DiscountChange.UPDATED),
        "discounts/delete": partial(catalogue.discount_changed, DiscountChange.DELETED),
        "inventory_levels/update": catalogue.inventory_level_changed,
        "inventory_items/create": catalogue.inventory_item_changed,
        "inventory_items/update": catalogue.inventory_item_changed,
        "orders/risk_assessment_changed": signals.risk_assessed,
        "customers/data_request": partial(
            compliance.compliance_requested, ComplianceKind.CUSTOMER_DATA_REQUEST
        ),
        "customers/redact": partial(compliance.compliance_requested, ComplianceKind.CUSTOMER_REDACT),
        "shop/redact": partial(compliance.compliance_requested, ComplianceKind.SHOP_REDACT),
        "app/uninstalled": compliance.app_uninstalled,
    }
)

HANDLED_TOPICS: frozenset[str] = frozenset(_PARSERS)
#: Shopify's mandatory privacy topics: only the app's configuration subscribes them, never the Admin API.
COMPLIANCE_TOPICS: tuple[str, ...] = ("customers/data_request", "customers/redact", "shop/redact")
#: The other handled topics, in the table's order: what a shop subscribes to (``opsdesk webhooks``, ADR 0038).
SHOP_TOPICS: tuple[str, ...] = tuple(t for t in _PARSERS if t not in COMPLIANCE_TOPICS)
#: The desk's own signals (``services.signals.emit``), decided like webhooks; not Shopify topics.
INTERNAL_TOPICS: Mapping[str, Parser] = MappingProxyType(
    {"opsdesk/order_oversold": signals.order_oversold, "opsdesk/payment_overdue": signals.payment_overdue}
)


def normalise(
    topic: str, shop: ShopDomain, payload: Mapping[str, Any], triggered_at: datetime | None
) -> Normalised:
    """Turn one delivery into the events it reports, or say why it reports none.

    ``triggered_at`` (the ``X-Shopify-Triggered-At`` header, timezone-aware) dates the events of
    payloads that carry no timestamp of their own.
    """
    parser = _PARSERS.get(topic) or INTERNAL_TOPICS.get(topic)
    if parser is None:
        reason = IGNORED_TOPICS.get(topic)
        return Ignored(reason if reason is not None else f"unknown topic {topic!r}")
    if not is_object(payload):
        raise InvalidPayload(f"{topic}: the payload is not a JSON object")
    try:
        return parser(payload, shop, _utc(triggered_at))
    except FieldError as exc:
        raise InvalidPayload(f"{topic}: {exc}") from exc


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None:
        raise InvalidPayload("triggered_at has no UTC offset")
    return moment.astimezone(UTC)
