"""What one batch of the inventory watcher reads and writes, so that a batch costs a few statements.

The items and levels the batch's events and open orders touch are read at once, kept up to date with the
batch's own stock events while it runs (a level heard of, then an order for that SKU in the same batch,
sees that level), and the levels and order SKUs are written at the end. The watcher's observable result
is the one of reading and writing event by event: same freshness verdicts, same totals, same rows.

One difference shows only with two pipeline workers on PostgreSQL deciding levels of the same item at the
same moment: each judges freshness against what its batch read, so both may find their level newer. The
stored level is still the newest one (``put_levels`` writes only over an older one), but a level that the
other worker had just overtaken may raise the oversold signals it would have raised had it come first.
SQLite runs one write transaction at a time, so there the verdicts are exactly those of event by event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from opsdesk.domain.events import InventoryItemChanged, InventoryLevelChanged, OrderChanged, StoreEvent
from opsdesk.domain.inventory import StockLevel, total_available
from opsdesk.domain.orders import OrderState
from opsdesk.ports import UnitOfWork
from opsdesk.services.pipeline_batch import OrderKey

FINAL_FULFILMENT = frozenset({"fulfilled", "restocked"})
Key = tuple[str, int]  # (shop, inventory item id) or (shop, order id)


def is_open(state: OrderState) -> bool:
    snap = state.snapshot
    return snap is not None and snap.cancelled_at is None and state.fulfilment_status not in FINAL_FULFILMENT


def skus_of(state: OrderState) -> list[str]:
    snap = state.snapshot
    return sorted({li.sku for li in snap.line_items if li.sku}) if snap else []


class StockBatch:
    """The stock one batch works on: items (SKU, tracked) and levels, read once, changed by the batch."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._items: dict[Key, tuple[str, bool]] = {}
        self._by_sku: dict[tuple[str, str], set[int]] = {}
        self._levels: dict[Key, dict[int, StockLevel]] = {}  # by location
        self._new_levels: dict[tuple[str, int, int], StockLevel] = {}
        self._orders: dict[Key, tuple[Sequence[str], datetime]] = {}

    @classmethod
    def read(
        cls, uow: UnitOfWork, events: Sequence[StoreEvent], states: Mapping[OrderKey, OrderState]
    ) -> StockBatch:
        """Everything the events can read: their items and levels, the stock of the open orders' SKUs."""
        skus: dict[str, set[str]] = {}
        item_ids: dict[str, set[int]] = {}
        for event in events:
            if isinstance(event, InventoryItemChanged | InventoryLevelChanged):
                item_ids.setdefault(event.shop, set()).add(event.inventory_item_id)
            elif isinstance(event, OrderChanged):
                state = states.get((event.shop, event.order.id))
                if state is not None and is_open(state):
                    skus.setdefault(event.shop, set()).update(skus_of(state))
        batch = cls(uow)
        for shop in sorted(skus.keys() | item_ids.keys()):
            items, levels = uow.inventory.stock(shop, skus.get(shop, ()), item_ids.get(shop, ()))
            for item_id, (sku, tracked) in items.items():
                batch._know_item(shop, item_id, sku, tracked)
            for level in levels:
                batch._levels.setdefault((shop, level.inventory_item_id), {})[level.location_id] = level
        return batch

    def record_item(self, shop: str, item_id: int, sku: str, tracked: bool) -> None:
        self._uow.inventory.record_item(shop, item_id, sku, tracked)  # rare: written at once
        old = self._items.get((shop, item_id))
        if old is not None:
            self._by_sku[(shop, old[0])].discard(item_id)
        self._know_item(shop, item_id, sku, tracked)

    def record_level(self, level: StockLevel) -> StockLevel | None:
        """Keep the level if it is newer than the one known, with when the item was last in stock there; None for
        a stale (out-of-order) one."""
        here = self._levels.setdefault((level.shop, level.inventory_item_id), {})
        known = here.get(level.location_id)
        if known is not None and known.updated_at >= level.updated_at:
            return None
        here[level.location_id] = kept = level.after(known)
        self._new_levels[(level.shop, level.inventory_item_id, level.location_id)] = kept
        return kept

    def sku_of(self, shop: str, item_id: int) -> str | None:
        found = self._items.get((shop, item_id))
        return found[0] or None if found else None

    def knows(self, shop: str, item_id: int) -> bool:
        """Whether the desk has heard of the item (``inventory_items/*``, or Shopify asked): its SKU may be empty."""
        return (shop, item_id) in self._items

    def short(self, shop: str, skus: Iterable[str], placed_at: datetime) -> dict[str, int]:
        """The SKUs an order placed at ``placed_at`` was sold without, with the units available of each (below
        zero, over its tracked items and their locations): those below zero, unless the order was placed before
        the SKU was last heard in stock (it took stock there was; an order paid or changed later is not short)."""
        found: dict[str, int] = {}
        for sku in skus:
            levels = [
                level
                for item_id in self._by_sku.get((shop, sku), ())
                if self._items[(shop, item_id)][1]
                for level in self._levels.get((shop, item_id), {}).values()
            ]
            total = total_available(levels)
            if total is None or total >= 0:
                continue
            last = max((t for level in levels if (t := level.last_in_stock) is not None), default=None)
            if last is None or placed_at > last:
                found[sku] = total
        return found

    def track_order(self, shop: str, order_id: int, skus: Sequence[str], open_: bool, at: datetime) -> None:
        # Moved to the end when tracked again, so rows are written in the order event-by-event writes left them.
        self._orders.pop((shop, order_id), None)
        self._orders[(shop, order_id)] = (skus if open_ else [], at)

    def open_orders(self, shop: str, sku: str, limit: int, placed_after: datetime | None = None) -> list[int]:
        self._write_orders()  # the open orders of this batch count too
        return self._uow.inventory.open_orders(shop, sku, limit, placed_after)

    def flush(self) -> None:
        self._uow.inventory.put_levels(list(self._new_levels.values()))
        self._new_levels.clear()
        self._write_orders()

    def _write_orders(self) -> None:
        self._uow.inventory.track_orders(self._orders)
        self._orders = {}

    def _know_item(self, shop: str, item_id: int, sku: str, tracked: bool) -> None:
        self._items[(shop, item_id)] = (sku, tracked)
        self._by_sku.setdefault((shop, sku), set()).add(item_id)
