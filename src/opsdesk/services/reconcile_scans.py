"""A fulfilment's carrier events as Shopify has them, as the ``fulfillment_events/create`` deliveries they were.

The carrier-delays playbook decides ``fulfillment_event.created``: a delay tells the customer, a failed delivery
opens a case. Shopify sends that webhook and a ``fulfillments/update`` for each carrier event; when the first is
lost, the second (or the sweep's recovered ``fulfillments/update``) moves the shipment status but decides nothing
the playbook listens to. So the sweep reads the carrier events (``Fulfillment.events``) of each fulfilment changed
in its window at a carrier's status, and appends each one no listener decided as the webhook Shopify would have
sent, with the webhook's event key (``fulfillment_event.created:<id>``, no time): the real webhook, before or after
the sweep, is then the same event and is decided once (ADR 0040).

A lost ``fulfillment_events/delete`` is recovered from the same reads: a scan the desk held before them, of a
fulfilment whose events were all read, that Shopify no longer has, was deleted; it gets the delete webhook Shopify
would have sent, with its event key (``fulfillment_event.deleted:<id>``), and is folded as that webhook is
(ADR 0065, amended in session 14).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opsdesk.domain.orders import OrderState
from opsdesk.services.reconcile_payloads import fulfilment_payload, gid_number, parse_utc
from opsdesk.services.reconcile_versions import Version, version_of

__all__ = ["DELETE_TOPIC", "TOPIC", "carrier_event_payload", "carrier_event_versions", "scanned",
           "withdrawn_versions"]

JSON = dict[str, Any]
TOPIC = "fulfillment_events/create"
DELETE_TOPIC = "fulfillment_events/delete"


def scanned(order: JSON, since: datetime) -> list[tuple[int, JSON]]:
    """The order's fulfilments (listed or read whole) whose carrier events the sweep reads, with the order's id:
    those changed at or after ``since`` whose display status is a carrier's (not FULFILLED, SUBMITTED, ...)."""
    order_id = int(order.get("legacyResourceId") or gid_number(order.get("id")) or 0)
    found: list[tuple[int, JSON]] = []
    for node in order.get("fulfillments") or []:
        changed = parse_utc(node.get("updatedAt"))
        if (
            order_id
            and changed is not None
            and changed >= since
            and fulfilment_payload(order_id, node)["shipment_status"]
        ):
            found.append((order_id, node))
    return found


def carrier_event_versions(
    shop: str, order_id: int, fulfilment: JSON, events: Sequence[JSON]
) -> list[Version]:
    """The fulfilment's carrier events as webhook deliveries, the newest first. Each is appended when no listener
    decided it, even one that happened before the parcel's delivery: the pipeline decides each event with what it
    folded before it, so newest first every recovered scan is decided knowing the later ones (a delay before a
    later movement or the delivery is superseded: ``domain.orders.superseded``, ADR 0065), as a late real webhook
    is too."""
    fulfillment_id = int(fulfilment.get("legacyResourceId") or gid_number(fulfilment.get("id")) or 0)
    payloads = sorted(
        (carrier_event_payload(order_id, fulfillment_id, e) for e in events),
        key=lambda p: (parse_utc(p["happened_at"]) or datetime.min.replace(tzinfo=UTC), p["id"]),
        reverse=True,
    )
    found: list[Version] = []
    for payload in payloads:
        found += filter(
            None,
            [version_of(shop, order_id, f"carrier_event:{payload['id']}", TOPIC, payload, "happened_at")],
        )
    return found


def withdrawn_versions(
    shop: str, order_id: int, fulfilment: JSON, events: Sequence[JSON], held: OrderState | None, listed_at: datetime
) -> list[Version]:
    """The ``fulfillment_events/delete`` deliveries of the scans of ``fulfilment`` that the desk ``held`` (its
    projection read before ``events``, all the fulfilment has, were), standing, and that Shopify no longer has; none
    that happened after ``listed_at``. Each is dated by the fulfilment's ``updatedAt`` (the delete's time is not
    read back; no report of the fulfilment the desk holds is newer), so every sweep gives it the same webhook id."""
    fulfillment_id = int(fulfilment.get("legacyResourceId") or gid_number(fulfilment.get("id")) or 0)
    updated = parse_utc(fulfilment.get("updatedAt"))
    if held is None or not fulfillment_id or updated is None:
        return []
    listed = {gid_number(e.get("id")) for e in events}
    found: list[Version] = []
    for event_id, scan in sorted(held.scans.items()):
        if (scan.fulfillment_id != fulfillment_id or event_id in listed or event_id in held.withdrawn
                or scan.at > listed_at):
            continue
        happened = scan.at.isoformat()
        payload = {"id": event_id, "fulfillment_id": fulfillment_id, "order_id": order_id, "status": scan.status,
                   "happened_at": happened, "created_at": happened, "updated_at": happened,
                   "admin_graphql_api_id": f"gid://shopify/FulfillmentEvent/{event_id}"}
        found += filter(None, [version_of(shop, order_id, f"carrier_event:{event_id}:deleted", DELETE_TOPIC, payload,
                                          at=updated)])
    return found


def carrier_event_payload(order_id: int, fulfillment_id: int, node: JSON) -> JSON:
    """An Admin GraphQL ``FulfillmentEvent`` as the ``fulfillment_events/create`` webhook's body (Shopify's sample:
    the REST ``status`` is the enum in lower case)."""
    number = gid_number(node.get("id")) or 0
    status = node.get("status")
    return {
        "id": number,
        "fulfillment_id": fulfillment_id,
        "order_id": order_id,
        "status": str(status).lower() if status else None,
        "message": node.get("message"),
        "happened_at": node.get("happenedAt"),
        "city": node.get("city"),
        "province": node.get("province"),
        "country": node.get("country"),
        "zip": node.get("zip"),
        "address1": node.get("address1"),
        "latitude": node.get("latitude"),
        "longitude": node.get("longitude"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("createdAt"),
        "estimated_delivery_at": node.get("estimatedDeliveryAt"),
        "admin_graphql_api_id": f"gid://shopify/FulfillmentEvent/{number}",
    }
