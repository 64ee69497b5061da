"""The fake Admin API's carrier events: ``fulfillment(id:) { events }``, as the reconciliation sweep reads them.

Kept apart from the store's other reads so that a test can hold the events Shopify would have for a fulfilment
(``put``: the ``fulfillment_events/create`` webhook's body; ``delete``) and the sweep read them back as Admin GraphQL
``FulfillmentEvent`` nodes, oldest first by ``happenedAt``, a page at a time (the store's ``shaped`` cuts the
connection to the query's ``first`` from its ``after`` cursor, as for an order's connections).
"""

from __future__ import annotations

import json
from typing import Any

from opsdesk.fakes.shopify_graphql import utc_time

__all__ = ["FulfilmentEvents", "graphql_fulfilment_event"]

JSON = dict[str, Any]


class FulfilmentEvents:
    """The carrier events of each fulfilment, by the fulfilment's id; the store's lock guards them."""

    def __init__(self) -> None:
        self._events: dict[int, dict[int, JSON]] = {}

    def put(self, payload: JSON) -> None:
        """Hold a carrier event (the ``fulfillment_events/create`` body) on its fulfilment; the same id replaces."""
        found = json.loads(json.dumps(payload, default=str))
        self._events.setdefault(int(found["fulfillment_id"]), {})[int(found["id"])] = found

    def delete(self, event_id: int) -> None:
        """Delete a carrier event, as a merchant does in the admin; its fulfilment stays, with the others."""
        for held in self._events.values():
            held.pop(event_id, None)

    def fulfillment(self, v: JSON) -> tuple[JSON | None, None]:
        """``fulfillment(id:)`` with all its ``events`` (``sortKey: HAPPENED_AT``); None for one without any."""
        number = int(str(v["id"]).rsplit("/", 1)[-1])
        held = self._events.get(number)
        if held is None:
            return None, None
        ordered = sorted(held.values(), key=lambda e: (utc_time(str(e["happened_at"])), int(e["id"])))
        # Every event: the store cuts the connection to the query's ``first`` from its ``after`` (``shaped``).
        nodes = [graphql_fulfilment_event(e) for e in ordered]
        return {"id": f"gid://shopify/Fulfillment/{number}", "events": {"nodes": nodes}}, None


def graphql_fulfilment_event(e: JSON) -> JSON:
    """A ``fulfillment_events/create`` body as the Admin GraphQL ``FulfillmentEvent`` node (status in upper case)."""

    def stamp(value: object) -> str | None:
        return utc_time(str(value)).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None

    return {
        "id": f"gid://shopify/FulfillmentEvent/{e['id']}",
        "status": str(e.get("status") or "").upper(),
        "message": e.get("message"),
        "happenedAt": stamp(e.get("happened_at")),
        "createdAt": stamp(e.get("created_at")),
        "estimatedDeliveryAt": stamp(e.get("estimated_delivery_at")),
        "city": e.get("city"),
        "province": e.get("province"),
        "country": e.get("country"),
        "zip": e.get("zip"),
        "address1": e.get("address1"),
        "latitude": e.get("latitude"),
        "longitude": e.get("longitude"),
    }
