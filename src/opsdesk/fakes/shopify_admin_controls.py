"""What a test does to the Shopify stand-in besides sending it requests: its faults (``script``, ``chaos``,
``outage``), the record of what happened (``calls``, ``effects``), and the shop's data it answers from
(``add_order``, ``put_order_payload``, …, kept in its ``ShopifyStore``). ``FakeShopifyAdmin`` is made of these.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from opsdesk.fakes.shopify_faults import DEFAULT_FAULTS, Faults, check_faults
from opsdesk.fakes.shopify_request import Call
from opsdesk.fakes.shopify_resources import Effect
from opsdesk.fakes.shopify_store import ShopifyStore

__all__ = ["StandInControls"]

JSON = dict[str, Any]


class StandInControls:
    """The stand-in's faults, its record of calls and effects, and the data of its shops."""

    def __init__(self, seed: int) -> None:
        self.store = ShopifyStore()
        self._faults = Faults(seed)
        self._calls: list[Call] = []
        self._lock = threading.Lock()

    # -- faults --------------------------------------------------------------------------------------

    def script(self, *faults: str) -> None:
        """Inject these faults into the next calls, one each, in order."""
        check_faults(faults)
        with self._faults.lock:
            self._faults.queue.extend(faults)

    def chaos(self, rate: float, faults: Sequence[str] = DEFAULT_FAULTS, seed: int | None = None) -> None:
        """Fail this fraction of the calls (after the scripted ones) with faults drawn from ``faults``."""
        check_faults(faults)
        with self._faults.lock:
            self._faults.rate, self._faults.choices = rate, tuple(faults)
            if seed is not None:
                self._faults.rng.seed(seed)

    def outage(self, on: bool) -> None:
        """While on, every call gets 503."""
        with self._faults.lock:
            self._faults.down = on

    # -- what happened -------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def effects(self) -> list[Effect]:
        return self.store.effects

    def effects_for(self, key: str) -> list[Effect]:
        return [e for e in self.store.effects if e.key == key]

    def add_order(self, order_id: int, **terms: Any) -> None:
        """Give an order other terms than the default (1000.00 USD, one open fulfilment order)."""
        self.store.add_order(order_id, **terms)

    def add_discount(self, gid: str, **terms: Any) -> None:
        self.store.add_discount(gid, **terms)

    def add_inventory_item(self, item_id: int, sku: str, *, tracked: bool = True) -> None:
        """An item of the shop's catalogue, for the ``inventoryItem`` query."""
        self.store.add_inventory_item(item_id, sku, tracked=tracked)

    def hold_by_hand(self, order_id: int, reason: str = "OTHER", handle: str = "") -> str:
        """Hold the order as a person in Shopify's admin would (or another app, with a handle): the hold's id."""
        return self.store.hold_by_hand(order_id, reason, handle)

    def put_line_items(
        self,
        order_id: int,
        lines: dict[int, tuple[int, Decimal]],
        paid: dict[int, tuple[Decimal, Decimal]] | None = None,
    ) -> None:
        """The order's line items (id: units ordered, price): a refund of line items is checked against them; and
        what was paid for them (id: price times units less discounts, tax; their price when not given): what the
        refund's webhook says its lines were worth."""
        self.store.put_line_items(order_id, lines, paid)

    def refund_webhooks(self, order_id: int) -> list[JSON]:
        """The ``refunds/create`` bodies Shopify sends for the refunds the stand-in made on the order."""
        return self.store.refund_webhooks(order_id)

    def put_order_payload(self, payload: JSON) -> None:
        """Hold this order (webhook-shaped JSON) as the shop's true current state, for the ``orders`` query."""
        self.store.put_order_payload(payload)

    def put_dispute_payload(self, payload: JSON) -> None:
        """Hold this dispute (webhook-shaped JSON) as the shop's true current state, for the disputes query."""
        self.store.put_dispute_payload(payload)

    def put_return_payload(self, payload: JSON) -> None:
        """Hold this return (the ``returns/request`` webhook's body, with a ``created_at``) as the shop's true
        current state, read back on its order (``returns``, ``returnStatus``) in the ``orders`` and ``order``
        queries and by ``return``; its status is the body's until ``set_return`` or an approval moves it."""
        self.store.put_return_payload(payload)

    def set_return(self, return_id: int, status: str) -> None:
        self.store.set_return(return_id, status)

    def return_status(self, return_id: int) -> str:
        return self.store.return_status(return_id)

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
