"""Events about one order: changed, edited, assessed for risk, overdue for payment."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from opsdesk.domain.events.store_event import OrderId, StoreEvent
from opsdesk.domain.money import Money


class OrderChange(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    EDITED = "edited"
    PAID = "paid"
    CANCELLED = "cancelled"
    FULFILLED = "fulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled"


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
    #: What the customer paid for the line (ADR 0049): its price times its quantity less its discounts, plus its
    #: tax unless the order's prices include it (ADR 0051); None when not known (a line whose tax or discounts did
    #: not read, or an order stored before it was kept).
    paid: Decimal | None = None


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
    #: The order's prices include their tax (``taxes_included``, ADR 0051): a line's and a refund line's money
    #: has its tax in it already.
    taxes_included: bool = False


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
