"""What the fake Admin API's store holds, declared for the parts of it that read and change it (the store's
``__init__`` sets it up), and the few steps they share: an order made on first use, a new id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from opsdesk.fakes.shopify_resources import Discount, FulfillmentOrder, Order

JSON = dict[str, Any]


def _number(gid: object) -> int:
    return int(str(gid).rsplit("/", 1)[-1])


class StoreState:
    """The store's data; one lock (the store's) guards it, taken by the callers of what is here."""

    _orders: dict[int, Order]
    _fulfillment_orders: dict[str, FulfillmentOrder]
    _discounts: dict[str, Discount]
    _returns: dict[str, str]
    _payloads: dict[int, JSON]
    _return_payloads: dict[int, JSON]
    _disputes: dict[int, JSON]
    _items: dict[int, JSON]
    payments_account: bool
    _sequence: int
    now: Callable[[], datetime]  # the time a refund the stand-in makes is dated

    def _get_order(self, order_id: int) -> Order:
        """Orders exist when first asked for, with the default terms."""
        if order_id not in self._orders:
            self._orders[order_id] = order = Order(order_id)
            self._add_fulfillment_orders(order, ("OPEN",))
        return self._orders[order_id]

    def _add_fulfillment_orders(self, order: Order, statuses: Sequence[str]) -> None:
        for i, status in enumerate(statuses, start=1):
            fo = FulfillmentOrder(f"gid://shopify/FulfillmentOrder/{order.id}{i}", order.id, status)
            order.fulfillment_orders.append(fo)
            self._fulfillment_orders[fo.id] = fo

    def _next_id(self, kind: str) -> str:
        self._sequence += 1
        return f"gid://shopify/{kind}/{self._sequence}"
