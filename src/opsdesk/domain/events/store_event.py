"""What every store event has: the shop it happened in, when, and the business fact it reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, NewType

ShopDomain = NewType("ShopDomain", str)
OrderId = NewType("OrderId", int)


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
