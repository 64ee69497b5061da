"""Which held scans the sweep takes for deleted (ADR 0065, amended in session 14): of the fulfilment read, standing,
missing from its events, and none that happened after the events were read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsdesk.domain.events import StoreEvent
from opsdesk.normalise import normalise
from opsdesk.services.reconcile_scans import withdrawn_versions
from tests.samples import sample
from tests.unit.test_carrier_statuses import AT, FULFILMENT, ORDER, SHOP, fold, scan

OTHER = 8_400_000_002
LISTED = AT + timedelta(hours=2)
READ = {"id": f"gid://shopify/Fulfillment/{FULFILMENT}", "updatedAt": "2026-03-02T10:30:00Z"}


def node(event_id: int) -> dict[str, str]:
    return {"id": f"gid://shopify/FulfillmentEvent/{event_id}", "status": "IN_TRANSIT"}


def held_events() -> list[StoreEvent]:
    return [scan(1, "in_transit", 0), scan(2, "delivered", 60), scan(3, "delayed", 30, OTHER)]


def test_a_held_scan_shopify_no_longer_lists_is_deleted_as_its_webhook_would_say() -> None:
    held = fold(*held_events())
    [version] = withdrawn_versions(SHOP, ORDER, READ, [node(1)], held, LISTED)
    assert (version.resource, version.topic, version.key) == (
        "carrier_event:2:deleted", "fulfillment_events/delete", "fulfillment_event.deleted:2")
    assert version.updated == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)  # the fulfilment's updatedAt
    # The body reads as Shopify's sample does: the deleted scan as it was.
    events = normalise("fulfillment_events/delete", SHOP, {**sample("fulfillment_events/delete"), **version.payload},
                       version.updated)
    assert isinstance(events, tuple)
    assert fold(*held_events(), *events).shipments[FULFILMENT].status == "in_transit"


def test_no_scan_listed_already_deleted_or_newer_than_the_listing_is_taken_for_deleted() -> None:
    deleted = normalise("fulfillment_events/delete", SHOP, {
        **sample("fulfillment_events/delete"), "id": 2, "fulfillment_id": FULFILMENT, "order_id": ORDER,
        "status": "delivered", "happened_at": (AT + timedelta(minutes=60)).isoformat()}, AT + timedelta(minutes=90))
    assert isinstance(deleted, tuple)
    held = fold(scan(1, "in_transit", 0), scan(2, "delivered", 60), *deleted, scan(4, "out_for_delivery", 121))
    assert withdrawn_versions(SHOP, ORDER, READ, [node(1)], held, LISTED) == []
    assert withdrawn_versions(SHOP, ORDER, READ, [], None, LISTED) == []  # the desk holds nothing of the order
