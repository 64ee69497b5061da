"""Events about money and goods going back: returns, refunds, disputes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from opsdesk.domain.events.orders import QuantityDelta
from opsdesk.domain.events.store_event import OrderId, StoreEvent
from opsdesk.domain.money import Money


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


#: Return reasons that count as a simple purchase error (Shopify's ReturnReason enum).
SIMPLE_RETURN_REASONS = frozenset({"SIZE_TOO_LARGE", "SIZE_TOO_SMALL", "COLOR", "STYLE", "UNWANTED"})
#: Return reasons that claim the goods were damaged or not what was sold: a person looks (disputed damage).
DAMAGE_RETURN_REASONS = frozenset({"DEFECTIVE", "NOT_AS_DESCRIBED"})


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
    #: What of ``amount`` it gave back for neither its lines nor shipping: its duties and its order adjustments
    #: (ADR 0061). Not its lines' money either.
    other: Decimal = Decimal(0)

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
