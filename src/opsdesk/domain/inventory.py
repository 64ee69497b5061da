"""Stock as the desk last heard it: levels per item and location, and how fresh they are."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class StockLevel:
    """``available`` units of one inventory item at one location (negative: sold beyond stock)."""

    shop: str
    inventory_item_id: int
    location_id: int
    available: int | None
    updated_at: datetime
    sku: str = ""
    #: When the level was last heard at zero or above: every unit sold by then had stock (None: never heard so).
    in_stock_at: datetime | None = None

    def after(self, known: StockLevel | None) -> StockLevel:
        """This level, newer than ``known``, with when it was last in stock: now, or as ``known`` says."""
        if self.available is not None and self.available >= 0:
            return replace(self, in_stock_at=self.updated_at)
        return replace(self, in_stock_at=known.last_in_stock if known is not None else None)

    @property
    def last_in_stock(self) -> datetime | None:
        if self.in_stock_at is not None:
            return self.in_stock_at
        # A level stored before the desk kept the time (migration 0012) says it of itself at zero or above.
        return self.updated_at if self.available is not None and self.available >= 0 else None


@dataclass(frozen=True, slots=True)
class Freshness:
    """What the readiness control "inventory is synced" measures: the newest level and the negative ones."""

    last_update: datetime | None
    negative: tuple[StockLevel, ...]
    age: timedelta | None


def total_available(levels: list[StockLevel]) -> int | None:
    """Units available over every location; None when no level says (untracked, or never heard of)."""
    known = [level.available for level in levels if level.available is not None]
    return sum(known) if known else None
