"""Discounts at Shopify: paused (deactivated) by node id or by a code they are redeemed with; their terms read.

A discount known only by a code orders carry (created before opsdesk heard of it) is looked up by that code
(``codeDiscountNodeByCode``) before it is deactivated; deactivating one twice changes nothing. Its terms (value,
end, combinations, usage limit and reach) are read for the discount guard's preflight. ``ShopifyAdmin`` sends
them through its own client.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from opsdesk.connectors.shopify_holds import Mutate
from opsdesk.connectors.shopify_reads import Execute
from opsdesk.domain.errors import InvalidPayload, NotFound, Unavailable
from opsdesk.domain.outbox import Delivered, Rejected, SendResult
from opsdesk.domain.records import OutboxAction

JSON = dict[str, Any]

DEACTIVATE_CODE = """mutation DeactivateCode($id: ID!) {
  discountCodeDeactivate(id: $id) { codeDiscountNode { id } userErrors { field message code } }
}"""
DEACTIVATE_AUTOMATIC = """mutation DeactivateAutomatic($id: ID!) {
  discountAutomaticDeactivate(id: $id) { automaticDiscountNode { id } userErrors { field message code } }
}"""
#: A code discount by one of its redeem codes (Shopify matches codes in any letter case).
DISCOUNT_BY_CODE = """query DiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) { id }
}"""
DISCOUNT_TERMS = """query DiscountTerms($id: ID!) {
  discountNode(id: $id) { id discount { __typename
    ... on DiscountCodeBasic { title status endsAt usageLimit asyncUsageCount codes(first: 10) { nodes { code } }
      combinesWith { orderDiscounts productDiscounts shippingDiscounts } customerGets { ...Gets } }
    ... on DiscountAutomaticBasic { title status endsAt asyncUsageCount
      combinesWith { orderDiscounts productDiscounts shippingDiscounts } customerGets { ...Gets } } } }
}
fragment Gets on DiscountCustomerGets {
  value { __typename ... on DiscountPercentage { percentage }
    ... on DiscountAmount { amount { amount currencyCode } appliesOnEachItem } }
  items { __typename ... on AllDiscountItems { allItems } }
}"""

DEACTIVATIONS = {
    "DiscountCodeNode": ("discountCodeDeactivate", DEACTIVATE_CODE),
    "DiscountAutomaticNode": ("discountAutomaticDeactivate", DEACTIVATE_AUTOMATIC),
}
DISCOUNT_GID = re.compile(r"^gid://shopify/(DiscountCodeNode|DiscountAutomaticNode)/\d+$")


class Discounts:
    """``deactivate_discount`` and the reading of a discount's terms, over the connector's execute and mutate."""

    def __init__(self, execute: Execute, mutate: Mutate) -> None:
        self._execute = execute
        self._mutate = mutate

    def terms(self, shop: str, discount_gid: str) -> JSON:
        """The discount's value, end, combinations, usage limit and reach; raises NotFound or Unavailable."""
        reply = self._execute(shop, DISCOUNT_TERMS, {"id": discount_gid}, None)
        if not isinstance(reply, dict):
            raise Unavailable(f"shopify could not read discount {discount_gid}: {reply.reason}")
        node = reply.get("discountNode")
        if not isinstance(node, dict):
            raise NotFound(f"no discount {discount_gid} in {shop}")
        return _terms(node)

    def deactivate(self, action: OutboxAction) -> SendResult:
        """Deactivate the discount the payload names by its node id, or else by one of its codes (a
        discount created before opsdesk heard of it is known only by the code orders carry)."""
        discount = str(action.payload.get("discount_id") or "")
        code = str(action.payload.get("code") or "").strip()
        if not discount and code:
            found = self._discount_by_code(action.shop, code)
            if not isinstance(found, str):
                return found
            discount = found
        match = DISCOUNT_GID.match(discount)
        if match is None:
            raise InvalidPayload(f"not a discount node id: {discount!r}")
        field, query = DEACTIVATIONS[match.group(1)]
        result = self._mutate(action, field, query, {"id": discount}, frozenset())
        if not isinstance(result, dict):
            return result
        return Delivered({"discount_id": discount, "active": False, **({"code": code} if code else {})})

    def _discount_by_code(self, shop: str, code: str) -> str | SendResult:
        """The node id of the code discount redeemed with ``code``, or why there is none."""
        reply = self._execute(shop, DISCOUNT_BY_CODE, {"code": code}, None)
        if not isinstance(reply, dict):
            return reply
        node = reply.get("codeDiscountNodeByCode")
        if not isinstance(node, dict) or not node.get("id"):
            return Rejected(f"no code discount {code!r} in {shop}")
        return str(node["id"])


def _terms(node: JSON) -> JSON:
    discount = node.get("discount") or {}
    gets = discount.get("customerGets") or {}
    value, items = gets.get("value") or {}, gets.get("items") or {}
    money, combines = value.get("amount") or {}, discount.get("combinesWith") or {}
    return {
        "id": node.get("id"),
        "type": discount.get("__typename"),
        "title": discount.get("title"),
        "status": discount.get("status"),
        # Shopify gives a percentage as a fraction (0.25 is 25 % off); kept as it comes.
        "percentage": _decimal(value.get("percentage")),
        "amount": _decimal(money.get("amount")),
        "currency": money.get("currencyCode"),
        "applies_on_each_item": value.get("appliesOnEachItem"),
        "applies_to_all_items": bool(items.get("allItems")),
        "ends_at": _datetime(discount.get("endsAt")),
        "usage_limit": discount.get("usageLimit"),
        "usage_count": discount.get("asyncUsageCount"),
        "codes": [
            str(n.get("code")) for n in (discount.get("codes") or {}).get("nodes") or [] if n.get("code")
        ],
        "combines_with": {
            "order": bool(combines.get("orderDiscounts")),
            "product": bool(combines.get("productDiscounts")),
            "shipping": bool(combines.get("shippingDiscounts")),
        },
    }


def _decimal(value: object) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _datetime(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC) if value else None
    except ValueError:
        return None
