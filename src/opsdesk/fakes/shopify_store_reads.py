"""The fake Admin API's queries: an order, a refund, a return, a discount, an inventory item, and the
reconciliation's pages of orders and disputes, answered from what the store holds."""

from __future__ import annotations

import re

from opsdesk.fakes.shopify_graphql import (
    graphql_dispute,
    graphql_order,
    graphql_refund,
    graphql_return,
    utc_time,
)
from opsdesk.fakes.shopify_store_state import JSON, StoreState, _number


class StoreReads(StoreState):
    """The store's queries, each an operation of ``ShopifyStore._ops``."""

    # Each operation returns (the mutation payload or query result, the effect or None).

    def _order(self, v: JSON) -> tuple[JSON | None, None]:
        """The order's actions view with the refunds the stand-in made on it, and its reconciliation view when
        ``put_order_payload`` holds it."""
        number = _number(v["id"])
        order = self._get_order(number)
        node = {**order.node(), "refunds": [graphql_refund(r, order.currency) for r in order.refunds]}
        return (node if number not in self._payloads else {**node, **self._read_back(number)}), None

    def _refund_node(self, v: JSON) -> tuple[JSON | None, None]:
        """``refund(id:)``: a refund of one of the orders ``put_order_payload`` holds, or one the stand-in made."""
        number = _number(v["id"])
        held = [self._with_refunds(i) for i in self._payloads]
        made = [{"currency": o.currency, "refunds": o.refunds}
                for i, o in self._orders.items() if i not in self._payloads]
        for order in [*held, *made]:
            for refund in order.get("refunds") or []:
                if int(refund["id"]) == number:
                    return graphql_refund(refund, order.get("currency")), None
        return None, None

    def _with_refunds(self, order_id: int) -> JSON:
        """A held order with the refunds the stand-in made on it after the ones it holds, as Shopify lists every
        refund of its order. Its ``updated_at`` stays the held one's: the stand-in sends no ``orders/updated``
        for a refund it makes, so moving it would make every order it refunded look stale to the sweep."""
        held = self._payloads[order_id]
        order = self._orders.get(order_id)
        known = {int(r["id"]) for r in held.get("refunds") or []}
        made = [r for r in (order.refunds if order else []) if int(r["id"]) not in known]
        return {**held, "refunds": [*(held.get("refunds") or []), *made]} if made else held

    def _return(self, v: JSON) -> tuple[JSON | None, None]:
        """``return(id:)``: its status (returns exist as REQUESTED when first asked for), and its lines when
        ``put_return_payload`` holds it."""
        gid = str(v["id"])
        status = self._returns.setdefault(gid, "REQUESTED")
        held = self._return_payloads.get(_number(gid))
        return ({"id": gid, "status": status} if held is None else graphql_return(held, status)), None

    def _discount_node(self, v: JSON) -> tuple[JSON | None, None]:
        found = self._discounts.get(str(v["id"]))
        return (found.node() if found else None), None

    def _discount_by_code(self, v: JSON) -> tuple[JSON | None, None]:
        code = str(v["code"]).casefold()
        found = next((d for d in self._discounts.values() if code in (c.casefold() for c in d.codes)), None)
        return ({"id": found.gid} if found else None), None

    def _inventory_item(self, v: JSON) -> tuple[JSON | None, None]:
        return self._items.get(_number(v["id"])), None

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
        return graphql_order(self._with_refunds(order_id), returns)

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
