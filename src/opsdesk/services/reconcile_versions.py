"""One resource as the Admin API has it now, as the delivery that would have reported it, and what the desk holds.

A version is *missing* when the projection does not hold it, *stale* when it holds it at an older time. Most are
compared by time; refunds and requested returns, whose event keys have no time, by existence; a return's later
change by status (``reconcile_returns``); a fulfilment by time and by its shipment status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import ShopDomain
from opsdesk.domain.orders import OrderState, Versioned
from opsdesk.normalise.shopify import normalise
from opsdesk.services.reconcile_payloads import parse_utc

__all__ = ["Version", "return_status", "version_of"]

JSON = dict[str, Any]
#: Just before a version: what the desk is said to know of a fulfilment held at this version without its shipment
#: status (stored before the desk kept it, or sent without one), so that the comparison counts it stale.
_TICK = timedelta(microseconds=1)
#: The desk's return statuses (the webhooks' ``status``, lower case) as Shopify's ``ReturnStatus``.
_RETURN_STATUS = {"requested": "REQUESTED", "open": "OPEN", "approved": "OPEN", "declined": "DECLINED",
                  "canceled": "CANCELED", "cancelled": "CANCELED", "closed": "CLOSED"}


def return_status(status: object) -> str | None:
    """A return's status as Shopify's enum (None: none; one we do not know, upper case as it is)."""
    return None if status is None else _RETURN_STATUS.get(str(status).lower(), str(status).upper())


@dataclass(frozen=True, slots=True)
class Version:
    """One resource as the Admin API has it now, as the webhook delivery that would have reported it."""

    order_id: int
    #: "order", "fulfillment:<id>", "refund:<id>", "return:<id>[:<change>]", "carrier_event:<id>[:deleted]"
    resource: str
    topic: str
    event: str  # the domain event's name, whose deciders say whether this version was heard
    key: str  # the event's key, as the pipeline will give it
    updated: datetime
    payload: JSON
    #: A return's change: the desk's statuses (``return_status``; None: never heard of it, "*": any other than
    #: the change's) it leads on from. Empty for the other resources.
    since: frozenset[str | None] = field(default=frozenset())

    def known(self, state: OrderState | None) -> datetime | None:
        """When the desk's projection last saw this resource change (None: never). A return's change the desk
        does not need (its status is not one the change leads on from) counts as known at this version."""
        kind, _, rest = self.resource.partition(":")
        if self.since:
            return self._return_change(state.returns.get(int(rest.partition(":")[0])) if state else None)
        if state is None:
            return None
        if self.resource == "order":
            return state.snapshot.updated_at if state.snapshot else None
        if kind in ("refund", "return"):  # compared by existence: held at all is held at this version
            held = state.refunds if kind == "refund" else state.returns
            return self.updated if int(rest) in held else None
        if kind == "carrier_event":  # created: whether it was decided tells; deleted: whether the desk withdrew it
            event_id, _, deleted = rest.partition(":")
            return None if deleted and int(event_id) not in state.withdrawn else self.updated
        found = state.fulfillments.get(int(rest))
        if found is None:
            return None
        if any(w.scan.fulfillment_id == int(rest) and w.scan.status == self.payload.get("shipment_status")
               and w.deleted_at >= self.updated for w in state.withdrawn.values()):
            return found.at  # its shipment status mirrors a scan deleted since: the fold would not count it
        return self._shipment(state.shipments.get(int(rest)), found.at)

    def _return_change(self, held: Versioned | None) -> datetime | None:
        status = return_status(held.status) if held else None
        target = return_status(self.payload.get("status"))
        if status == target or not (status in self.since or "*" in self.since):
            return self.updated
        return held.at if held else None

    def _shipment(self, held: Versioned | None, at: datetime) -> datetime:
        """The fulfilment's time, or its shipment status's when that is older than this version and not Shopify's
        (a lost carrier scan or update): a shipment status the desk got later than this version is left alone."""
        shipment = self.payload.get("shipment_status")
        if not shipment or (held is not None and (held.status == shipment or held.at >= self.updated)):
            return at
        return min(at, held.at) if held else min(at, self.updated - _TICK)


def version_of(
    shop: str, order_id: int, resource: str, topic: str, payload: JSON, stamp: str = "updated_at", *,
    at: datetime | None = None, since: frozenset[str | None] = frozenset(),
) -> Version | None:
    """The version (dated ``at``, else by the payload's ``stamp``), with the event the normaliser makes of it
    (None when it cannot read it)."""
    updated = at or parse_utc(payload.get(stamp))
    if not order_id or updated is None:
        return None
    try:
        events = normalise(topic, ShopDomain(shop), payload, updated)
    except InvalidPayload:
        return None
    if not isinstance(events, tuple) or not events:
        return None
    return Version(order_id, resource, topic, events[0].name, events[0].key, updated, payload, since)
