"""A shop's webhook subscriptions through the Admin GraphQL API: read them all, create one, point one elsewhere.

``webhookSubscriptions(first:, after:)`` is a connection, read page by page from its cursor;
``webhookSubscriptionCreate(topic:, webhookSubscription:)`` and ``webhookSubscriptionUpdate(id:,
webhookSubscription:)`` take a ``WebhookSubscriptionInput``. From API version 2025-10 the address is its
``uri`` (and the subscription's ``uri``); before, ``callbackUrl``, deprecated since (ADR 0038). Answers are
read as every other call of the connector's (``ShopifyAdmin._execute``: its token, cost buckets and errors);
``userErrors`` (a topic whose scope the app lacks, an address already taken) are Rejected with their message.
"""

from __future__ import annotations

from typing import Any

from opsdesk.connectors.shopify_errors import error_message
from opsdesk.connectors.shopify_reads import Execute, Reply
from opsdesk.domain.outbox import Rejected, RetryLater

JSON = dict[str, Any]
#: The first API version whose ``WebhookSubscriptionInput`` and ``WebhookSubscription`` have ``uri``.
URI_SINCE = "2025-10"
#: Subscriptions read a page (Shopify's connections give at most 250): 2 + 100 points.
PAGE = 100


class WebhookSubscriptions:
    """The webhook subscription calls for any number of shops, through one connector's ``execute``."""

    def __init__(self, execute: Execute, api_version: str) -> None:
        self._execute = execute
        self._field = "uri" if api_version == "unstable" or api_version >= URI_SINCE else "callbackUrl"
        subscription = f"id topic {self._field}"
        self._list = f"""query WebhookSubscriptions($first: Int!, $after: String) {{
  webhookSubscriptions(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }} nodes {{ {subscription} }} }}
}}"""
        self._create = f"""mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!,
    $webhookSubscription: WebhookSubscriptionInput!) {{
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {{
    webhookSubscription {{ {subscription} }} userErrors {{ field message }} }}
}}"""
        self._update = f"""mutation WebhookSubscriptionUpdate($id: ID!,
    $webhookSubscription: WebhookSubscriptionInput!) {{
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $webhookSubscription) {{
    webhookSubscription {{ {subscription} }} userErrors {{ field message }} }}
}}"""

    def subscriptions(self, shop: str) -> list[JSON] | RetryLater | Rejected:
        """Every subscription the app made for the shop through the API, as ``{"id", "topic", "uri"}``."""
        found: list[JSON] = []
        after: str | None = None
        while True:
            reply = self._execute(shop, self._list, {"first": PAGE, "after": after}, None)
            if not isinstance(reply, dict):
                return reply
            page = reply.get("webhookSubscriptions") or {}
            found += [self._read(node) for node in page.get("nodes") or []]
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return found
            if info.get("endCursor") in (None, after):
                return Rejected("webhookSubscriptions: the next page has no new cursor")
            after = str(info["endCursor"])

    def create(self, shop: str, topic: str, uri: str) -> Reply:
        """Subscribe ``topic`` (Shopify's enum: ``ORDERS_CREATE``) to ``uri``: the new subscription, or why not."""
        variables = {"topic": topic, "webhookSubscription": {self._field: uri, "format": "JSON"}}
        return self._mutate(shop, "webhookSubscriptionCreate", self._create, variables)

    def update(self, shop: str, subscription_id: str, uri: str) -> Reply:
        """Point the subscription at ``uri``: the subscription, or why not."""
        variables = {"id": subscription_id, "webhookSubscription": {self._field: uri}}
        return self._mutate(shop, "webhookSubscriptionUpdate", self._update, variables)

    def _mutate(self, shop: str, field: str, query: str, variables: JSON) -> Reply:
        # No idempotency key: the caller read the subscriptions first, and Shopify refuses a second subscription
        # of a topic to the same address (a userError), so a mutation repeated after a lost answer adds nothing.
        reply = self._execute(shop, query, variables, None)
        if not isinstance(reply, dict):
            return reply
        payload = reply.get(field)
        if not isinstance(payload, dict):
            return Rejected(f"{field} answered without a payload")
        errors = payload.get("userErrors") or []
        if errors:
            return Rejected("; ".join(error_message(e) for e in errors))
        return self._read(payload.get("webhookSubscription") or {})

    def _read(self, node: JSON) -> JSON:
        return {"id": str(node.get("id") or ""), "topic": str(node.get("topic") or ""),
                "uri": str(node.get(self._field) or "")}
