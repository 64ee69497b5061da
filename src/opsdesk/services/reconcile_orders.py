"""Orders, their fulfilments, refunds and requested returns, as Shopify has them now, compared with the desk.

Each is a *version*: the webhook delivery that would have reported it, with the event the normaliser makes of
it. One the projection does not hold is *missing*; one it holds at an older time *stale*; one it holds at this
time whose event no listener decided *undecided*: each of those gets a synthetic delivery. A refund never
changes once made (no ``refunds/update``), so it is compared by existence and is never stale. So is a return
still ``REQUESTED``, as the ``returns/request`` that would have reported it (its key ``return.requested:<id>``
has no time); a return that moved on (approved, declined, closed) was acted on by a person in Shopify, and
deciding it as a request now could refund a return that was declined: it is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.records import RawDelivery
from opsdesk.normalise.shopify import normalise
from opsdesk.ports import UnitOfWork
from opsdesk.services.pipeline_batch import decision_id
from opsdesk.services.reconcile_append import Comparison
from opsdesk.services.reconcile_payloads import (
    connection_nodes,
    fulfilment_payload,
    gid_number,
    parse_utc,
    refund_payload,
    return_payload,
    synthetic_delivery,
    webhook_payload,
)
from opsdesk.services.reconcile_report import SweepReport

__all__ = ["FULFILMENT_TOPIC", "REFUND_TOPIC", "RETURN_TOPIC", "TOPIC", "OrderComparison", "Version", "listed_versions",
           "whole_versions"]

TOPIC = "orders/updated"
FULFILMENT_TOPIC = "fulfillments/update"
REFUND_TOPIC = "refunds/create"
RETURN_TOPIC = "returns/request"
#: ``Order.returnStatus`` of an order without returns: any other value, and the order is read whole.
NO_RETURN = "NO_RETURN"
JSON = dict[str, Any]


class OrderComparison(Comparison):
    """Compares listed and whole-read orders with the desk, and appends what it is behind on."""

    def behind(self, shop: str, nodes: Sequence[JSON], report: SweepReport, most_listed: int) -> list[str]:
        """The ids of the listed orders to read whole: those whose order, listed refunds or listed fulfilments
        the desk is behind on, those that may have more refunds or fulfilments than were listed, and those
        with returns (the listing cannot carry them under the cost limit; ``returnStatus`` says there are)."""
        listed: dict[str, list[Version]] = {}
        for node in nodes:
            report.seen += 1
            versions = listed_versions(shop, node)
            if versions is None:
                report.unreadable += 1
            else:
                listed[str(node.get("id"))] = versions
        with self.db.unit_of_work(read_only=True) as uow:
            late = {v.order_id for v, _, _ in self._classify(uow, shop, [v for vs in listed.values() for v in vs])}
        full = {str(n.get("id")) for n in nodes
                if max(len(n.get("refunds") or []), len(n.get("fulfillments") or [])) >= most_listed
                or n.get("returnStatus") not in (None, NO_RETURN)}
        behind = [gid for gid, vs in listed.items() if vs[0].order_id in late or gid in full]
        report.refunds_seen += sum(len(n.get("refunds") or []) for n in nodes if str(n.get("id")) not in behind)
        report.orders_read += len(behind)
        return behind

    def _classify(self, uow: UnitOfWork, shop: str, found: Sequence[Version]
                  ) -> list[tuple[Version, str, datetime | None]]:
        """Each version the desk is behind on, why (missing, stale, undecided) and when the desk last saw it."""
        orders = {(ShopDomain(shop), OrderId(v.order_id)) for v in found}
        states = uow.orders.get_many(orders) if orders else {}
        decided = uow.decisions.seen(
            [decision_id(shop, v.key, name) for v in found for name in self.listeners(v.event)])
        behind: list[tuple[Version, str, datetime | None]] = []
        for v in found:
            known = v.known(states.get((ShopDomain(shop), OrderId(v.order_id))))
            if known is None:
                behind.append((v, "missing", known))
            elif known < v.updated:
                behind.append((v, "stale", known))
            elif known == v.updated and not any(
                decision_id(shop, v.key, name) in decided for name in self.listeners(v.event)
            ):
                behind.append((v, "undecided", known))
        return behind

    def compare(self, shop: str, nodes: Sequence[JSON], report: SweepReport) -> None:
        """Append a delivery for every order (fulfilment, refund) read whole that is missing, stale or undecided."""
        found: list[Version] = []
        for node in nodes:
            report.refunds_seen += len(node.get("refunds") or [])
            report.returns_seen += len(connection_nodes(node.get("returns")))
            if node.get("incomplete"):
                report.incomplete.append(f"{node.get('id')}: {node['incomplete']}")
                continue
            versions = whole_versions(shop, node)
            if not versions:
                report.unreadable += 1
            found += versions
        if not found:
            return
        now = self.now()
        with self.db.unit_of_work() as uow:
            behind: list[RawDelivery] = []
            for v, reason, known in self._classify(uow, shop, found):
                report.record(reason, {"order_id": v.order_id, "resource": v.resource, "topic": v.topic,
                                       "updated_at": v.updated.isoformat(), "reason": reason,
                                       "known_at": known.isoformat() if known else None})
                behind.append(synthetic_delivery(shop, v.topic, v.resource, v.payload, v.updated, now))
            self.store(uow, behind, report)


@dataclass(frozen=True, slots=True)
class Version:
    """One resource as the Admin API has it now, as the webhook delivery that would have reported it."""

    order_id: int
    resource: str  # "order", "fulfillment:<id>", "refund:<id>" or "return:<id>"
    topic: str
    event: str  # the domain event's name, whose deciders say whether this version was heard
    key: str  # the event's key, as the pipeline will give it
    updated: datetime
    payload: JSON

    def known(self, state: OrderState | None) -> datetime | None:
        """When the desk's projection last saw this resource change (None: never)."""
        if state is None:
            return None
        if self.resource == "order":
            return state.snapshot.updated_at if state.snapshot else None
        kind, _, number = self.resource.partition(":")
        if kind in ("refund", "return"):  # compared by existence: held at all is held at this version
            held = state.refunds if kind == "refund" else state.returns
            return self.updated if int(number) in held else None
        found = state.fulfillments.get(int(number))
        return found.at if found else None


def whole_versions(shop: str, node: JSON) -> list[Version]:
    """The order, its fulfilments, its refunds and its requested returns as webhook deliveries, the order first
    (a refund or a return waits for its order in the pipeline); empty when the order cannot be read."""
    payload = webhook_payload(node)
    order = version_of(shop, int(payload["id"] or 0), "order", TOPIC, payload)
    if order is None:
        return []
    found = [order]
    for item in payload.get("fulfillments") or []:
        version = version_of(shop, order.order_id, f"fulfillment:{item['id']}", FULFILMENT_TOPIC, item)
        if version is not None:
            found.append(version)
    for item in payload.get("refunds") or []:
        version = version_of(shop, order.order_id, f"refund:{item['id']}", REFUND_TOPIC, item, "created_at")
        if version is not None:
            found.append(version)
    return found + requested_returns(shop, order.order_id, node)


def requested_returns(shop: str, order_id: int, node: JSON) -> list[Version]:
    """The order's returns still ``REQUESTED`` as ``returns/request`` deliveries, dated by their ``createdAt``."""
    found: list[Version] = []
    for item in connection_nodes(node.get("returns")):
        if item.get("status") != "REQUESTED":
            continue
        payload = return_payload(order_id, item)
        version = version_of(shop, order_id, f"return:{payload['id']}", RETURN_TOPIC, payload, "created_at")
        if version is not None:
            found.append(version)
    return found


def listed_versions(shop: str, node: JSON) -> list[Version] | None:
    """A listed order's versions as far as the listing tells them: the order's own (its event key as the
    normaliser makes it, ``order.updated:<id>:<updated_at>``; the listing lacks what the normaliser needs to
    make the whole event), then its listed fulfilments and refunds. None when the order cannot be read."""
    order_id = int(node.get("legacyResourceId") or gid_number(node.get("id")) or 0)
    updated = parse_utc(node.get("updatedAt"))
    if not order_id or updated is None:
        return None
    key = f"order.updated:{order_id}:{updated.isoformat()}"
    found = [Version(order_id, "order", TOPIC, "order.updated", key, updated, {})]
    for item in node.get("fulfillments") or []:
        payload = fulfilment_payload(order_id, item)
        resource = f"fulfillment:{payload['id']}"
        found += filter(None, [version_of(shop, order_id, resource, FULFILMENT_TOPIC, payload)])
    for item in node.get("refunds") or []:
        payload = refund_payload(order_id, item)
        found += filter(None, [version_of(shop, order_id, f"refund:{payload['id']}", REFUND_TOPIC, payload,
                                          "created_at")])
    return found


def version_of(
    shop: str, order_id: int, resource: str, topic: str, payload: JSON, stamp: str = "updated_at"
) -> Version | None:
    """The version (dated by the payload's ``stamp``), with the event the normaliser makes of it (None when
    it cannot read it)."""
    updated = parse_utc(payload.get(stamp))
    if not order_id or updated is None:
        return None
    try:
        events = normalise(topic, ShopDomain(shop), payload, updated)
    except InvalidPayload:
        return None
    if not isinstance(events, tuple) or not events:
        return None
    return Version(order_id, resource, topic, events[0].name, events[0].key, updated, payload)
