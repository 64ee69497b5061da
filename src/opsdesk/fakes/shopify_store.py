"""The fake Admin API's shop data and the operations on it: what each query answers, what each mutation does.

The store is the public surface (its setters and readers for tests, ``execute`` for the stand-in's HTTP side)
and the table of operations (``_ops``); the operations themselves are its parts: the queries in
``shopify_store_reads``, the mutations in ``shopify_store_writes``, on the data ``shopify_store_state`` declares.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from opsdesk.fakes.shopify_fulfilment_events import FulfilmentEvents
from opsdesk.fakes.shopify_graphql import SHAPED, shaped
from opsdesk.fakes.shopify_resources import Discount, Effect, FulfillmentOrder, Order
from opsdesk.fakes.shopify_store_reads import StoreReads
from opsdesk.fakes.shopify_store_state import JSON
from opsdesk.fakes.shopify_store_writes import StoreWrites
from opsdesk.fakes.shopify_webhooks import WebhookSubscriptions

__all__ = ["ShopifyStore"]


class ShopifyStore(StoreReads, StoreWrites):
    """The fake's orders and discounts and the operations on them; one lock makes it thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orders: dict[int, Order] = {}
        self._fulfillment_orders: dict[str, FulfillmentOrder] = {}
        self._discounts: dict[str, Discount] = {}
        self._returns: dict[str, str] = {}  # return gid -> status (REQUESTED, OPEN, DECLINED, ...)
        self._payloads: dict[int, JSON] = {}  # order id -> webhook-shaped order, for the ``orders`` query
        self._return_payloads: dict[int, JSON] = {}  # return id -> webhook-shaped return, read on its order
        self._disputes: dict[int, JSON] = {}  # dispute id -> webhook-shaped dispute, for the disputes query
        self._items: dict[int, JSON] = {}  # inventory item id -> its ``inventoryItem`` node
        #: False: the shop has no Shopify Payments account (``shopifyPaymentsAccount`` is null).
        self.payments_account = True
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)  # the stand-in's ``clock``, when it has one
        self._replies: dict[tuple[str, str, str], JSON] = {}
        self._effects: list[Effect] = []
        self._sequence = 0
        self.errors: list[str] = []
        self.webhooks = WebhookSubscriptions()  # per shop (``shopify_webhooks``)
        #: Carrier events by fulfilment (``put_fulfilment_event``), for ``fulfillment(id:) { events }``.
        self.fulfilment_events = FulfilmentEvents()
        self._ops: dict[str, Callable[[JSON], tuple[JSON | None, Effect | None]]] = {
            "order": self._order, "discountNode": self._discount_node, "refundCreate": self._refund,
            "refund": self._refund_node,
            "codeDiscountNodeByCode": self._discount_by_code,
            "fulfillmentOrderHold": self._hold, "fulfillmentOrderReleaseHold": self._release,
            "tagsAdd": self._tags_add, "orderUpdate": self._order_update,
            "return": self._return, "returnApproveRequest": self._approve_return, "orders": self._orders_page,
            "shopifyPaymentsAccount": self._disputes_page, "inventoryItem": self._inventory_item,
            "discountCodeDeactivate": functools.partial(self._deactivate, code=True),
            "discountAutomaticDeactivate": functools.partial(self._deactivate, code=False),
            "fulfillment": self.fulfilment_events.fulfillment}

    @property
    def effects(self) -> list[Effect]:
        with self._lock:
            return list(self._effects)

    def add_order(self, order_id: int, *, total: str = "1000.00", currency: str = "USD",
                  gateway: str = "shopify_payments", fulfillment_orders: Sequence[str] = ("OPEN",),
                  financial_status: str = "PAID") -> None:
        with self._lock:
            order = Order(order_id, Decimal(total), currency, gateway, financial_status=financial_status)
            self._orders[order_id] = order
            self._add_fulfillment_orders(order, fulfillment_orders)

    def add_discount(self, gid: str, **terms: Any) -> None:
        with self._lock:
            self._discounts[gid] = Discount(gid, **terms)

    def add_inventory_item(self, item_id: int, sku: str, *, tracked: bool = True) -> None:
        with self._lock:
            self._items[item_id] = {"id": f"gid://shopify/InventoryItem/{item_id}", "legacyResourceId": str(item_id),
                                    "sku": sku or None, "tracked": tracked}

    def put_line_items(
        self,
        order_id: int,
        lines: dict[int, tuple[int, Decimal]],
        paid: dict[int, tuple[Decimal, Decimal]] | None = None,
    ) -> None:
        """The order's line items (id: units ordered, price), for the refunds of line items (``refundCreate``), and
        what was paid for them (id: price times units less discounts, tax), for their refunds' webhooks."""
        with self._lock:
            order = self._get_order(order_id)
            order.line_items, order.line_money = dict(lines), dict(paid or {})

    def refund_webhooks(self, order_id: int) -> list[JSON]:
        """The ``refunds/create`` bodies Shopify sends for the refunds the stand-in made on the order."""
        with self._lock:
            order = self._orders.get(order_id)
            return json.loads(json.dumps(order.refunds if order else [], default=str))  # type: ignore[no-any-return]

    def put_order_payload(self, payload: JSON) -> None:
        with self._lock:
            self._payloads[int(payload["id"])] = json.loads(json.dumps(payload, default=str))

    def put_return_payload(self, payload: JSON) -> None:
        with self._lock:
            found = json.loads(json.dumps(payload, default=str))
            self._return_payloads[int(found["id"])] = found
            self._returns[f"gid://shopify/Return/{found['id']}"] = str(found.get("status") or "requested").upper()

    def put_dispute_payload(self, payload: JSON) -> None:
        with self._lock:
            self._disputes[int(payload["id"])] = json.loads(json.dumps(payload, default=str))

    def put_fulfilment_event(self, payload: JSON) -> None:
        """Hold a carrier event (the ``fulfillment_events/create`` body) as Shopify has it on its fulfilment."""
        with self._lock:
            self.fulfilment_events.put(payload)

    def delete_fulfilment_event(self, event_id: int) -> None:
        """Delete a carrier event from its fulfilment (no webhook: a test delivers the ``fulfillment_events/delete``
        it wants, or loses it)."""
        with self._lock:
            self.fulfilment_events.delete(event_id)

    def set_return(self, return_id: int, status: str) -> None:
        """A return's status (returns exist as REQUESTED when first asked for)."""
        with self._lock:
            self._returns[f"gid://shopify/Return/{return_id}"] = status

    def return_status(self, return_id: int) -> str:
        with self._lock:
            return self._returns.get(f"gid://shopify/Return/{return_id}", "REQUESTED")

    def order(self, order_id: int) -> JSON:
        """The order as the ``order`` query shows it."""
        with self._lock:
            return self._get_order(order_id).node()

    def discount(self, gid: str) -> JSON | None:
        with self._lock:
            found = self._discounts.get(gid)
            return found.node() if found else None

    def execute(self, shop: str, operation: str, variables: JSON, key: str, query: str = "") -> JSON:
        """Answer one operation; a mutation already applied under ``key`` gets its first answer again.

        An order of the ``orders``, ``order`` or ``refund`` query keeps only the fields the query selects, its
        lists and connections cut to their ``first``: a connector that stops asking for a field, or never
        asked, does not get it, and one that asks for fewer items than there are gets that many, as from
        Shopify."""
        op = self._ops.get(operation) or self.webhooks.op(shop, operation)
        if op is None:
            return {"errors": [{"message": f"Field '{operation}' doesn't exist on type 'Root'",
                                "extensions": {"code": "undefinedField"}}]}
        target = str(variables.get("id") or (variables.get("input") or {}).get("orderId")
                     or (variables.get("input") or {}).get("id") or "")
        with self._lock:
            replay = (key, operation, target)
            if key and replay in self._replies:
                return self._replies[replay]
            try:
                data, effect = op(variables)
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                self.errors.append(f"{operation}: {exc!r}")
                return {"errors": [{"message": f"Variable input is invalid: {exc!r}",
                                    "extensions": {"code": "INVALID_VARIABLE"}}]}
            if operation in SHAPED and query and data is not None:
                data = shaped(query, operation, data, variables)
            body: JSON = {"data": {operation: data}}
            if effect is not None:
                self._effects.append(replace(effect, kind=operation, key=key, shop=shop))
                if key:
                    self._replies[replay] = body
            return body

    def hold_by_hand(self, order_id: int, reason: str = "OTHER", handle: str = "") -> str:
        """A hold on the order's first fulfilment order placed by someone else than the app (by hand in
        Shopify's admin, or by another app, which has its own handles): its id."""
        with self._lock:
            fo = self._get_order(order_id).fulfillment_orders[0]
            return str(self._place(fo, reason, handle, ours=False)["id"])
