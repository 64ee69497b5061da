"""The Shopify stand-in's webhook subscriptions: kept per shop, refused when the shop lacks the topic's scope.

Answers ``webhookSubscriptions(first:, after:)`` (by id, the cursor the last id), ``webhookSubscriptionCreate``
and ``webhookSubscriptionUpdate``, taking the address as ``uri`` or ``callbackUrl`` (``WebhookSubscriptionInput``
before API 2025-10) and showing it under both. A topic whose scope the shop was not granted (``grant``) is
refused with a userError, as is a second subscription of a topic to the same address and an address that is
not HTTPS. Wired into ``ShopifyStore.execute``, which holds its lock while an operation runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from opsdesk.fakes.shopify_resources import Effect, user_error

__all__ = ["SCOPES", "WebhookSubscriptions"]

JSON = dict[str, Any]
Op = Callable[[JSON], tuple[JSON | None, Effect | None]]
#: The read scope each topic needs, by its enum's prefix (a ``write_`` scope includes its ``read_`` one).
SCOPES = {"ORDERS_": "read_orders", "REFUNDS_": "read_orders", "FULFILLMENTS_": "read_fulfillments",
          "FULFILLMENT_EVENTS_": "read_fulfillments", "FULFILLMENT_ORDERS_": "read_merchant_managed_fulfillment_orders",
          "FULFILLMENT_HOLDS_": "read_merchant_managed_fulfillment_orders", "RETURNS_": "read_returns",
          "DISPUTES_": "read_shopify_payments_disputes", "DISCOUNTS_": "read_discounts",
          "INVENTORY_": "read_inventory"}


class WebhookSubscriptions:
    """Each shop's subscriptions, in the order they were made; not thread-safe alone (the store's lock)."""

    def __init__(self) -> None:
        self._by_shop: dict[str, list[JSON]] = {}
        self._granted: dict[str, frozenset[str]] = {}  # a shop not here has every scope
        self._sequence = 0

    def op(self, shop: str, operation: str) -> Op | None:
        """The operation's handler for ``shop``, or None when it is not one of these."""
        handlers = {"webhookSubscriptions": self._page, "webhookSubscriptionCreate": self._create,
                    "webhookSubscriptionUpdate": self._update}
        handler = handlers.get(operation)
        return None if handler is None else functools.partial(handler, shop)

    def grant(self, shop: str, scopes: Iterable[str]) -> None:
        """The shop's app has only these scopes (``write_x`` counts as ``read_x`` too)."""
        self._granted[shop] = frozenset(s.replace("write_", "read_", 1) for s in scopes)

    def add(self, shop: str, topic: str, uri: str) -> str:
        """A subscription made earlier (by another run, or by hand through the API): its id."""
        return str(self._make(shop, topic, uri)["id"])

    def _make(self, shop: str, topic: str, uri: str) -> JSON:
        self._sequence += 1
        made = {"id": f"gid://shopify/WebhookSubscription/{self._sequence}", "topic": topic, "uri": uri}
        self._by_shop.setdefault(shop, []).append(made)
        return made

    def of(self, shop: str) -> list[JSON]:
        """The shop's subscriptions, ``{"id", "topic", "uri"}`` each."""
        return [dict(s) for s in self._by_shop.get(shop, [])]

    def _page(self, shop: str, v: JSON) -> tuple[JSON, None]:
        held = self._by_shop.get(shop, [])
        start = next((i + 1 for i, s in enumerate(held) if s["id"] == v.get("after")), 0) if v.get("after") else 0
        page = held[start:start + int(v.get("first") or 50)]
        info = {"hasNextPage": start + len(page) < len(held), "endCursor": page[-1]["id"] if page else None}
        return {"pageInfo": info, "nodes": [_node(s) for s in page]}, None

    def _create(self, shop: str, v: JSON) -> tuple[JSON, Effect | None]:
        topic, uri = str(v["topic"]), _address(v["webhookSubscription"])
        error = self._refusal(shop, topic, uri)
        if error is not None:
            return {"webhookSubscription": None, "userErrors": [error]}, None
        made = self._make(shop, topic, uri)
        return {"webhookSubscription": _node(made), "userErrors": []}, Effect("", "", "", made["id"],
                                                                            detail={"topic": topic, "uri": uri})

    def _update(self, shop: str, v: JSON) -> tuple[JSON, Effect | None]:
        found = next((s for s in self._by_shop.get(shop, []) if s["id"] == v["id"]), None)
        uri = _address(v["webhookSubscription"])
        error = user_error("Webhook subscription does not exist", ("id",)) if found is None \
            else self._refusal(shop, found["topic"], uri)
        if found is None or error is not None:
            return {"webhookSubscription": None, "userErrors": [error]}, None
        found["uri"] = uri
        return {"webhookSubscription": _node(found), "userErrors": []}, Effect("", "", "", found["id"],
                                                                             detail={"uri": uri})

    def _refusal(self, shop: str, topic: str, uri: str) -> JSON | None:
        scope = next((s for prefix, s in SCOPES.items() if topic.startswith(prefix)), None)
        granted = self._granted.get(shop)
        if granted is not None and scope is not None and scope not in granted:
            return user_error(f"Access denied for {topic} webhook subscription: the app needs the {scope} scope",
                              ("topic",))
        if not uri.startswith("https://"):
            return user_error("Address protocol http:// is not supported", ("webhookSubscription", "uri"))
        if any(s["topic"] == topic and s["uri"] == uri for s in self._by_shop.get(shop, [])):
            return user_error("Address for this topic has already been taken", ("webhookSubscription", "uri"))
        return None


def _address(given: JSON) -> str:
    return str(given.get("uri") or given.get("callbackUrl") or "")


def _node(held: JSON) -> JSON:
    return {**held, "callbackUrl": held["uri"]}
