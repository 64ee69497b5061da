"""Stock levels, the SKU of each inventory item, and which open orders hold which SKUs (migration 0007)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from opsdesk.domain.inventory import StockLevel
from opsdesk.storage import bulk
from opsdesk.storage import tables as t
from opsdesk.storage.fast import Fast

_L, _I, _O = t.inventory_levels.c, t.inventory_items.c, t.order_skus.c
# Built once: the pipeline's inventory watcher runs these for every order event.
_LEVELS = (
    select(t.inventory_levels, _I.sku)
    .join(t.inventory_items, and_(_I.shop == _L.shop, _I.inventory_item_id == _L.inventory_item_id))
    .where(_L.shop == bindparam("shop"), _I.sku.in_(bindparam("skus", expanding=True)), _I.tracked.is_(True))
)
_UNTRACK = delete(t.order_skus).where(_O.shop == bindparam("shop"), _O.order_id == bindparam("order_id"))
_UNTRACK_MANY = Fast(
    delete(t.order_skus).where(_O.shop == bindparam("shop"), _O.order_id.in_(bindparam("ids", expanding=True)))
)
_SKU_OF = select(_I.sku).where(_I.shop == bindparam("shop"), _I.inventory_item_id == bindparam("item_id"))
#: Rows per ``IN`` list of a batch read, well under every backend's limit on bound parameters.
_CHUNK = 500
_ITEM = select(_I.inventory_item_id, _I.sku, _I.tracked).where(_I.shop == bindparam("shop"))
#: The items of a batch's SKUs, and of its ids: two statements rather than one with ``OR``, so that each
#: keeps its own index (SQLite would walk all the shop's items for an OR); both on SQLite's driver.
_ITEMS_OF_SKUS = Fast(_ITEM.where(_I.sku.in_(bindparam("skus", expanding=True))))
_ITEMS_OF_IDS = Fast(_ITEM.where(_I.inventory_item_id.in_(bindparam("ids", expanding=True))))
_LEVELS_OF_ITEMS = Fast(
    select(t.inventory_levels).where(
        _L.shop == bindparam("shop"), _L.inventory_item_id.in_(bindparam("ids", expanding=True))
    )
)


class SqlInventory:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record_level(
        self, shop: str, item_id: int, location_id: int, available: int | None, at: datetime
    ) -> bool:
        """Keep the level if it is newer than the one stored; False for a stale (out-of-order) one."""
        key = and_(_L.shop == shop, _L.inventory_item_id == item_id, _L.location_id == location_id)
        values: dict[str, Any] = {"available": available, "updated_at": at}
        if available is not None and available >= 0:
            values["in_stock_at"] = at
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

    def stock(
        self, shop: str, skus: Iterable[str], item_ids: Iterable[int]
    ) -> tuple[dict[int, tuple[str, bool]], list[StockLevel]]:
        """The items with these SKUs or ids (each one's SKU and whether it is tracked), and all their levels.

        The levels of ``item_ids`` come whether or not the item itself is known: what one pipeline batch of
        stock events and orders reads, in a few statements.
        """
        wanted_skus, wanted_ids = sorted(set(skus)), sorted(set(item_ids))
        items: dict[int, tuple[str, bool]] = {}
        for query, name, wanted in ((_ITEMS_OF_SKUS, "skus", wanted_skus), (_ITEMS_OF_IDS, "ids", wanted_ids)):
            for start in range(0, len(wanted), _CHUNK):
                for r in query.rows(self._conn, {"shop": shop, name: wanted[start : start + _CHUNK]}):
                    items[int(r["inventory_item_id"])] = (r["sku"], bool(r["tracked"]))
        ids = sorted(set(wanted_ids) | set(items))
        levels: list[StockLevel] = []
        for start in range(0, len(ids), _CHUNK):
            params = {"shop": shop, "ids": ids[start : start + _CHUNK]}
            levels += [_level(r) for r in _LEVELS_OF_ITEMS.rows(self._conn, params)]
        return items, levels

    def put_levels(self, levels: Sequence[StockLevel]) -> None:
        """Store levels, each only over an older one for its item and location (``record_level``, batched); one
        below zero keeps when the item was last in stock there."""
        newest: dict[tuple[str, int, int], StockLevel] = {}
        for x in levels:  # one row per key: PostgreSQL cannot update a row twice in one statement
            key = (x.shop, x.inventory_item_id, x.location_id)
            if key not in newest or newest[key].updated_at < x.updated_at:
                newest[key] = x
        if not newest:
            return
        rows = [
            {"shop": x.shop, "inventory_item_id": x.inventory_item_id, "location_id": x.location_id,
             "available": x.available, "updated_at": x.updated_at, "in_stock_at": x.last_in_stock}
            for x in newest.values()
        ]
        _put_levels(self._conn.dialect.name).many(self._conn, rows)

    def track_orders(self, orders: Mapping[tuple[str, int], tuple[Sequence[str], datetime]]) -> None:
        """``track_order`` for many orders: (shop, order id) -> the SKUs it holds (none once closed), placed at.

        The rows are written in the mapping's order.
        """
        if not orders:
            return
        by_shop: dict[str, list[int]] = {}
        for shop, order_id in orders:
            by_shop.setdefault(shop, []).append(order_id)
        for shop, ids in by_shop.items():  # one statement per shop, not one per order
            for start in range(0, len(ids), _CHUNK):
                _UNTRACK_MANY.rowcount(self._conn, {"shop": shop, "ids": ids[start : start + _CHUNK]})
        rows = [
            {"shop": shop, "order_id": order_id, "sku": sku, "placed_at": at}
            for (shop, order_id), (skus, at) in orders.items()
            for sku in sorted(set(skus))
        ]
        bulk.write(self._conn, t.order_skus, rows)

    def open_orders(self, shop: str, sku: str, limit: int = 100, placed_after: datetime | None = None) -> list[int]:
        """Open orders holding ``sku``, newest first (the latest sales are the ones stock ran out under), placed
        after ``placed_after`` when given."""
        query = (
            select(_O.order_id)
            .where(_O.shop == shop, _O.sku == sku)
            .order_by(_O.placed_at.desc())
            .limit(limit)
        )
        if placed_after is not None:
            query = query.where(_O.placed_at > placed_after)
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


@cache
def _put_levels(dialect: str) -> Fast:
    """Insert a level, or update the stored one when it is older (built once per dialect)."""
    statement = (postgresql if dialect == "postgresql" else sqlite).insert(t.inventory_levels)
    return Fast(
        statement.on_conflict_do_update(
            index_elements=[_L.shop, _L.inventory_item_id, _L.location_id],
            set_={"available": statement.excluded.available, "updated_at": statement.excluded.updated_at,
                  # a level below zero keeps when the item was last in stock
                  "in_stock_at": func.coalesce(statement.excluded.in_stock_at, _L.in_stock_at)},
            where=_L.updated_at < statement.excluded.updated_at,
        )
    )


def _level(row: Any) -> StockLevel:
    return StockLevel(
        shop=row["shop"],
        inventory_item_id=int(row["inventory_item_id"]),
        location_id=int(row["location_id"]),
        available=row["available"],
        updated_at=row["updated_at"],
        sku=row.get("sku") or "",
        in_stock_at=row.get("in_stock_at"),
    )
