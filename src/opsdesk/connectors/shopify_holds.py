"""Fulfilment holds at Shopify: placed under a handle that says why, released by the ids of the holds meant.

A hold goes on every fulfilment order of the order that can take one, under ``opsdesk-<purpose>``
(``opsdesk.domain.holds``, the purpose from the hold's reason), so a retry, or a second hold for the same
reason, sees it there and adds none (``DUPLICATE_FULFILLMENT_HOLD_HANDLE`` counts as placed). A release
reads the order's holds back and sends ``fulfillmentOrderReleaseHold`` with the ``holdIds`` of the desk's own
holds of the purposes its payload names (``holds``): an order held for an address and for fraud stays held
for fraud when its address hold goes, and a hold placed by hand in Shopify, or by another app, stays. A retry
finds nothing left to release. ``ShopifyAdmin`` sends them through its own client.
"""

from __future__ import annotations

from typing import Any, Protocol

from opsdesk.connectors.shopify_ids import gid, order_gid
from opsdesk.connectors.shopify_reads import Execute, Reply
from opsdesk.domain import holds
from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.outbox import Delivered, Rejected, RetryLater, SendResult
from opsdesk.domain.records import OutboxAction

JSON = dict[str, Any]


class Mutate(Protocol):
    """Runs one mutation for an action: its payload, or Rejected with the userErrors not in the codes given."""

    def __call__(
        self, action: OutboxAction, field: str, query: str, variables: JSON, done_codes: frozenset[str] = frozenset()
    ) -> Reply: ...


FULFILLMENT_ORDERS = """query FulfillmentOrders($id: ID!) {
  order(id: $id) { id fulfillmentOrders(first: 50) {
    nodes { id status supportedActions { action } fulfillmentHolds { id handle reason heldByRequestingApp } } } }
}"""
HOLD = """mutation Hold($id: ID!, $fulfillmentHold: FulfillmentOrderHoldInput!) {
  fulfillmentOrderHold(id: $id, fulfillmentHold: $fulfillmentHold) {
    fulfillmentHold { id handle } fulfillmentOrder { id status } userErrors { field message code }
  }
}"""
RELEASE = """mutation Release($id: ID!, $holdIds: [ID!]) {
  fulfillmentOrderReleaseHold(id: $id, holdIds: $holdIds) {
    fulfillmentOrder { id status } userErrors { field message code }
  }
}"""
HOLD_REASONS = frozenset({"AWAITING_PAYMENT", "AWAITING_RETURN_ITEMS", "HIGH_RISK_OF_FRAUD", "OTHER",
                          "INCORRECT_ADDRESS", "INVENTORY_OUT_OF_STOCK", "UNKNOWN_DELIVERY_DATE",
                          "ONLINE_STORE_POST_PURCHASE_CROSS_SELL"})
#: A hold with our handle already on the fulfilment order: a retry of a hold that was placed.
HELD_ALREADY = frozenset({"DUPLICATE_FULFILLMENT_HOLD_HANDLE"})
#: What a release queued before releases named their holds says (it could release a fraud hold: not sent).
UNNAMED_RELEASE = ("this release was queued before opsdesk named the holds it releases, so nothing was released: "
                   "release the hold meant in Shopify, or resolve its case again")


class FulfilmentHolds:
    """``hold_fulfillment`` and ``release_hold``, over the connector's execute and mutate."""

    def __init__(self, execute: Execute, mutate: Mutate) -> None:
        self._execute = execute
        self._mutate = mutate

    def hold(self, action: OutboxAction) -> SendResult:
        reason = str(action.payload.get("reason") or "other").upper()
        reason = reason if reason in HOLD_REASONS else "OTHER"
        handle = holds.handle(holds.purpose_of(reason))
        nodes = self._fulfillment_orders(action)
        if not isinstance(nodes, list):
            return nodes
        # Ours already there: this hold (a retry, or one placed before handles were named, under its key), or
        # another of the same purpose. The handle is unique per app, so another app's is no matter.
        placed = {handle, action.idempotency_key}
        targets = [n["id"] for n in nodes if _supports(n, "HOLD")
                   and not placed & {h.handle for h in _holds(n) if h.ours}]
        hold = {"reason": reason, "handle": handle, "notifyMerchant": False,
                "reasonNotes": str(action.payload.get("note") or "opsdesk")}
        placed_ids = []
        for target in targets:
            variables = {"id": target, "fulfillmentHold": hold}
            result = self._mutate(action, "fulfillmentOrderHold", HOLD, variables, HELD_ALREADY)
            if not isinstance(result, dict):
                return result
            placed_ids.append(str((result.get("fulfillmentHold") or {}).get("id") or ""))
        return Delivered({"held": targets, "handle": handle, "hold_ids": [i for i in placed_ids if i]})

    def release(self, action: OutboxAction) -> SendResult:
        wanted = _wanted(action)
        nodes = self._fulfillment_orders(action)
        if not isinstance(nodes, list):
            return nodes
        released: list[str] = []
        hold_ids: list[str] = []
        for node in nodes:
            ids = [h.id for h in _holds(node) if holds.released_by(h, wanted)]
            if not ids or not _supports(node, "RELEASE_HOLD"):
                continue
            variables = {"id": node["id"], "holdIds": ids}
            result = self._mutate(action, "fulfillmentOrderReleaseHold", RELEASE, variables, frozenset())
            if not isinstance(result, dict):
                return result
            released.append(node["id"])
            hold_ids += ids
        return Delivered({"released": released, "hold_ids": hold_ids, "holds": [p.value for p in wanted]})

    def _fulfillment_orders(self, action: OutboxAction) -> list[JSON] | RetryLater | Rejected:
        """The order's fulfilment orders with their holds (only the payload's one, when it names one)."""
        order = order_gid(action)
        reply = self._execute(action.shop, FULFILLMENT_ORDERS, {"id": order}, action.idempotency_key)
        if not isinstance(reply, dict):
            return reply
        nodes: list[JSON] = ((reply.get("order") or {}).get("fulfillmentOrders") or {}).get("nodes") or []
        only = action.payload.get("fulfillment_order_id")
        return nodes if not only else [n for n in nodes if n.get("id") == gid("FulfillmentOrder", only)]


def _wanted(action: OutboxAction) -> tuple[holds.HoldPurpose, ...]:
    """The purposes whose holds the release takes; raises InvalidPayload when it names none we know."""
    named = action.payload.get("holds")
    if named is None:
        raise InvalidPayload(UNNAMED_RELEASE)
    try:
        wanted = holds.purposes(named if isinstance(named, list) else [named])
    except ValueError:
        raise InvalidPayload(f"release_hold names holds opsdesk does not place: {named!r}") from None
    if not wanted:
        raise InvalidPayload("release_hold names no hold to release")
    return wanted


def _holds(node: JSON) -> list[holds.Hold]:
    return [holds.Hold(str(h.get("id") or ""), str(h.get("handle") or ""), str(h.get("reason") or ""),
                       bool(h.get("heldByRequestingApp"))) for h in node.get("fulfillmentHolds") or []]


def _supports(node: JSON, action: str) -> bool:
    return action in {a.get("action") for a in node.get("supportedActions") or []}
