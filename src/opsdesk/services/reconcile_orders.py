"""Orders, their fulfilments, refunds and returns, as Shopify has them now, compared with the desk.

Each is a *version*: the webhook delivery that would have reported it, with the event the normaliser makes of
it. One the projection does not hold is *missing*; one it holds at an older time *stale*; one it holds at this
time whose event no listener decided *undecided*: each of those gets a synthetic delivery. A refund never
changes once made (no ``refunds/update``), so it is compared by existence and is never stale. So is a return's
request (its key ``return.requested:<id>`` has no time); a return's later changes (approved, declined, closed,
...) are compared by status (``reconcile_returns``), a fulfilment by its time and its shipment status
(``reconcile_versions``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.records import RawDelivery
from opsdesk.ports import UnitOfWork
from opsdesk.services.pipeline_batch import decision_id
from opsdesk.services.reconcile_append import Comparison
from opsdesk.services.reconcile_payloads import (
    connection_nodes,
    fulfilment_payload,
    gid_number,
    parse_utc,
    refund_payload,
    synthetic_delivery,
    webhook_payload,
)
from opsdesk.services.reconcile_report import SweepReport
from opsdesk.services.reconcile_returns import REQUEST_TOPIC, return_versions
from opsdesk.services.reconcile_versions import Version, version_of

__all__ = ["FULFILMENT_TOPIC", "REFUND_TOPIC", "RETURN_TOPIC", "TOPIC", "OrderComparison", "Version", "listed_versions",
           "whole_versions"]

TOPIC = "orders/updated"
FULFILMENT_TOPIC = "fulfillments/update"
REFUND_TOPIC = "refunds/create"
RETURN_TOPIC = REQUEST_TOPIC
#: ``Order.returnStatus`` of an order without returns: any other value, and the order is read whole.
NO_RETURN = "NO_RETURN"
JSON = dict[str, Any]
#: The projections of the orders compared, by (shop, order id).
States = Mapping[tuple[ShopDomain, OrderId], OrderState]


class OrderComparison(Comparison):
    """Compares listed and whole-read orders with the desk, and appends what it is behind on."""

    def behind(self, shop: str, nodes: Sequence[JSON], report: SweepReport, most_listed: int) -> list[str]:
        """The ids of the listed orders to read whole: those whose order, listed refunds or listed fulfilments
        the desk is behind on, those that may have more refunds or fulfilments than were listed, those with
        returns (the listing cannot carry them under the cost limit; ``returnStatus`` says there are), and those
        the desk holds an open return on (a declined or closed one may leave ``returnStatus`` at ``NO_RETURN``)."""
        listed: dict[str, list[Version]] = {}
        for node in nodes:
            report.seen += 1
            versions = listed_versions(shop, node)
            if versions is None:
                report.unreadable += 1
            else:
                listed[str(node.get("id"))] = versions
        with self.db.unit_of_work(read_only=True) as uow:
            found = [v for vs in listed.values() for v in vs]
            states = self._states(uow, shop, found)
            late = {v.order_id for v, _, _ in self._classify(uow, shop, found, states)}
        late |= {state.order_id for state in states.values() if state.open_returns}
        full = {str(n.get("id")) for n in nodes
                if max(len(n.get("refunds") or []), len(n.get("fulfillments") or [])) >= most_listed
                or n.get("returnStatus") not in (None, NO_RETURN)}
        behind = [gid for gid, vs in listed.items() if vs[0].order_id in late or gid in full]
        report.refunds_seen += sum(len(n.get("refunds") or []) for n in nodes if str(n.get("id")) not in behind)
        report.orders_read += len(behind)
        return behind

    @staticmethod
    def _states(uow: UnitOfWork, shop: str, found: Sequence[Version]) -> States:
        orders = {(ShopDomain(shop), OrderId(v.order_id)) for v in found}
        return uow.orders.get_many(orders) if orders else {}

    def _classify(self, uow: UnitOfWork, shop: str, found: Sequence[Version],
                  states: States | None = None
                  ) -> list[tuple[Version, str, datetime | None]]:
        """Each version the desk is behind on, why (missing, stale, undecided) and when the desk last saw it."""
        states = self._states(uow, shop, found) if states is None else states
        decided = uow.decisions.seen(
            [decision_id(shop, v.key, name) for v in found for name in self.listeners(v.event)])
        behind: list[tuple[Version, str, datetime | None]] = []
        for v in found:
            known = v.known(states.get((ShopDomain(shop), OrderId(v.order_id))))
            if known is None:
                behind.append((v, "missing", known))
            elif known < v.updated:
                behind.append((v, "stale", known))
            elif known == v.updated and not v.since and not any(
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
        self.append(shop, found, report)

    def append(self, shop: str, found: Sequence[Version], report: SweepReport) -> None:
        """Append a delivery for each of ``found`` the desk is missing, is stale on or never decided, in order."""
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


def whole_versions(shop: str, node: JSON) -> list[Version]:
    """The order, its fulfilments, its refunds and its returns as webhook deliveries, the order first (a refund
    or a return waits for its order in the pipeline); empty when the order cannot be read."""
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
    return found + return_versions(shop, order.order_id, node, order.updated)


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
