"""Inventory sync lag and overselling: keep stock levels, find orders for stock that is gone.

Two signals raise ``order.oversold`` (decided by ``playbooks/inventory.yaml``, which holds the order and
opens an ``inventory`` case):

- an order arrives for a SKU whose known stock is below zero;
- a stock level drops below zero: the newest open orders holding that SKU, as many as the units short, up to a
  limit.

Both are looked up in tables kept as events arrive (levels, each item's SKU, the SKUs of open orders),
never by scanning orders. ``freshness`` is what the readiness control "inventory is synced" reads, and
``named`` titles the cases by the stock's names as they open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from opsdesk.domain.events import (
    InventoryItemChanged,
    InventoryLevelChanged,
    OrderChanged,
    OrderId,
    ShopDomain,
    StoreEvent,
)
from opsdesk.domain.inventory import Freshness, StockLevel
from opsdesk.domain.orders import OrderState
from opsdesk.domain.records import CaseRecord, OutboxAction
from opsdesk.ports import UnitOfWork
from opsdesk.services import monitors
from opsdesk.services.inventory_batch import StockBatch, is_open, skus_of
from opsdesk.services.monitors import find_order
from opsdesk.services.pipeline_batch import OrderKey
from opsdesk.services.signals import emit
from opsdesk.services.titles import item_label, level_title, location_label, oversold_title

OVERSOLD = "opsdesk/order_oversold"
#: The question for Shopify about an item known only by id (``services/inventory_items.py`` takes the answer).
READ_ITEM = "read_inventory_item"
ITEM_SOURCE = "inventory-item"


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
                    self._level(uow, stock, event, states, now)
                case OrderChanged():
                    state = states.get((event.shop, event.order.id))
                    if state is not None:
                        self._order(uow, stock, state, now)
        stock.flush()

    def _level(
        self, uow: UnitOfWork, stock: StockBatch, event: InventoryLevelChanged, states: Mapping[OrderKey, OrderState],
        now: datetime,
    ) -> None:
        level = stock.record_level(StockLevel(
            event.shop, event.inventory_item_id, event.location_id, event.available, event.occurred_at
        ))
        if level is None or level.available is None or level.available >= 0:
            return
        sku = stock.sku_of(event.shop, event.inventory_item_id)
        if sku is None:  # its orders are found when Shopify has said which SKU it is
            if not stock.knows(event.shop, event.inventory_item_id):
                uow.outbox.add_many([ask(event.shop, event.inventory_item_id, now)])
            return
        newest = stock.open_orders(event.shop, sku, self.max_orders, level.in_stock_at)
        for order_id in oversold(uow, states, event.shop, sku, newest, level.available):
            raise_oversold(uow, event.shop, order_id, [sku], level.available, "stock below zero", now)

    def _order(self, uow: UnitOfWork, stock: StockBatch, state: OrderState, now: datetime) -> None:
        snap = state.snapshot
        if snap is None:
            return
        skus, open_ = skus_of(state), is_open(state)
        stock.track_order(state.shop, state.order_id, skus, open_, snap.created_at)
        if not open_:
            return
        gone = stock.short(state.shop, skus, snap.created_at)
        short = sorted(gone)
        if short:
            available = min(gone[sku] for sku in short)
            raise_oversold(uow, state.shop, state.order_id, short, available, "order for stock below zero", now)


def oversold(
    uow: UnitOfWork, states: Mapping[OrderKey, OrderState], shop: str, sku: str, newest: Sequence[int], available: int
) -> list[int]:
    """Of the open orders holding ``sku`` (``newest`` first, those placed since the item was last in stock), the
    ones a level of ``available`` (below zero) finds sold without stock: the newest, until their units of the SKU
    cover the units short. The older ones took the stock there was, and ship. An order's units are read from its
    state (this batch's, else stored); one that cannot be read counts one unit."""
    short, found = -available, []
    for order_id in newest:
        if short <= 0:
            break
        found.append(order_id)
        state = states.get((ShopDomain(shop), OrderId(order_id))) or find_order(uow, shop, order_id)
        lines = state.snapshot.line_items if state is not None and state.snapshot is not None else ()
        short -= max(1, sum(li.quantity for li in lines if li.sku == sku))
    return found


def ask(shop: str, item_id: int, now: datetime) -> OutboxAction:
    """The question for Shopify about an item the desk knows only by id: one per item and shop, ever (its id comes
    from them); an item that changes later says so itself (``inventory_items/update``)."""
    payload = {"shop": shop, "inventory_item_id": item_id}
    return monitors.outbox_action(f"{ITEM_SOURCE}:{shop}:{item_id}", 0, READ_ITEM, "shopify", None, shop, payload,
                                  now)


def raise_oversold(
    uow: UnitOfWork, shop: str, order_id: int, skus: list[str], available: int, cause: str, now: datetime
) -> None:
    """Raise ``order.oversold`` for an order holding ``skus``, of which ``available`` units are left."""
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
