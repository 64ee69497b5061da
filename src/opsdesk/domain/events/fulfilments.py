"""Events about an order's fulfilments: changed, scanned by the carrier, held."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from opsdesk.domain.events.store_event import OrderId, StoreEvent


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
