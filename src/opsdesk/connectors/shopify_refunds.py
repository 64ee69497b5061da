"""Refunds at Shopify: ``refundCreate`` through the payment gateway of the order's sale, made once.

``refundCreate`` carries Shopify's ``@idempotent(key:)`` directive (API 2026-01+, required from 2026-04) with the
action's idempotency key, so a refund retried after a lost answer is made once. The gateway (and the parent
transaction) comes from the payload, else from the order's successful sale or capture. ``ShopifyAdmin`` sends
them through its own client.

A refund decided on a return's request names the units it pays for (``refundLineItems``, from the payload's
``lines``: ADR 0041, amended), so that Shopify counts them refunded, refuses a second refund of units none are
left of, and its ``refunds/create`` webhook tells the desk's projection which units the desk refunded. They are
not restocked (``NO_RESTOCK``): the desk refunds on the request, before the goods are back; restocking is the
return's to do when they arrive (its processing in Shopify), at the location they come back to. An action queued
before (no ``lines``), or a person's refund of an amount, refunds by amount alone.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from opsdesk.connectors.shopify_holds import Mutate
from opsdesk.connectors.shopify_ids import order_gid
from opsdesk.connectors.shopify_reads import Execute, Reply
from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.outbox import Delivered, Rejected, SendResult
from opsdesk.domain.records import OutboxAction

JSON = dict[str, Any]

REFUND = """mutation Refund($input: RefundInput!, $idempotencyKey: String!) {
  refundCreate(input: $input) @idempotent(key: $idempotencyKey) {
    refund { id totalRefundedSet { presentmentMoney { amount currencyCode } } }
    userErrors { field message }
  }
}"""
ORDER_PAYMENTS = """query OrderPayments($id: ID!) {
  order(id: $id) { id transactions(first: 50) { id kind status gateway } }
}"""


class Refunds:
    """``refund``, over the connector's execute and mutate."""

    def __init__(self, execute: Execute, mutate: Mutate) -> None:
        self._execute = execute
        self._mutate = mutate

    def refund(self, action: OutboxAction) -> SendResult:
        """refundCreate for the payload's amount, through the payment gateway of the order's sale."""
        # notify defaults to False: the customer hears from us, through the email templates.
        order, payload = order_gid(action), action.payload
        amount = _amount(payload.get("amount"))
        payment = self._payment(action, order)
        if not isinstance(payment, dict):
            return payment
        transaction = {"orderId": order, "kind": "REFUND", "amount": str(amount), **payment}
        refund: JSON = {
            "orderId": order,
            "note": str(payload.get("note") or ""),
            "notify": bool(payload.get("notify", False)),
            "transactions": [transaction],
        }
        if payload.get("currency"):
            refund["currency"] = str(payload["currency"])
        units = refund_line_items(payload.get("lines"))
        if units:
            refund["refundLineItems"] = units
        variables = {"input": refund, "idempotencyKey": action.idempotency_key}
        result = self._mutate(action, "refundCreate", REFUND, variables, frozenset())
        if not isinstance(result, dict):
            return result
        return Delivered(
            {
                "refund_id": (result.get("refund") or {}).get("id"),
                "order_id": order,
                "amount": str(amount),
                "currency": payload.get("currency"),
                **({"lines": [[line["lineItemId"], line["quantity"]] for line in units]} if units else {}),
            }
        )

    def _payment(self, action: OutboxAction, order: str) -> Reply:
        """The gateway (and parent transaction) to refund through: from the payload, else the order's sale."""
        payload = action.payload
        if payload.get("gateway"):
            parent = payload.get("parent_transaction_id")
            return {"gateway": str(payload["gateway"]), **({"parentId": str(parent)} if parent else {})}
        reply = self._execute(action.shop, ORDER_PAYMENTS, {"id": order}, action.idempotency_key)
        if not isinstance(reply, dict):
            return reply
        for tx in (reply.get("order") or {}).get("transactions") or []:
            if tx.get("kind") in ("SALE", "CAPTURE") and tx.get("status") == "SUCCESS":
                return {"gateway": tx["gateway"], "parentId": tx["id"]}
        return Rejected(f"order {order} has no successful sale or capture to refund")


def refund_line_items(lines: object) -> list[JSON]:
    """``RefundLineItemInput``s of the payload's ``lines`` ([line item id, quantity, price]), not restocked; a line
    that names no line item (or no unit) names nothing."""
    named: list[JSON] = []
    for line in lines if isinstance(lines, list) else []:
        item, quantity = (line[0], line[1]) if isinstance(line, list) and len(line) >= 2 else (None, 0)
        if type(item) is int and type(quantity) is int and quantity > 0:
            named.append({"lineItemId": f"gid://shopify/LineItem/{item}", "quantity": quantity,
                          "restockType": "NO_RESTOCK"})
    return named


def _amount(value: object) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidPayload(f"refund amount is not a number: {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidPayload(f"refund amount must be positive, got {value!r}")
    return amount
