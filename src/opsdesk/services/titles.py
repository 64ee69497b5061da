"""Case titles people read: what happened, to which order, by the order's name (``#1205``) when the desk has it.

An order the desk has not stored yet is named by its id, said as such (``order id 5000…``), and the pages put
the name in once the order is stored (``with_order_name``), as they do for titles written before. Stock is named
likewise: by its product and SKU (``Aviator sunglasses (SKU 2006-001)``) and its warehouse when the desk knows
them (``inventory.named`` puts them in as the case opens), else by the ids Shopify sent, said as such.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from opsdesk.domain.events import InventoryLevelChanged, OrderOversold, StoreEvent


def order_label(order_id: int, name: str = "") -> str:
    """``order #1205``, or ``order id 5000000000075285080`` when the name is not known."""
    return f"order {name}" if name else f"order id {order_id}"


def case_title(event_name: str, order_id: int | None, order_name: str = "") -> str:
    """``Risk assessed on order #1205``; an order's own event names it once (``Order #1455 cancelled``); an
    event on no order says what happened (``Discount updated``)."""
    what = event_name.replace(".", " ").replace("_", " ")
    if order_id is None:
        return _capital(what)
    order = order_label(order_id, order_name)
    if what.startswith("order "):
        return _capital(order) + what.removeprefix("order")
    return f"{_capital(what)} on {order}"


def item_label(sku: str, product: str = "", item_id: int | None = None) -> str:
    """``Aviator sunglasses (SKU 2006-001)``; ``SKU 2006-001`` without the product's title; ``inventory item
    2718… (SKU not known)`` when the desk has not heard of the item's SKU (``inventory_items/*``)."""
    if not sku:
        return f"inventory item {item_id} (SKU not known)"
    return f"{product} (SKU {sku})" if product else f"SKU {sku}"


def location_label(location_id: int, name: str = "") -> str:
    """The warehouse's name (``warehouses:`` in opsdesk.yaml), else ``location 2482…``."""
    return name or f"location {location_id}"


def level_title(item: str, location: str, available: int | None) -> str:
    """``Stock below zero: Aviator sunglasses (SKU 2006-001) at Main warehouse, -3 available``."""
    what = "Stock below zero" if available is not None and available < 0 else "Inventory level updated"
    count = "no count" if available is None else f"{available} available"
    return f"{what}: {item} at {location}, {count}"


def oversold_title(order_id: int, order_name: str, items: Sequence[str]) -> str:
    """``Order #1205 oversold: Aviator sunglasses (SKU 2006-001)``."""
    return f"{_capital(order_label(order_id, order_name))} oversold: {', '.join(items)}"


def event_title(event: StoreEvent, order_name: str = "") -> str:
    """The title of the case a rule opens for ``event``: stock by what the event itself says."""
    match event:
        case InventoryLevelChanged():
            item = item_label("", item_id=event.inventory_item_id)
            return level_title(item, location_label(event.location_id), event.available)
        case OrderOversold():
            return oversold_title(event.order, order_name, [item_label(sku) for sku in event.skus])
    return case_title(event.name, event.order_id, order_name)


def with_order_name(title: str, order_id: int | None, name: str) -> str:
    """``title`` with the order's ``name`` where it names the order by its id (``order id <id>``, or
    ``order <id>`` in titles written before), keeping the case of ``Order``."""
    if not name or order_id is None:
        return title
    return re.sub(rf"\b([Oo]rder)(?: id)? {order_id}\b", lambda m: f"{m.group(1)} {name}", title)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
