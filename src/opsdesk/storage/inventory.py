"""Stock levels, the SKU of each inventory item, and which open orders hold which SKUs (migration 0007)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, select, update

from opsdesk.domain.inventory import StockLevel
from opsdesk.storage import bulk
from opsdesk.storage import tables as t

_L, _I, _O = t.inventory_levels.c, t.inventory_items.c, t.order_skus.c
# Built once: the pipeline's inventory watcher runs these for every order event.
_LEVELS = (
    select(t.inventory_levels, _I.sku)
    .join(t.inventory_items, and_(_I.shop == _L.shop, _I.inventory_item_id == _L.inventory_item_id))
    .where(_L.shop == bindparam("shop"), _I.sku.in_(bindparam("skus", expanding=True)), _I.tracked.is_(True))
)
_UNTRACK = delete(t.order_skus).where(_O.shop == bindparam("shop"), _O.order_id == bindparam("order_id"))
_SKU_OF = select(_I.sku).where(_I.shop == bindparam("shop"), _I.inventory_item_id == bindparam("item_id"))


class SqlInventory:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record_level(
        self, shop: str, item_id: int, location_id: int, available: int | None, at: datetime
    ) -> bool:
        """Keep the level if it is newer than the one stored; False for a stale (out-of-order) one."""
        key = and_(_L.shop == shop, _L.inventory_item_id == item_id, _L.location_id == location_id)
        values = {"available": available, "updated_at": at}
        if self._conn.execute(
            update(t.inventory_levels).where(key, _L.updated_at < at).values(values)
        ).rowcount:
            return True
        row = {"shop": shop, "inventory_item_id": item_id, "location_id": location_id, **values}
        return bulk.write(self._conn, t.inventory_levels, [row]) == 1

    def record_item(self, shop: str, item_id: int, sku: str, tracked: bool) -> None:
        row = {"shop": shop, "inventory_item_id": item_id, "sku": sku, "tracked": tracked}
        bulk.write(self._conn, t.inventory_items, [row], upsert_on=("shop", "inventory_item_id"))

    def sku_of(self, shop: str, item_id: int) -> str | None:
        found: str | None = self._conn.execute(_SKU_OF, {"shop": shop, "item_id": item_id}).scalar()
        return found or None

    def levels(self, shop: str, skus: Iterable[str]) -> dict[str, list[StockLevel]]:
        """The levels of tracked items with these SKUs, by SKU."""
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        found: dict[str, list[StockLevel]] = {}
        for row in self._conn.execute(_LEVELS, {"shop": shop, "skus": wanted}).mappings():
            found.setdefault(row["sku"], []).append(_level(row))
        return found

    def track_order(self, shop: str, order_id: int, skus: Iterable[str], open_: bool, at: datetime) -> None:
        """Which SKUs an order holds while it is open (to find the orders hit by stock below zero)."""
        self._conn.execute(_UNTRACK, {"shop": shop, "order_id": order_id})
        rows = [
            {"shop": shop, "order_id": order_id, "sku": sku, "placed_at": at} for sku in sorted(set(skus))
        ]
        if open_ and rows:
            bulk.write(self._conn, t.order_skus, rows)

    def open_orders(self, shop: str, sku: str, limit: int = 100) -> list[int]:
        """Open orders holding ``sku``, newest first (the latest sales are the ones stock ran out under)."""
        query = (
            select(_O.order_id)
            .where(_O.shop == shop, _O.sku == sku)
            .order_by(_O.placed_at.desc())
            .limit(limit)
        )
        return [int(r) for r in self._conn.execute(query).scalars()]

    def freshness(self, shop: str, limit: int = 100) -> tuple[datetime | None, list[StockLevel]]:
        """The newest level's time and the levels below zero (with their SKU when known)."""
        newest: datetime | None = self._conn.execute(
            select(func.max(_L.updated_at)).where(_L.shop == shop)
        ).scalar()
        query = (
            select(t.inventory_levels, _I.sku)
            .outerjoin(
                t.inventory_items, and_(_I.shop == _L.shop, _I.inventory_item_id == _L.inventory_item_id)
            )
            .where(_L.shop == shop, _L.available < 0)
            .order_by(_L.available, _L.inventory_item_id)
            .limit(limit)
        )
        return newest, [_level(r) for r in self._conn.execute(query).mappings()]


def _level(row: Any) -> StockLevel:
    return StockLevel(
        shop=row["shop"],
        inventory_item_id=int(row["inventory_item_id"]),
        location_id=int(row["location_id"]),
        available=row["available"],
        updated_at=row["updated_at"],
        sku=row.get("sku") or "",
    )
