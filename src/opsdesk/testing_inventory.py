"""The in-memory inventory repository, for ``opsdesk.testing``: stock levels, the SKUs of inventory items
and the SKUs open orders hold. It works on the in-memory unit of work's ``stock``, ``stock_items`` and
``order_skus``, so it commits and rolls back with it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from opsdesk.domain.inventory import StockLevel


class Tables(Protocol):
    stock: dict[tuple[str, int, int], StockLevel]
    stock_items: dict[tuple[str, int], tuple[str, bool]]  # (sku, tracked)
    order_skus: dict[tuple[str, int], tuple[frozenset[str], datetime]]


class MemoryInventory:
    def __init__(self, t: Tables) -> None:
        self._t = t

    def record_level(
        self, shop: str, item_id: int, location_id: int, available: int | None, at: datetime
    ) -> bool:
        current = self._t.stock.get((shop, item_id, location_id))
        if current is not None and current.updated_at >= at:
            return False
        level = StockLevel(shop, item_id, location_id, available, at)
        self._t.stock[(shop, item_id, location_id)] = level.after(current)
        return True

    def record_item(self, shop: str, item_id: int, sku: str, tracked: bool) -> None:
        self._t.stock_items[(shop, item_id)] = (sku, tracked)

    def sku_of(self, shop: str, item_id: int) -> str | None:
        found = self._t.stock_items.get((shop, item_id))
        return found[0] or None if found else None

    def levels(self, shop: str, skus: Iterable[str]) -> dict[str, list[StockLevel]]:
        wanted, found = set(skus), dict[str, list[StockLevel]]()
        for (s, item, _), level in sorted(self._t.stock.items()):
            sku, tracked = self._t.stock_items.get((s, item), ("", False))
            if s == shop and tracked and sku in wanted:
                found.setdefault(sku, []).append(replace(level, sku=sku))
        return found

    def track_order(self, shop: str, order_id: int, skus: Iterable[str], open_: bool, at: datetime) -> None:
        self._t.order_skus.pop((shop, order_id), None)
        if open_ and (held := frozenset(skus)):
            self._t.order_skus[(shop, order_id)] = (held, at)

    def stock(
        self, shop: str, skus: Iterable[str], item_ids: Iterable[int]
    ) -> tuple[dict[int, tuple[str, bool]], list[StockLevel]]:
        wanted_skus, wanted_ids = set(skus), set(item_ids)
        items = {
            i: v
            for (s, i), v in self._t.stock_items.items()
            if s == shop and (v[0] in wanted_skus or i in wanted_ids)
        }
        ids = wanted_ids | set(items)
        return items, [x for (s, i, _), x in self._t.stock.items() if s == shop and i in ids]

    def put_levels(self, levels: Sequence[StockLevel]) -> None:
        for x in levels:
            self.record_level(x.shop, x.inventory_item_id, x.location_id, x.available, x.updated_at)

    def track_orders(self, orders: Mapping[tuple[str, int], tuple[Sequence[str], datetime]]) -> None:
        for (shop, order_id), (skus, at) in orders.items():
            self.track_order(shop, order_id, skus, bool(skus), at)

    def open_orders(self, shop: str, sku: str, limit: int = 100, placed_after: datetime | None = None) -> list[int]:
        held = [(at, o) for (s, o), (skus, at) in self._t.order_skus.items()
                if s == shop and sku in skus and (placed_after is None or at > placed_after)]
        return [o for _, o in sorted(held, reverse=True)][:limit]

    def freshness(self, shop: str, limit: int = 100) -> tuple[datetime | None, list[StockLevel]]:
        mine = [level for (s, _, _), level in self._t.stock.items() if s == shop]
        negative = sorted(
            (
                replace(x, sku=self.sku_of(shop, x.inventory_item_id) or "")
                for x in mine
                if x.available is not None and x.available < 0
            ),
            key=lambda x: (x.available or 0, x.inventory_item_id),
        )
        return max((x.updated_at for x in mine), default=None), negative[:limit]
