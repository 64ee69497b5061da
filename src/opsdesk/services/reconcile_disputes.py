"""Shopify Payments disputes, as Shopify has them now, compared with what the desk holds.

Shopify's dispute search has no ``updated_at``, so the sweep re-reads a window of them (ADR 0015, amendment
disputes). One the desk never heard of (not on its order's projection, no decision on its version through
either topic) gets a ``disputes/create``; one it holds at an older version (status and the latest of
``finalized_on``, ``evidence_sent_on``, ``initiated_at``), or whose version was never decided, a
``disputes/update``. The event key is the webhook's, so a late real webhook for the version is decided once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import DisputeChanged, ShopDomain
from opsdesk.domain.records import RawDelivery
from opsdesk.normalise.shopify import normalise
from opsdesk.services.pipeline_batch import decision_id
from opsdesk.services.reconcile_append import Comparison
from opsdesk.services.reconcile_payloads import as_object, gid_number, rest_enum, synthetic_delivery
from opsdesk.services.reconcile_report import SweepReport

__all__ = ["DISPUTE_CREATED", "DISPUTE_UPDATED", "DisputeComparison", "dispute_event", "dispute_payload"]

DISPUTE_CREATED = "disputes/create"
DISPUTE_UPDATED = "disputes/update"
JSON = dict[str, Any]


class DisputeComparison(Comparison):
    """Compares the disputes read with the desk, and appends what it is behind on."""

    def compare(self, shop: str, nodes: Sequence[JSON], report: SweepReport) -> None:
        """Append a ``disputes/create`` for every dispute here the desk never heard of, and a
        ``disputes/update`` for one it holds at an older version (or whose version was never decided)."""
        found: list[tuple[JSON, DisputeChanged]] = []
        for node in nodes:
            report.disputes_seen += 1
            payload = dispute_payload(node)
            event = dispute_event(shop, payload)
            if event is None:
                report.unreadable += 1
            else:
                found.append((payload, event))
        if not found:
            return
        orders = {(ShopDomain(shop), e.order) for _, e in found if e.order is not None}
        now = self.now()
        with self.db.unit_of_work() as uow:
            states = uow.orders.get_many(orders)
            ids = {e.dispute_id: self._decisions(shop, e) for _, e in found}
            decided = uow.decisions.seen([i for found_ids in ids.values() for i in found_ids])
            behind: list[RawDelivery] = []
            for payload, e in found:
                state = states.get((ShopDomain(shop), e.order)) if e.order is not None else None
                held = state.disputes.get(e.dispute_id) if state is not None else None
                known = (held.at, held.status) if held is not None else None
                heard = not decided.isdisjoint(ids[e.dispute_id])
                if known is None and not heard:
                    reason, topic = "missing", DISPUTE_CREATED
                elif known is not None and known < (e.occurred_at, e.status):
                    reason, topic = "stale", DISPUTE_UPDATED
                elif known == (e.occurred_at, e.status) and not heard:
                    reason, topic = "undecided", DISPUTE_UPDATED
                else:
                    continue
                report.record(reason, {"order_id": e.order, "resource": f"dispute:{e.dispute_id}", "topic": topic,
                                       "updated_at": e.occurred_at.isoformat(), "reason": reason,
                                       "known_at": known[0].isoformat() if known else None})
                resource = f"dispute:{e.dispute_id}:{e.status}"
                behind.append(synthetic_delivery(shop, topic, resource, payload, e.occurred_at, now))
            self.store(uow, behind, report)

    def _decisions(self, shop: str, event: DisputeChanged) -> set[str]:
        """The ids of the decisions that say this version of the dispute was heard, through either topic:
        the key differs only in the event's name (``dispute.created`` or ``dispute.updated``)."""
        _, _, rest = event.key.partition(":")
        return {decision_id(shop, f"{name}:{rest}", playbook)
                for name in ("dispute.created", "dispute.updated") for playbook in self.listeners(name)}


def dispute_event(shop: str, payload: JSON) -> DisputeChanged | None:
    """The event the normaliser makes of the dispute (as created; None when it cannot read it)."""
    if not payload["id"]:
        return None
    try:
        events = normalise(DISPUTE_CREATED, ShopDomain(shop), payload, None)
    except InvalidPayload:
        return None
    found = events[0] if isinstance(events, tuple) and events else None
    return found if isinstance(found, DisputeChanged) else None


def dispute_payload(node: JSON) -> JSON:
    """An Admin GraphQL ``ShopifyPaymentsDispute`` as the ``disputes/*`` webhook's body (the REST resource),
    with every field of Shopify's sample, so that the ordinary normaliser reads it and dates it the same:
    its version time is the latest of ``finalized_on``, ``evidence_sent_on``, ``initiated_at``."""
    order, money, reason = (as_object(node.get(name)) for name in ("order", "amount", "reasonDetails"))
    return {
        "id": int(node.get("legacyResourceId") or gid_number(node.get("id")) or 0),
        "order_id": gid_number(order.get("legacyResourceId")),
        "type": rest_enum(node.get("type")),
        "amount": None if money.get("amount") is None else str(money["amount"]),
        "currency": money.get("currencyCode"),
        "reason": rest_enum(reason.get("reason")),
        "network_reason_code": reason.get("networkReasonCode"),
        "status": rest_enum(node.get("status")),
        "evidence_due_by": _instant(node.get("evidenceDueBy")),
        "evidence_sent_on": _instant(node.get("evidenceSentOn")),
        "finalized_on": _instant(node.get("finalizedOn")),
        "initiated_at": _instant(node.get("initiatedAt")),
    }


def _instant(value: object) -> str | None:
    """A GraphQL DateTime as it is; a bare Date (what API versions before 2026-01 give for a dispute's
    evidence and finalisation dates) as midnight UTC, since the webhook's fields carry an offset."""
    if not value:
        return None
    text = str(value)
    return f"{text}T00:00:00+00:00" if len(text) == 10 else text
