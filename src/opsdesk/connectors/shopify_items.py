"""Inventory items read from Shopify: the SKU of an item the desk has only seen in stock levels.

An ``inventory_levels/update`` webhook names its item by id only; the SKU (what orders name) comes with
``inventory_items/*`` webhooks, which a store sends when an item changes. Items unchanged since opsdesk was
connected never send one, so the desk asks for the item (``read_inventory_item``) when it needs its SKU: a stock
level fell below zero and the orders holding it must be found. A query: repeating it is safe.
"""

from __future__ import annotations

from opsdesk.connectors.shopify_ids import gid
from opsdesk.connectors.shopify_reads import Execute
from opsdesk.domain.outbox import Delivered, Rejected, SendResult
from opsdesk.domain.records import OutboxAction

INVENTORY_ITEM = """query InventoryItem($id: ID!) {
  inventoryItem(id: $id) { id legacyResourceId sku tracked }
}"""


def read_item(execute: Execute, action: OutboxAction) -> SendResult:
    """The item's SKU and whether Shopify tracks its stock; Rejected when the shop has no such item."""
    item = gid("InventoryItem", action.payload.get("inventory_item_id"))
    reply = execute(action.shop, INVENTORY_ITEM, {"id": item}, action.idempotency_key)
    if not isinstance(reply, dict):
        return reply
    found = reply.get("inventoryItem")
    if not isinstance(found, dict):
        return Rejected(f"no inventory item {item} in {action.shop}")
    return Delivered({"inventory_item_id": item, "sku": str(found.get("sku") or ""),
                      "tracked": bool(found.get("tracked", True))})
