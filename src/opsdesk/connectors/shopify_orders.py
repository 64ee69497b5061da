"""Tags, notes, return approvals and payment re-checks at Shopify, each safe to repeat.

Adding a tag twice or setting the same note twice changes nothing; an approval finds a return already open
when it was approved before (a retry); a payment re-check is a query. ``ShopifyAdmin`` sends them through its
own client.
"""

from __future__ import annotations

from typing import Any

from opsdesk.connectors.shopify_holds import Mutate
from opsdesk.connectors.shopify_ids import gid, order_gid
from opsdesk.connectors.shopify_reads import Execute
from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.outbox import Delivered, Rejected, SendResult
from opsdesk.domain.records import OutboxAction

JSON = dict[str, Any]

TAGS = """mutation Tags($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""
NOTE = """mutation Note($input: OrderInput!) {
  orderUpdate(input: $input) { order { id note } userErrors { field message } }
}"""

RETURN_STATUS = """query ReturnStatus($id: ID!) { return(id: $id) { id status } }"""
APPROVE_RETURN = """mutation ApproveReturn($input: ReturnApproveRequestInput!) {
  returnApproveRequest(input: $input) { return { id status } userErrors { field message code } }
}"""
PAYMENT_STATUS = """query PaymentStatus($id: ID!) {
  order(id: $id) { id displayFinancialStatus paymentGatewayNames
    transactions(first: 50) { id kind status gateway } }
}"""


class OrderActions:
    """``add_tags``, ``note``, ``approve_return`` and ``check_payment``, over the connector's execute and mutate."""

    def __init__(self, execute: Execute, mutate: Mutate) -> None:
        self._execute = execute
        self._mutate = mutate

    def add_tags(self, action: OutboxAction) -> SendResult:
        given = action.payload.get("tags") or []
        parts = given.split(",") if isinstance(given, str) else map(str, given)
        tags = [t.strip() for t in parts if t.strip()]
        if not tags:
            raise InvalidPayload("add_tags needs at least one tag")
        order = order_gid(action)
        result = self._mutate(action, "tagsAdd", TAGS, {"id": order, "tags": tags})
        return result if not isinstance(result, dict) else Delivered({"order_id": order, "tags": tags})

    def note(self, action: OutboxAction) -> SendResult:
        note = str(action.payload.get("note") or action.payload.get("text") or "")
        if not note:
            raise InvalidPayload("note needs a text")
        order = order_gid(action)
        result = self._mutate(action, "orderUpdate", NOTE, {"input": {"id": order, "note": note}})
        return result if not isinstance(result, dict) else Delivered({"order_id": order, "note": note})

    def approve_return(self, action: OutboxAction) -> SendResult:
        """returnApproveRequest, unless the return is open already (a retry of an approval that was made)."""
        target = gid("Return", action.payload.get("return_id"))
        reply = self._execute(action.shop, RETURN_STATUS, {"id": target}, action.idempotency_key)
        if not isinstance(reply, dict):
            return reply
        status = str((reply.get("return") or {}).get("status") or "")
        if status == "OPEN":
            return Delivered({"return_id": target, "status": status, "already": True})
        if status != "REQUESTED":
            return Rejected(f"return {target} cannot be approved: it is {status or 'not found'}")
        result = self._mutate(action, "returnApproveRequest", APPROVE_RETURN, {"input": {"id": target}})
        if not isinstance(result, dict):
            return result
        return Delivered({"return_id": target, "status": (result.get("return") or {}).get("status")})

    def check_payment(self, action: OutboxAction) -> SendResult:
        """Ask again how the order's payment stands (a query: nothing changes, so repeating it is safe)."""
        order = order_gid(action)
        reply = self._execute(action.shop, PAYMENT_STATUS, {"id": order}, action.idempotency_key)
        if not isinstance(reply, dict):
            return reply
        found = reply.get("order")
        if not isinstance(found, dict):
            return Rejected(f"no order {order} in {action.shop}")
        transactions = found.get("transactions") or []
        return Delivered({"order_id": order, "financial_status": str(found.get("displayFinancialStatus") or ""),
                          "gateways": [str(g) for g in found.get("paymentGatewayNames") or []],
                          "transactions": [{k: t.get(k) for k in ("id", "kind", "status", "gateway")}
                                           for t in transactions if isinstance(t, dict)]})
