"""The fake Admin API's shop data and the operations on it: what each query answers, what each mutation does."""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from opsdesk.fakes.shopify_graphql import (
    SHAPED,
    graphql_dispute,
    graphql_order,
    graphql_refund,
    graphql_return,
    shaped,
    utc_time,
)
from opsdesk.fakes.shopify_resources import (
    NOT_FOUND,
    SUPPORTED,
    Discount,
    Effect,
    FulfillmentOrder,
    Order,
    user_error,
)
from opsdesk.fakes.shopify_webhooks import WebhookSubscriptions

__all__ = ["ShopifyStore"]

JSON = dict[str, Any]


def _number(gid: object) -> int:
    return int(str(gid).rsplit("/", 1)[-1])


class ShopifyStore:
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
        self._replies: dict[tuple[str, str, str], JSON] = {}
        self._effects: list[Effect] = []
        self._sequence = 0
        self.errors: list[str] = []
        self.webhooks = WebhookSubscriptions()  # per shop (``shopify_webhooks``)
        self._ops: dict[str, Callable[[JSON], tuple[JSON | None, Effect | None]]] = {
            "order": self._order, "discountNode": self._discount_node, "refundCreate": self._refund,
            "refund": self._refund_node,
            "codeDiscountNodeByCode": self._discount_by_code,
            "fulfillmentOrderHold": self._hold, "fulfillmentOrderReleaseHold": self._release,
            "tagsAdd": self._tags_add, "orderUpdate": self._order_update,
            "return": self._return, "returnApproveRequest": self._approve_return, "orders": self._orders_page,
            "shopifyPaymentsAccount": self._disputes_page, "inventoryItem": self._inventory_item,
            "discountCodeDeactivate": functools.partial(self._deactivate, code=True),
            "discountAutomaticDeactivate": functools.partial(self._deactivate, code=False)}

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

    def _inventory_item(self, v: JSON) -> tuple[JSON | None, None]:
        return self._items.get(_number(v["id"])), None

    def put_order_payload(self, payload: JSON) -> None:
        with self._lock:
            self._payloads[int(payload["id"])] = json.loads(json.dumps(payload, default=str))

    def _orders_page(self, v: JSON) -> tuple[JSON, None]:
        """``orders(first, after, query: "updated_at:>='T'", sortKey: UPDATED_AT)`` over the held payloads."""
        found = re.search(r"updated_at:(>=?)'?([^' ]+)'?", str(v.get("query") or ""))
        since = utc_time(found.group(2)) if found else None
        ordered = sorted(((utc_time(o["updated_at"]), i) for i, o in self._payloads.items()))
        if since is not None and found is not None:
            ordered = [k for k in ordered if k[0] > since or (found.group(1) == ">=" and k[0] == since)]
        if v.get("after"):
            at, _, number = str(v["after"]).partition("|")
            ordered = [k for k in ordered if k > (utc_time(at), int(number))]
        page = ordered[: int(v.get("first") or 50)]
        cursor = f"{page[-1][0].isoformat()}|{page[-1][1]}" if page else None
        return {"pageInfo": {"hasNextPage": len(ordered) > len(page), "endCursor": cursor},
                "nodes": [self._read_back(i) for _, i in page]}, None

    def _read_back(self, order_id: int) -> JSON:
        """A held order as the reconciliation reads it, with its held returns (by id) at their current status."""
        held = sorted((i, r) for i, r in self._return_payloads.items() if int(r["order"]["id"]) == order_id)
        returns = [graphql_return(r, self._returns[f"gid://shopify/Return/{i}"]) for i, r in held]
        return graphql_order(self._payloads[order_id], returns)

    def put_return_payload(self, payload: JSON) -> None:
        with self._lock:
            found = json.loads(json.dumps(payload, default=str))
            self._return_payloads[int(found["id"])] = found
            self._returns[f"gid://shopify/Return/{found['id']}"] = str(found.get("status") or "requested").upper()

    def put_dispute_payload(self, payload: JSON) -> None:
        with self._lock:
            self._disputes[int(payload["id"])] = json.loads(json.dumps(payload, default=str))

    def _disputes_page(self, v: JSON) -> tuple[JSON | None, None]:
        """``shopifyPaymentsAccount { disputes(first, after, query: "initiated_at:>='T'") }`` over the held
        disputes, by id (Shopify's default order); the cursor is the last id."""
        if not self.payments_account:
            return None, None
        found = re.search(r"initiated_at:(>=?)'?([^' ]+)'?", str(v.get("query") or ""))
        since = utc_time(found.group(2)) if found else None
        ordered = sorted(self._disputes)
        if since is not None and found is not None:
            ordered = [i for i in ordered if (at := utc_time(self._disputes[i]["initiated_at"])) > since
                       or (found.group(1) == ">=" and at == since)]
        if v.get("after"):
            ordered = [i for i in ordered if i > int(str(v["after"]))]
        page = ordered[: int(v.get("first") or 50)]
        info = {"hasNextPage": len(ordered) > len(page), "endCursor": str(page[-1]) if page else None}
        return {"disputes": {"pageInfo": info, "nodes": [graphql_dispute(self._disputes[i]) for i in page]}}, None

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

    # Each operation returns (the mutation payload or query result, the effect or None).

    def _order(self, v: JSON) -> tuple[JSON | None, None]:
        """The order's actions view, and its reconciliation view when ``put_order_payload`` holds it."""
        number = _number(v["id"])
        held = self._payloads.get(number)
        node = self._get_order(number).node()
        return (node if held is None else {**node, **self._read_back(number)}), None

    def _refund_node(self, v: JSON) -> tuple[JSON | None, None]:
        """``refund(id:)``: a refund of one of the orders ``put_order_payload`` holds."""
        number = _number(v["id"])
        for order in self._payloads.values():
            for refund in order.get("refunds") or []:
                if int(refund["id"]) == number:
                    return graphql_refund(refund, order.get("currency")), None
        return None, None

    def _return(self, v: JSON) -> tuple[JSON | None, None]:
        """``return(id:)``: its status (returns exist as REQUESTED when first asked for), and its lines when
        ``put_return_payload`` holds it."""
        gid = str(v["id"])
        status = self._returns.setdefault(gid, "REQUESTED")
        held = self._return_payloads.get(_number(gid))
        return ({"id": gid, "status": status} if held is None else graphql_return(held, status)), None

    def _approve_return(self, v: JSON) -> tuple[JSON, Effect | None]:
        gid = str(v["input"]["id"])
        if self._returns.setdefault(gid, "REQUESTED") != "REQUESTED":
            error = user_error("Return is not approvable.", ("input", "id"), "INVALID_STATE")
            return {"return": None, "userErrors": [error]}, None
        self._returns[gid] = "OPEN"
        return {"return": {"id": gid, "status": "OPEN"}, "userErrors": []}, Effect("", "", "", gid)

    def _discount_node(self, v: JSON) -> tuple[JSON | None, None]:
        found = self._discounts.get(str(v["id"]))
        return (found.node() if found else None), None

    def _discount_by_code(self, v: JSON) -> tuple[JSON | None, None]:
        code = str(v["code"]).casefold()
        found = next((d for d in self._discounts.values() if code in (c.casefold() for c in d.codes)), None)
        return ({"id": found.gid} if found else None), None

    def _refund(self, v: JSON) -> tuple[JSON, Effect | None]:
        given = v["input"]
        order = self._get_order(_number(given["orderId"]))
        amount = sum((Decimal(str(t["amount"])) for t in given.get("transactions") or []), Decimal(0))
        left = order.total - order.refunded
        if amount <= 0 or amount > left:
            error = user_error(f"Refund amount {amount} is greater than net payment received {left}",
                                ("transactions", "0", "amount"))
            return {"refund": None, "order": None, "userErrors": [error]}, None
        order.refunded += amount
        currency = str(given.get("currency") or order.currency)
        refund = {"id": self._next_id("Refund"),
                  "totalRefundedSet": {"presentmentMoney": {"amount": str(amount), "currencyCode": currency}}}
        gateway = (given.get("transactions") or [{}])[0].get("gateway")
        effect = Effect("", "", "", order.gid, order.id, amount, currency,
                        {"note": given.get("note"), "notify": given.get("notify"), "gateway": gateway})
        return {"refund": refund, "order": {"id": order.gid}, "userErrors": []}, effect

    def _hold(self, v: JSON) -> tuple[JSON, Effect | None]:
        """A hold of the app's: one more on a fulfilment order already held (API 2025-01+), its handle unique
        among the app's holds there."""
        fo, hold = self._fulfillment_orders.get(str(v["id"])), v["fulfillmentHold"]
        handle = str(hold.get("handle") or "")
        error = None
        if fo is None or "HOLD" not in SUPPORTED.get(fo.status, ()):
            error = user_error("The fulfillment order could not be found.", ("id",), NOT_FOUND)
        elif any(h["handle"] == handle and h["heldByRequestingApp"] for h in fo.holds):
            error = user_error("The handle is already in use for a hold on this fulfillment order.",
                                ("handle",), "DUPLICATE_FULFILLMENT_HOLD_HANDLE")
        if fo is None or error is not None:
            return {"fulfillmentHold": None, "fulfillmentOrder": None, "userErrors": [error]}, None
        created = self._place(fo, str(hold["reason"]), handle, ours=True)
        effect = Effect("", "", "", fo.id, fo.order_id, detail={"reason": hold["reason"], "handle": handle})
        return {"fulfillmentHold": {"id": created["id"], "handle": handle},
                "fulfillmentOrder": {"id": fo.id, "status": fo.status}, "userErrors": []}, effect

    def hold_by_hand(self, order_id: int, reason: str = "OTHER", handle: str = "") -> str:
        """A hold on the order's first fulfilment order placed by someone else than the app (by hand in
        Shopify's admin, or by another app, which has its own handles): its id."""
        with self._lock:
            fo = self._get_order(order_id).fulfillment_orders[0]
            return str(self._place(fo, reason, handle, ours=False)["id"])

    def _place(self, fo: FulfillmentOrder, reason: str, handle: str, *, ours: bool) -> JSON:
        created = {"id": self._next_id("FulfillmentHold"), "handle": handle, "reason": reason,
                   "heldByRequestingApp": ours}
        fo.holds.append(created)
        fo.status = "ON_HOLD"
        return created

    def _release(self, v: JSON) -> tuple[JSON, Effect | None]:
        """The holds ``holdIds`` names that are on the fulfilment order (every hold when it names none); the
        fulfilment order is open again once no hold is left."""
        fo = self._fulfillment_orders.get(str(v["id"]))
        if fo is None or fo.status != "ON_HOLD":
            error = user_error("The fulfillment order wasn't found.", ("id",), NOT_FOUND)
            return {"fulfillmentOrder": None, "userErrors": [error]}, None
        named = v.get("holdIds")
        gone = [h for h in fo.holds if named is None or h["id"] in named]
        fo.holds = [h for h in fo.holds if h not in gone]
        fo.status = "ON_HOLD" if fo.holds else "OPEN"
        effect = None if not gone else Effect("", "", "", fo.id, fo.order_id, detail={
            "released": [h["id"] for h in gone], "handles": [h["handle"] for h in gone]})
        return {"fulfillmentOrder": {"id": fo.id, "status": fo.status}, "userErrors": []}, effect

    def _tags_add(self, v: JSON) -> tuple[JSON, Effect]:
        order = self._get_order(_number(v["id"]))
        order.tags.extend(t for t in v["tags"] if t not in order.tags)
        effect = Effect("", "", "", order.gid, order.id, detail={"tags": list(v["tags"])})
        return {"node": {"id": order.gid}, "userErrors": []}, effect

    def _order_update(self, v: JSON) -> tuple[JSON, Effect]:
        order = self._get_order(_number(v["input"]["id"]))
        order.note = str(v["input"].get("note") or "")
        effect = Effect("", "", "", order.gid, order.id, detail={"note": order.note})
        return {"order": {"id": order.gid, "note": order.note}, "userErrors": []}, effect

    def _deactivate(self, v: JSON, *, code: bool) -> tuple[JSON, Effect | None]:
        found = self._discounts.get(str(v["id"]))
        node = "codeDiscountNode" if code else "automaticDiscountNode"
        if found is None or found.is_code != code:
            error = user_error("Discount does not exist", ("id",), "INVALID")
            return {node: None, "userErrors": [error]}, None
        found.status = "EXPIRED"
        effect = Effect("", "", "", found.gid, detail={"status": found.status})
        return {node: {"id": found.gid}, "userErrors": []}, effect
