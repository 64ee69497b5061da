"""The last look at a customer email before it goes (ADR 0068): is what it tells the customer still so?

An email is decided when a rule or a monitor sees its reason, and may go out much later (an SMTP outage and its
retries, an open circuit, credentials held, an earlier action of its decision, ADR 0042). The outbox asks
``email_lapsed`` on the order's state then, by what the email tells the customer: its ``premise``, recorded by the
monitor or rule that queued it (ADR 0068, session 15 (2)), so a shop's own template keeps its look; an email queued
before it carried one is judged by its template's (``domain.outbox.TEMPLATE_PREMISES``):

- ``unshipped`` (``follow_up_delayed``, ``delayed_fulfilment``: "your order is late"): lapses once the order has
  shipped (in part too, as the follow-ups stop then), was cancelled, or its payment was refunded in full or voided.
- ``carrier_delay`` (``carrier_delay_notice``: "your parcel is delayed"): lapses once its delay scan is history: the
  parcel arrived (or was collected) after it, a later scan shows it moving again, or the scan was deleted
  (``shipments.overtaken``, the rule that makes a late delay scan not news, ADR 0065).
- ``buyer_action`` (``carrier_needs_buyer``: "the carrier needs you"): lapses as the delay does, or once its
  fulfilment's status, at a later time, is anything but ``buyer_action_required`` or a later ``delayed`` (as
  ``buyer_waits.STILL_WAITING`` reads it: a delay is trouble, not the buyer answering).
- ``address`` (``address_confirm``: "please confirm your address"): lapses once the order's address is not the one
  asked about (its fingerprint, ``address_checks.fingerprint``), or the order shipped or was cancelled.
- No premise: ``refund_confirmation``, ``return_in_hand``, ``return_label_in_hand`` confirm what was done (a refund
  made: it waits for its refund, ADR 0042; goods received; a label being made by a person) and stay true: they never
  lapse. Nor does a rule's ``generic`` email naming no ``premise``: a rule's own words, whose reason only its rule
  could judge, and rules are not asked again here.

An email the desk cannot judge (its order unknown, a carrier email queued before its payload named its scan, an
address email before it named its fingerprint) goes, as it did before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from opsdesk.domain import shipments
from opsdesk.domain.events import FulfillmentEventRecorded, OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import email_premise
from opsdesk.domain.records import OutboxAction
from opsdesk.ports import UnitOfWork
from opsdesk.services.address_checks import fingerprint
from opsdesk.services.buyer_waits import STILL_WAITING, WAITING
from opsdesk.services.followups import FINAL_PAYMENT, shipped


def email_lapsed(uow: UnitOfWork, action: OutboxAction) -> str:
    """Why what this email tells the customer is no longer so ("" when it still is, or cannot be judged)."""
    look = LOOKS.get(email_premise(action.payload))
    if look is None or action.order_id is None:
        return ""
    state = uow.orders.find(ShopDomain(action.shop), OrderId(action.order_id))
    if state is None or state.snapshot is None:
        return ""
    return look(state, action.payload)


def order_moved_on(state: OrderState, _payload: Mapping[str, Any]) -> str:
    """The order is no longer waiting to ship: it shipped, was cancelled, or its money went back."""
    snap = state.snapshot
    assert snap is not None
    if shipped(state):
        return f"order {snap.name} has shipped"
    if snap.cancelled_at is not None:
        return f"order {snap.name} was cancelled"
    if snap.financial_status in FINAL_PAYMENT:
        return f"order {snap.name} was {snap.financial_status}"
    return ""


def address_changed(state: OrderState, payload: Mapping[str, Any]) -> str:
    """The address asked about is not the order's any more, or the order no longer waits for it."""
    asked = payload.get("fingerprint")
    if asked and fingerprint(state) != asked:
        snap = state.snapshot
        return f"the shipping address of order {snap.name if snap else state.order_id} was changed"
    return order_moved_on(state, payload)


def delay_over(state: OrderState, payload: Mapping[str, Any]) -> str:
    """The carrier scan the email is about is history: deleted, or the parcel arrived or moved on after it."""
    scan = _scan(state, payload)
    if scan is None:
        return ""
    what = f"the carrier's {scan.status} scan of {scan.occurred_at.isoformat()}"
    if scan.event_id in state.withdrawn:
        return f"{what} (fulfilment {scan.fulfillment_id}) was deleted"
    moved = shipments.overtaken(scan, state)
    if moved is None:
        return ""
    return f"fulfilment {scan.fulfillment_id} was {moved.status} at {moved.at.isoformat()}, after {what}"


def buyer_answered(state: OrderState, payload: Mapping[str, Any]) -> str:
    """The parcel no longer waits for the buyer: as ``delay_over``, or its status, since the scan, is another."""
    over = delay_over(state, payload)
    scan = _scan(state, payload)
    if over or scan is None:
        return over
    current = state.shipments.get(scan.fulfillment_id)
    if current is None or current.status in STILL_WAITING or current.at <= scan.occurred_at:
        return ""
    return (f"fulfilment {scan.fulfillment_id} was {current.status} at {current.at.isoformat()}, after the carrier's "
            f"{WAITING} scan of {scan.occurred_at.isoformat()}")


def _scan(state: OrderState, payload: Mapping[str, Any]) -> FulfillmentEventRecorded | None:
    """The scan the email's payload names (``effects``), as the event it came in; None when it names none."""
    scan = payload.get("scan")
    if not isinstance(scan, dict):
        return None
    try:
        at = datetime.fromisoformat(str(scan["happened_at"]))
        return FulfillmentEventRecorded(state.shop, at, int(scan["event_id"]), int(scan["fulfillment_id"]),
                                        state.order_id, str(scan["status"]))
    except (KeyError, TypeError, ValueError):
        return None


#: The look at each premise (``domain.outbox.TEMPLATE_PREMISES`` says which templates have which).
LOOKS: Mapping[str, Callable[[OrderState, Mapping[str, Any]], str]] = {
    "unshipped": order_moved_on,
    "carrier_delay": delay_over,
    "buyer_action": buyer_answered,
    "address": address_changed,
}
