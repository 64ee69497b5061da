"""Inventory sync lag and overselling: keep stock levels, find orders for stock that is gone.

Two signals raise ``order.oversold`` (decided by ``playbooks/inventory.yaml``, which holds the order and
opens an ``inventory`` case):

- an order arrives for a SKU whose known stock is below zero;
- a stock level drops below zero: the open orders holding that SKU, newest first, up to a limit.

Both are looked up in tables kept as events arrive (levels, each item's SKU, the SKUs of open orders),
never by scanning orders. ``freshness`` is what the readiness control "inventory is synced" reads, and
``named`` titles the cases by the stock's names as they open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from opsdesk.domain.events import InventoryItemChanged, InventoryLevelChanged, OrderChanged, StoreEvent
from opsdesk.domain.inventory import Freshness, StockLevel
from opsdesk.domain.orders import OrderState
from opsdesk.domain.records import CaseRecord
from opsdesk.ports import UnitOfWork
from opsdesk.services.inventory_batch import StockBatch, is_open, skus_of
from opsdesk.services.monitors import find_order
from opsdesk.services.pipeline_batch import OrderKey
from opsdesk.services.signals import emit
from opsdesk.services.titles import item_label, level_title, location_label, oversold_title

OVERSOLD = "opsdesk/order_oversold"


def freshness(uow: UnitOfWork, shop: str, now: datetime) -> Freshness:
    """When stock was last heard of for ``shop``, how old that is, and the levels below zero."""
    last, negative = uow.inventory.freshness(shop)
    return Freshness(last, tuple(negative), None if last is None else now - last)


class InventoryWatch:
    """A pipeline watcher: records stock and order SKUs, and raises ``order.oversold``.

    A batch's stock is read in a few statements and written at its end (``inventory_batch.StockBatch``).
    """

    def __init__(self, max_orders: int = 50) -> None:
        self.max_orders = max_orders

    def __call__(
        self,
        uow: UnitOfWork,
        events: Sequence[StoreEvent],
        states: Mapping[OrderKey, OrderState],
        now: datetime,
    ) -> None:
        stock = StockBatch.read(uow, events, states)
        for event in events:
            match event:
                case InventoryItemChanged():
                    stock.record_item(event.shop, event.inventory_item_id, event.sku, event.tracked)
                case InventoryLevelChanged():
                    self._level(uow, stock, event, now)
                case OrderChanged():
                    state = states.get((event.shop, event.order.id))
                    if state is not None:
                        self._order(uow, stock, state, now)
        stock.flush()

    def _level(self, uow: UnitOfWork, stock: StockBatch, event: InventoryLevelChanged, now: datetime) -> None:
        fresh = stock.record_level(StockLevel(
            event.shop, event.inventory_item_id, event.location_id, event.available, event.occurred_at
        ))
        sku = stock.sku_of(event.shop, event.inventory_item_id)
        if not fresh or sku is None or event.available is None or event.available >= 0:
            return
        for order_id in stock.open_orders(event.shop, sku, self.max_orders):
            _raise(uow, event.shop, order_id, [sku], event.available, "stock below zero", now)

    def _order(self, uow: UnitOfWork, stock: StockBatch, state: OrderState, now: datetime) -> None:
        snap = state.snapshot
        if snap is None:
            return
        skus, open_ = skus_of(state), is_open(state)
        stock.track_order(state.shop, state.order_id, skus, open_, snap.created_at)
        if not open_:
            return
        gone = stock.available(state.shop, skus)
        short = sorted(sku for sku, total in gone.items() if total < 0)
        if short:
            available = min(gone[sku] for sku in short)
            _raise(uow, state.shop, state.order_id, short, available, "order for stock below zero", now)


def _raise(
    uow: UnitOfWork, shop: str, order_id: int, skus: list[str], available: int, cause: str, now: datetime
) -> None:
    payload = {"order_id": order_id, "skus": skus, "available": available, "cause": cause}
    emit(uow, shop, OVERSOLD, f"{order_id}:{','.join(skus)}", payload, now)


def named(uow: UnitOfWork, record: CaseRecord, locations: Mapping[int, str]) -> CaseRecord:
    """A stock case (``detail["stock"]``, ``effects.case_for``) titled by what the desk knows as it opens: the
    inventory item's SKU (``inventory_items/*``), the product's title (as the case's order, or the newest open
    order holding the SKU, shows it), the location's warehouse (``locations``: names by Shopify location id);
    the ids Shopify sent, said as such, for what it does not know. What it found goes into ``detail["stock"]``.
    """
    stock = record.detail.get("stock")
    if not isinstance(stock, dict):
        return record
    if "skus" in stock:
        return _oversold(uow, record, stock)
    item, location = int(stock["inventory_item_id"]), int(stock["location_id"])
    sku = uow.inventory.sku_of(record.shop, item) or ""
    holding = uow.inventory.open_orders(record.shop, sku, 1) if sku else []
    product = _titles(find_order(uow, record.shop, holding[0]) if holding else None).get(sku, "")
    warehouse = locations.get(location, "")
    title = level_title(item_label(sku, product, item), location_label(location, warehouse), stock["available"])
    found = {"sku": sku, "product": product, "location": warehouse}
    return replace(record, title=title, detail={**record.detail, "stock": {**stock, **found}})


def _oversold(uow: UnitOfWork, record: CaseRecord, stock: dict[str, Any]) -> CaseRecord:
    if record.order_id is None:
        return record
    state = find_order(uow, record.shop, record.order_id)
    name = state.snapshot.name if state is not None and state.snapshot is not None else ""
    products = _titles(state)
    skus = [str(sku) for sku in stock["skus"]]
    title = oversold_title(record.order_id, name, [item_label(sku, products.get(sku, "")) for sku in skus])
    found = {sku: products[sku] for sku in skus if sku in products}
    return replace(record, title=title, detail={**record.detail, "stock": {**stock, "products": found}})


def _titles(state: OrderState | None) -> dict[str, str]:
    """The product titles of an order's SKUs, by SKU (none in an order stored before the desk kept them)."""
    lines = state.snapshot.line_items if state is not None and state.snapshot is not None else ()
    return {li.sku: li.title for li in lines if li.sku and li.title}
