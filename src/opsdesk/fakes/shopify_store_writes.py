"""The fake Admin API's mutations: refunds, fulfilment holds placed and released, tags, notes, discounts
deactivated, returns approved; each changes what the store holds and says what it did (an ``Effect``)."""

from __future__ import annotations

from decimal import Decimal

from opsdesk.fakes.shopify_refund_lines import check_lines, refund_webhook, refunded_units, sold_lines
from opsdesk.fakes.shopify_resources import NOT_FOUND, SUPPORTED, Effect, FulfillmentOrder, user_error
from opsdesk.fakes.shopify_store_state import JSON, StoreState, _number


class StoreWrites(StoreState):
    """The store's mutations, each an operation of ``ShopifyStore._ops``."""

    # Each operation returns (the mutation payload or query result, the effect or None).

    def _approve_return(self, v: JSON) -> tuple[JSON, Effect | None]:
        gid = str(v["input"]["id"])
        if self._returns.setdefault(gid, "REQUESTED") != "REQUESTED":
            error = user_error("Return is not approvable.", ("input", "id"), "INVALID_STATE")
            return {"return": None, "userErrors": [error]}, None
        self._returns[gid] = "OPEN"
        return {"return": {"id": gid, "status": "OPEN"}, "userErrors": []}, Effect("", "", "", gid)

    def _refund(self, v: JSON) -> tuple[JSON, Effect | None]:
        """A refund of money, and of the line items ``refundLineItems`` names (``shopify_refund_lines``)."""
        given = v["input"]
        order = self._get_order(_number(given["orderId"]))
        amount = sum((Decimal(str(t["amount"])) for t in given.get("transactions") or []), Decimal(0))
        left = order.total - order.refunded
        held = self._payloads.get(order.id)
        lines, error = check_lines(given.get("refundLineItems") or [], sold_lines(order, held),
                                   refunded_units(order, held))
        if error is None and (amount <= 0 or amount > left):
            error = user_error(f"Refund amount {amount} is greater than net payment received {left}",
                               ("transactions", "0", "amount"))
        if error is not None:
            return {"refund": None, "order": None, "userErrors": [error]}, None
        order.refunded += amount
        currency = str(given.get("currency") or order.currency)
        gid = self._next_id("Refund")
        refund = {"id": gid,
                  "totalRefundedSet": {"presentmentMoney": {"amount": str(amount), "currencyCode": currency}},
                  "refundLineItems": {"nodes": [{"lineItem": {"id": f"gid://shopify/LineItem/{item}"},
                                                 "quantity": units, "restockType": "NO_RESTOCK"}
                                                for item, units, *_ in lines]}}
        gateway = (given.get("transactions") or [{}])[0].get("gateway")
        order.refunds.append(refund_webhook(order, gid, amount, currency, gateway, given.get("note"), lines,
                                            self.now()))
        named = {"lines": [[item, units] for item, units, *_ in lines]} if lines else {}
        effect = Effect("", "", "", order.gid, order.id, amount, currency,
                        {"note": given.get("note"), "notify": given.get("notify"), "gateway": gateway, **named})
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
