"""Normalised store events: what happened in a shop, in past tense, independent of Shopify's JSON.

Every event has a ``name`` (what rules match on with ``when``), the shop it happened in, the time
it happened (``occurred_at``, used to order deliveries that arrive out of order) and a ``key`` that
identifies the business fact, so that the same fact delivered twice is decided once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, NewType

from opsdesk.domain.money import Money

ShopDomain = NewType("ShopDomain", str)
OrderId = NewType("OrderId", int)


class OrderChange(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    EDITED = "edited"
    PAID = "paid"
    CANCELLED = "cancelled"
    FULFILLED = "fulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled"


class ReturnChange(enum.Enum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    CLOSED = "closed"
    REOPENED = "reopened"
    UPDATED = "updated"


class DisputeChange(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"


class DiscountChange(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class ComplianceKind(enum.Enum):
    CUSTOMER_DATA_REQUEST = "customer_data_request"
    CUSTOMER_REDACT = "customer_redact"
    SHOP_REDACT = "shop_redact"


#: Return reasons that count as a simple purchase error (Shopify's ReturnReason enum).
SIMPLE_RETURN_REASONS = frozenset({"SIZE_TOO_LARGE", "SIZE_TOO_SMALL", "COLOR", "STYLE", "UNWANTED"})
#: Return reasons that claim the goods were damaged or not what was sold: a person looks (disputed damage).
DAMAGE_RETURN_REASONS = frozenset({"DEFECTIVE", "NOT_AS_DESCRIBED"})


@dataclass(frozen=True, slots=True)
class LineItem:
    id: int
    sku: str
    variant_id: int | None
    product_id: int | None
    quantity: int
    price: Decimal
    total_discount: Decimal
    #: The product's title as the order shows it (``Aviator sunglasses``), what the stock cases name a SKU by.
    title: str = ""


@dataclass(frozen=True, slots=True)
class ShippingAddress:
    """Where an order ships to: what a carrier checks, and what places the customer in a time zone."""

    name: str = ""
    street1: str = ""
    street2: str = ""
    city: str = ""
    province_code: str = ""
    zip: str = ""
    country_code: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """The order resource as Shopify last described it."""

    id: OrderId
    name: str
    email: str
    customer_id: int | None
    currency: str
    total: Money
    subtotal: Money
    total_discounts: Money
    financial_status: str
    fulfillment_status: str
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    tags: tuple[str, ...]
    source_name: str
    line_items: tuple[LineItem, ...]
    discount_codes: tuple[str, ...]
    shipping_country: str
    location_id: int | None = None
    cancel_reason: str = ""
    shipping_address: ShippingAddress | None = None
    #: The titles (automatic, manual) and codes of the discounts applied, from ``discount_applications``.
    applied_discounts: tuple[str, ...] = ()
    customer_created_at: datetime | None = None
    #: The payment methods the order was placed with, as Shopify names them (``payment_gateway_names``).
    payment_gateways: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """Something that happened in a shop."""

    name: ClassVar[str] = "event"
    shop: ShopDomain
    occurred_at: datetime

    @property
    def order_id(self) -> OrderId | None:
        return None

    @property
    def key(self) -> str:
        """The business fact this event reports, the same across duplicate deliveries."""
        return f"{self.name}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class OrderChanged(StoreEvent):
    change: OrderChange
    order: OrderSnapshot

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"order.{self.change.value}"

    @property
    def order_id(self) -> OrderId:
        return self.order.id

    @property
    def key(self) -> str:
        return f"{self.name}:{self.order.id}:{self.order.updated_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class FulfillmentChanged(StoreEvent):
    name: ClassVar[str] = "fulfillment.changed"
    fulfillment_id: int
    order: OrderId
    status: str
    shipment_status: str
    tracking_company: str
    location_id: int | None
    created: bool

    @property
    def order_id(self) -> OrderId:
        return self.order

    @property
    def key(self) -> str:
        return f"{self.name}:{self.fulfillment_id}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class FulfillmentEventRecorded(StoreEvent):
    """A carrier scan or status on a fulfilment (``fulfillment_events/create``)."""

    name: ClassVar[str] = "fulfillment_event.created"
    event_id: int
    fulfillment_id: int
    order: OrderId
    status: str

    @property
    def order_id(self) -> OrderId:
        return self.order

    @property
    def key(self) -> str:
        return f"{self.name}:{self.event_id}"


@dataclass(frozen=True, slots=True)
class FulfillmentHeld(StoreEvent):
    name: ClassVar[str] = "fulfillment.held"
    fulfillment_order_gid: str
    hold_gid: str
    reason: str
    note: str

    @property
    def key(self) -> str:
        return f"{self.name}:{self.fulfillment_order_gid}:{self.hold_gid}"


@dataclass(frozen=True, slots=True)
class RefundLine:
    """A line item a refund gave money back for, how many of its units, and what they were worth
    (``subtotal``: Shopify's price less discounts, before tax; ``tax``: their tax; None when not sent)."""

    line_item_id: int
    quantity: int
    subtotal: Decimal | None = None
    tax: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RefundCreated(StoreEvent):
    name: ClassVar[str] = "refund.created"
    refund_id: int
    order: OrderId
    amount: Money
    note: str
    #: The return the refund was made for (``return.id``: a refund made from the return's page), else None.
    return_id: int | None = None
    #: The line items it refunded (``refund_line_items``); none for a refund of money alone.
    lines: tuple[RefundLine, ...] = ()
    #: What of ``amount`` it gave back for shipping, with its tax (ADR 0041, amended): not its lines' money.
    shipping: Decimal = Decimal(0)

    @property
    def order_id(self) -> OrderId:
        return self.order

    @property
    def key(self) -> str:
        return f"{self.name}:{self.refund_id}"


@dataclass(frozen=True, slots=True)
class ReturnLine:
    line_item_id: int | None
    quantity: int
    reason: str
    note: str
    price: Decimal | None


@dataclass(frozen=True, slots=True)
class ReturnChanged(StoreEvent):
    change: ReturnChange
    return_id: int
    order: OrderId
    status: str
    lines: tuple[ReturnLine, ...] = field(default=())

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"return.{self.change.value}"

    @property
    def order_id(self) -> OrderId:
        return self.order

    @property
    def key(self) -> str:
        return f"{self.name}:{self.return_id}"

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(line.reason for line in self.lines)

    @property
    def simple_purchase_error(self) -> bool:
        """True when every line's reason is a simple purchase error (unknown reasons are not)."""
        return bool(self.lines) and all(r in SIMPLE_RETURN_REASONS for r in self.reasons)

    @property
    def damage_claim(self) -> bool:
        """True when any line claims the goods arrived damaged, defective or not as described."""
        return any(r in DAMAGE_RETURN_REASONS for r in self.reasons)


@dataclass(frozen=True, slots=True)
class DisputeChanged(StoreEvent):
    change: DisputeChange
    dispute_id: int
    order: OrderId | None
    amount: Money
    kind: str
    reason: str
    status: str
    evidence_due_by: datetime | None

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"dispute.{self.change.value}"

    @property
    def order_id(self) -> OrderId | None:
        return self.order

    @property
    def key(self) -> str:
        return f"{self.name}:{self.dispute_id}:{self.status}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class DiscountChanged(StoreEvent):
    change: DiscountChange
    discount_gid: str
    title: str
    status: str

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"discount.{self.change.value}"

    @property
    def key(self) -> str:
        return f"{self.name}:{self.discount_gid}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class InventoryLevelChanged(StoreEvent):
    name: ClassVar[str] = "inventory_level.updated"
    inventory_item_id: int
    location_id: int
    available: int | None

    @property
    def key(self) -> str:
        return f"{self.name}:{self.inventory_item_id}:{self.location_id}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class ComplianceRequested(StoreEvent):
    """A mandatory privacy request: export or erase a customer's data, or erase a shop's."""

    kind: ComplianceKind
    customer_id: int | None
    email: str
    orders: tuple[int, ...]
    phone: str = ""
    #: Shopify's id of a ``customers/data_request`` (``data_request.id``), which names its export.
    request_id: int | None = None

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"compliance.{self.kind.value}"

    @property
    def key(self) -> str:
        return f"{self.name}:{self.customer_id}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class QuantityDelta:
    """A change of ``delta`` units on one item (a line item of an order edit, a return line)."""

    item_id: int
    delta: int


@dataclass(frozen=True, slots=True)
class OrderEdited(StoreEvent):
    """An order edit was committed (``orders/edited``); Shopify sends the edit's deltas, not the order."""

    name: ClassVar[str] = "order.edited"
    edit_id: int
    order: OrderId
    added: tuple[QuantityDelta, ...]
    removed: tuple[QuantityDelta, ...]

    @property
    def order_id(self) -> OrderId:
        return self.order

    @property
    def key(self) -> str:
        return f"{self.name}:{self.edit_id}"


@dataclass(frozen=True, slots=True)
class ReturnUpdated(StoreEvent):
    """A return's lines changed (``returns/update``); the payload names neither its order nor its status."""

    name: ClassVar[str] = "return.updated"
    return_id: int
    order: OrderId | None
    removed: tuple[QuantityDelta, ...]

    @property
    def order_id(self) -> OrderId | None:
        return self.order

    @property
    def key(self) -> str:
        return f"{self.name}:{self.return_id}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class RiskAssessed(StoreEvent):
    """A new fraud risk assessment of an order (``orders/risk_assessment_changed``): low, medium, high."""

    name: ClassVar[str] = "risk.assessed"
    order: OrderId | None
    risk_level: str
    provider: str

    @property
    def order_id(self) -> OrderId | None:
        return self.order

    @property
    def key(self) -> str:
        return f"{self.name}:{self.order}:{self.provider}:{self.risk_level}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class InventoryItemChanged(StoreEvent):
    """An inventory item's SKU and tracking (``inventory_items/create|update``): links stock to order lines."""

    name: ClassVar[str] = "inventory_item.updated"
    inventory_item_id: int
    sku: str
    tracked: bool
    #: The unit cost the merchant recorded (the discount guard's cost floor), when there is one.
    cost: Decimal | None = None

    @property
    def key(self) -> str:
        return f"{self.name}:{self.inventory_item_id}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class OrderOversold(StoreEvent):
    """The desk found an open order for stock that is gone (internal signal ``opsdesk/order_oversold``)."""

    name: ClassVar[str] = "order.oversold"
    order: OrderId
    skus: tuple[str, ...]
    available: int
    cause: str

    @property
    def order_id(self) -> OrderId:
        return self.order

    @property
    def key(self) -> str:
        return f"{self.name}:{self.order}:{','.join(self.skus)}"


@dataclass(frozen=True, slots=True)
class PaymentOverdue(StoreEvent):
    """An order still pending payment past its limit (internal signal ``opsdesk/payment_overdue``).

    ``stage`` is ``due`` when the limit passes (the desk asks Shopify again), then ``checked`` with
    what Shopify's Admin API said (``checked_status``: its display financial status, or ``unknown``).
    """

    name: ClassVar[str] = "payment.overdue"
    order: OrderId
    stage: str
    minutes: int
    checked_status: str = ""
    gateways: tuple[str, ...] = ()
    #: one of ``gateways`` clears slowly by design (``monitors.stuck_orders.pending_by_gateway``)
    slow_method: bool = False

    @property
    def order_id(self) -> OrderId:
        return self.order

    @property
    def key(self) -> str:
        return f"{self.name}:{self.order}:{self.stage}"
