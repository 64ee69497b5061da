"""Events about an order's fulfilments: changed, scanned by the carrier (a scan deleted too), held."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from opsdesk.domain.events.store_event import OrderId, StoreEvent
from opsdesk.domain.tracking import Parcel


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
    #: The tracking numbers and links (``tracking.parcels``); None when the payload said nothing of them (a
    #: reconciliation sweep's, which reads the carrier only): the desk keeps what it knew.
    parcels: tuple[Parcel, ...] | None = None

    @property
    def order_id(self) -> OrderId:
        return self.order

    @property
    def key(self) -> str:
        return f"{self.name}:{self.fulfillment_id}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class CarrierEvent(StoreEvent):
    """What a carrier scan's webhooks say of it: its id, its fulfilment and order, its status."""

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
class FulfillmentEventRecorded(CarrierEvent):
    """A carrier scan or status on a fulfilment (``fulfillment_events/create``)."""

    name: ClassVar[str] = "fulfillment_event.created"


@dataclass(frozen=True, slots=True)
class FulfillmentEventDeleted(CarrierEvent):
    """A carrier scan deleted from its fulfilment (``fulfillment_events/delete``): it stops counting. Dated when it
    was deleted; ``happened_at`` is the deleted scan's own time."""

    name: ClassVar[str] = "fulfillment_event.deleted"
    happened_at: datetime


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
