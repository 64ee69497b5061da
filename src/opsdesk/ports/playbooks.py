"""The repositories of the playbooks' own facts: stock levels, discounts, missed pickups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from opsdesk.domain.discount_windows import RateWindow, WindowMark
from opsdesk.domain.discounts import DiscountIncident, DiscountRecord
from opsdesk.domain.inventory import StockLevel
from opsdesk.domain.pickups import MissedPickup


class InventoryRepository(Protocol):
    """Stock levels, each inventory item's SKU, and the SKUs of open orders (the overselling playbook)."""

    def record_level(
        self, shop: str, item_id: int, location_id: int, available: int | None, at: datetime
    ) -> bool:
        """Keep a level newer than the stored one; False for a stale (out-of-order) one."""

    def record_item(self, shop: str, item_id: int, sku: str, tracked: bool) -> None: ...

    def sku_of(self, shop: str, item_id: int) -> str | None: ...

    def levels(self, shop: str, skus: Iterable[str]) -> dict[str, list[StockLevel]]:
        """The levels of tracked items with these SKUs, by SKU."""

    def track_order(self, shop: str, order_id: int, skus: Iterable[str], open_: bool, at: datetime) -> None:
        """Remember the SKUs of an open order (``open_`` False forgets them)."""

    def stock(
        self, shop: str, skus: Iterable[str], item_ids: Iterable[int]
    ) -> tuple[dict[int, tuple[str, bool]], list[StockLevel]]:
        """The items with these SKUs or ids, by id: (SKU, tracked); and every level of them and of ``item_ids``."""

    def put_levels(self, levels: Sequence[StockLevel]) -> None:
        """Store levels, each only over an older one (``record_level`` for a batch, its freshness known)."""

    def track_orders(self, orders: Mapping[tuple[str, int], tuple[Sequence[str], datetime]]) -> None:
        """``track_order`` for many orders: (shop, order id) -> (the SKUs it holds, none once closed; placed at)."""

    def open_orders(self, shop: str, sku: str, limit: int = 100, placed_after: datetime | None = None) -> list[int]:
        """Open orders holding ``sku``, newest first; placed after ``placed_after`` when given."""

    def freshness(self, shop: str, limit: int = 100) -> tuple[datetime | None, list[StockLevel]]:
        """The newest level's time, and the levels below zero."""


class DiscountRepository(Protocol):
    """Discounts heard of (with their terms once read), incidents, and the rate detector's windows."""

    def find(self, shop: str, gid: str) -> DiscountRecord | None: ...

    def for_shop(self, shop: str) -> list[DiscountRecord]: ...

    def needing_terms(self, limit: int) -> list[DiscountRecord]:
        """Discounts whose terms must be (re)read from the Admin API: never tried first, then oldest try."""

    def put(self, record: DiscountRecord) -> None: ...

    def find_incident(self, incident_id: str) -> DiscountIncident | None: ...

    def put_incident(self, incident: DiscountIncident) -> None: ...

    def incidents(self, shop: str | None = None) -> list[DiscountIncident]:
        """Incidents in the order they were detected (``paused_at`` is not stored: see the service)."""

    def windows(self, shop: str, subject: str, since: datetime) -> list[RateWindow]:
        """The windows of a subject starting at or after ``since``, oldest first."""

    def put_window(self, window: RateWindow) -> None: ...

    def old_windows(self, before: datetime, after: WindowMark | None, limit: int) -> list[RateWindow]:
        """Up to ``limit`` windows that started before ``before``, by (start, shop, subject) after ``after``
        (None: from the first); reads no other window."""

    def remove_windows(self, windows: Iterable[RateWindow]) -> int:
        """Delete these windows; how many there were."""

    def put_cost(self, shop: str, sku: str, cost: Decimal, at: datetime) -> None:
        """Record an item's unit cost (``inventory_items/*``) unless a newer one is stored."""

    def costs(self, shop: str, skus: Iterable[str]) -> dict[str, Decimal]:
        """The recorded unit cost of each of these SKUs that has one."""


class PickupRepository(Protocol):
    def record_missed(self, missed: MissedPickup) -> bool:
        """Record a missed pickup once; False when it was recorded before."""

    def missed(self, shop: str | None = None, since: datetime | None = None) -> list[MissedPickup]:
        """Missed pickups (of a shop, from ``since``), in pickup order."""
