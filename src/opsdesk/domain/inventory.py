"""Stock as the desk last heard it: levels per item and location, and how fresh they are."""

from __future__ import annotations

from dataclasses import dataclass
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
