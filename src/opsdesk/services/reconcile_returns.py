"""A return as Shopify has it now, as the ``returns/*`` deliveries that would have brought the desk there.

Shopify's ``Return.status`` is REQUESTED, OPEN (approved, or reopened), DECLINED, CANCELED or CLOSED. The
desk's projection holds each return at the status its last ``returns/*`` webhook said (``OrderState.returns``).
Where they differ, the sweep appends the delivery the lost webhook would have been, with the webhook's event key
(``return.<change>:<id>``, no time), so a late real webhook is decided once:

- the request (``returns/request``, with its lines) for a return still REQUESTED or OPEN whose
  ``return.requested`` was never decided: the desk's refund and reship rules run on requests, and an approved
  return was asked for first (causal order: the request is appended before its approval);
- never for a return DECLINED, CANCELED or CLOSED: deciding it now as a request could refund a return a person
  declined, or one already dealt with;
- the change that moves the desk's status to Shopify's: ``returns/approve`` (from requested, or never heard of),
  ``returns/reopen`` (from closed), ``returns/decline``, ``returns/cancel``, ``returns/close`` (from any other).
  Intermediate changes are not replayed (a return requested and closed since gets its close, not an approval:
  no label for a return that is over). A return at a status the desk already holds is left alone.

A change has no time of its own in the webhook (it is dated by its trigger time) nor in the Admin API for most
changes, so the synthetic one is dated by its order's ``updatedAt``: a return's change moves it (the sweep sees
the order for that reason), so it is never earlier than the change, and a late real webhook, dated by its trigger
time, is not newer than what the sweep folded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsdesk.services.reconcile_payloads import connection_nodes, return_change_payload, return_payload
from opsdesk.services.reconcile_versions import Version, version_of

__all__ = ["CHANGES", "REQUEST_TOPIC", "return_versions"]

JSON = dict[str, Any]
REQUEST_TOPIC = "returns/request"
#: Shopify's status → the change that leads there, and the desk's statuses it leads there from (None: the desk
#: never heard of the return; "*": any other than the target).
CHANGES: dict[str, tuple[str, frozenset[str | None]]] = {
    "OPEN": ("approve", frozenset({None, "REQUESTED"})),
    "DECLINED": ("decline", frozenset({"*"})),
    "CANCELED": ("cancel", frozenset({"*"})),
    "CLOSED": ("close", frozenset({"*"})),
}
REOPEN = ("reopen", frozenset({"CLOSED"}))
#: Statuses whose request is decided when it never was (the return was not refused nor dealt with).
REQUESTABLE = frozenset({"REQUESTED", "OPEN"})

def changes_for(status: str) -> list[tuple[str, frozenset[str | None]]]:
    """The changes that may lead to ``status``: for OPEN, an approval or a reopening, by where the desk is."""
    found = [CHANGES[status]] if status in CHANGES else []
    return [*found, REOPEN] if status == "OPEN" else found


def return_versions(shop: str, order_id: int, node: JSON, order_updated: datetime) -> list[Version]:
    """Every return of an order read whole as the deliveries that may bring the desk to it, each return's request
    before its change; which of them the desk is behind on is for the comparison (``Version.known``)."""
    found: list[Version] = []
    for item in connection_nodes(node.get("returns")):
        status = str(item.get("status") or "")
        if status in REQUESTABLE:
            payload = return_payload(order_id, item)
            found += filter(None, [version_of(shop, order_id, f"return:{payload['id']}", REQUEST_TOPIC, payload,
                                              "created_at")])
        for change, since in changes_for(status):
            payload = return_change_payload(order_id, item, change)
            resource = f"return:{payload['id']}:{change}"
            found += filter(None, [version_of(shop, order_id, resource, f"returns/{change}", payload,
                                              at=order_updated, since=since)])
    return found
