"""The webhook subscription calls' GraphQL shapes per API version (ADR 0038): ``uri`` from 2025-10,
``callbackUrl`` before, the topic as Shopify's enum; read from the requests the connector really sends."""

from __future__ import annotations

import json

import httpx
import pytest

from opsdesk.connectors.shopify import ShopifyAdmin

SHOP = "shop.myshopify.com"
URL = "https://desk.example.com/webhooks/shopify"


def _connector(sent: list[dict[str, object]]) -> ShopifyAdmin:
    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sent.append(body)
        payload = {"webhookSubscription": {"id": "gid://shopify/WebhookSubscription/7", "topic": "ORDERS_CREATE",
                                           "uri": URL, "callbackUrl": URL}, "userErrors": []}
        return httpx.Response(200, json={"data": {"webhookSubscriptionCreate": payload}})

    return ShopifyAdmin(lambda shop: f"https://{shop}/admin/api/v/graphql.json", lambda shop: "token",
                        transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(("version", "field"), [("2026-07", "uri"), ("2025-10", "uri"), ("unstable", "uri"),
                                                ("2025-07", "callbackUrl"), ("2025-04", "callbackUrl")])
def test_the_address_goes_as_uri_from_2025_10_and_as_callback_url_before(version: str, field: str) -> None:
    sent: list[dict[str, object]] = []
    with _connector(sent) as shopify:
        made = shopify.webhook_subscriptions(version).create(SHOP, "ORDERS_CREATE", URL)
    assert made == {"id": "gid://shopify/WebhookSubscription/7", "topic": "ORDERS_CREATE", "uri": URL}
    assert sent[0]["variables"] == {"topic": "ORDERS_CREATE", "webhookSubscription": {field: URL, "format": "JSON"}}
    assert f"webhookSubscription {{ id topic {field} }}" in str(sent[0]["query"])
