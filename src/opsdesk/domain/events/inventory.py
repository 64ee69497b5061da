"""Events about stock: levels, inventory items, and the open orders stock no longer covers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from opsdesk.domain.events.store_event import OrderId, StoreEvent


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
