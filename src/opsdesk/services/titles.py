"""Case titles people read: what happened, to which order, by the order's name (``#1205``) when the desk has it.

An order the desk has not stored yet is named by its id, said as such (``order id 5000…``), and the pages put
the name in once the order is stored (``with_order_name``), as they do for titles written before.
"""

from __future__ import annotations

import re

from opsdesk.domain.events import InventoryLevelChanged, StoreEvent


def order_label(order_id: int, name: str = "") -> str:
    """``order #1205``, or ``order id 5000000000075285080`` when the name is not known."""
    return f"order {name}" if name else f"order id {order_id}"


def case_title(event_name: str, order_id: int | None, order_name: str = "", about: str = "") -> str:
    """``Risk assessed on order #1205``; an order's own event names it once (``Order #1455 cancelled``); an
    event on no order says what it is ``about`` instead (``Inventory level updated: item 808 at …``)."""
    what = event_name.replace(".", " ").replace("_", " ")
    if order_id is None:
        return _capital(what) + (f": {about}" if about else "")
    order = order_label(order_id, order_name)
    if what.startswith("order "):
        return _capital(order) + what.removeprefix("order")
    return f"{_capital(what)} on {order}"


def event_title(event: StoreEvent, order_name: str = "") -> str:
    """The title of the case a rule opens for ``event``."""
    about = ""
    if isinstance(event, InventoryLevelChanged):
        about = f"item {event.inventory_item_id} at location {event.location_id}, {event.available} available"
    return case_title(event.name, event.order_id, order_name, about)


def with_order_name(title: str, order_id: int | None, name: str) -> str:
    """``title`` with the order's ``name`` where it names the order by its id (``order id <id>``, or
    ``order <id>`` in titles written before), keeping the case of ``Order``."""
    if not name or order_id is None:
        return title
    return re.sub(rf"\b([Oo]rder)(?: id)? {order_id}\b", lambda m: f"{m.group(1)} {name}", title)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
