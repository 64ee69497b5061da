"""The state of one order, folded from its events in whatever order they arrive.

Each resource (the order itself, each fulfilment, return, refund, dispute) is kept last-writer-wins
by its own version time, so folding commutes: any delivery order gives the same final state, and a
stale retry changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, assert_never

from opsdesk.domain import shipments
from opsdesk.domain.events import (
    ComplianceRequested,
    DiscountChanged,
    DisputeChanged,
    FulfillmentChanged,
    FulfillmentEventDeleted,
    FulfillmentEventRecorded,
    FulfillmentHeld,
    InventoryLevelChanged,
    OrderChanged,
    OrderId,
    OrderSnapshot,
    RefundCreated,
    ReturnChange,
    ReturnChanged,
    RiskAssessed,
    ShopDomain,
    StoreEvent,
)
from opsdesk.domain.refunds import RefundFor, refunded_already, refunded_for
from opsdesk.domain.shipments import ARRIVED, DELIVERED, Scan, Withdrawn
from opsdesk.domain.tracking import Tracking, kept
from opsdesk.domain.versioned import Versioned

#: Payment statuses under which an order is to be shipped (its handling promise runs).
PAID = frozenset({"paid", "partially_paid", "authorized"})
#: The payment status of an order placed and not paid yet (a bank transfer, a manual method, a stalled gateway).
AWAITING = "pending"
#: A return's statuses (Shopify's, as its webhooks spell them) after which its request is over: a request heard
#: then is a late delivery of one already answered, never a new one.
RETURN_OVER = frozenset({"declined", "canceled", "closed"})
#: The status of a return's request: its first, to which no later change of the return leads back.
REQUESTED = "requested"
#: The one dispute status that leaves the money with the store: the bank decided for the merchant (ADR 0009,
#: amended). Open ones may still take it back; lost, accepted, charge-refunded (and prevented) ones gave it back.
DISPUTE_WON = "won"


@dataclass(frozen=True, slots=True)
class OrderState:
    shop: ShopDomain
    order_id: OrderId
    snapshot: OrderSnapshot | None = None
    fulfillments: dict[int, Versioned] = field(default_factory=dict)
    returns: dict[int, Versioned] = field(default_factory=dict)
    refunds: dict[int, Versioned] = field(default_factory=dict)
    #: What each refund was for (its return, its line items), by refund id: only refunds that name either.
    refunded_for: dict[int, RefundFor] = field(default_factory=dict)
    disputes: dict[int, Versioned] = field(default_factory=dict)
    #: Each dispute's type as Shopify says it (``chargeback``, ``inquiry``; its ``type``) with its time: the newest
    #: said wins (an inquiry may become a chargeback); none for a dispute whose deliveries said none.
    dispute_kinds: dict[int, Versioned] = field(default_factory=dict)
    #: Each fulfilment's shipment status (``shipment_status`` of ``fulfillments/*``, or a carrier event's status)
    #: with its time: the latest of either, as the carrier reported it, deleted scans aside (``domain.shipments``).
    shipments: dict[int, Versioned] = field(default_factory=dict)
    #: The latest shipment status of any of the order's fulfilments, from either source.
    carrier_status: Versioned | None = None
    #: The carrier scans, by event id; the deleted ones, by event id; each fulfilment's reported shipment status.
    scans: dict[int, Scan] = field(default_factory=dict)
    withdrawn: dict[int, Withdrawn] = field(default_factory=dict)
    reported: dict[int, Versioned] = field(default_factory=dict)
    #: Each fulfilment's carrier, tracking numbers and links, as its newest ``fulfillments/*`` said them.
    tracking: dict[int, Tracking] = field(default_factory=dict)
    ship_by: datetime | None = None
    owner: str | None = None
    last_event_at: datetime | None = None
    last_event: str = ""
    #: The latest fraud risk assessment (level as ``status``), from ``orders/risk_assessment_changed``.
    risk: Versioned | None = None
    #: Returns that claim damage (``DEFECTIVE``, ``NOT_AS_DESCRIBED``): they freeze automatic refunds.
    damage_claims: frozenset[int] = frozenset()
    #: The earliest time an event showed the order awaiting payment, and the earliest it showed it paid:
    #: minima, so any delivery order gives the same pair (``paid_late_at``).
    first_awaiting_at: datetime | None = None
    first_paid_at: datetime | None = None

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds.values()), Decimal(0))

    @property
    def paid_late_at(self) -> datetime | None:
        """When an order seen awaiting payment was first seen paid (its handling promise runs from then)."""
        awaiting, paid = self.first_awaiting_at, self.first_paid_at
        return paid if awaiting is not None and paid is not None and awaiting < paid else None

    @property
    def payment_status(self) -> str:
        return self.snapshot.financial_status if self.snapshot else "unknown"

    @property
    def fulfilment_status(self) -> str:
        if self.snapshot and self.snapshot.fulfillment_status:
            return self.snapshot.fulfillment_status
        return "fulfilled" if self.fulfillments else "unfulfilled"

    @property
    def risk_level(self) -> str:
        return self.risk.status if self.risk else ""

    @property
    def refunds_frozen(self) -> bool:
        """No automatic refund while a damage claim, or a dispute the merchant has not won, is on the order: an open
        dispute may still take the money back, and one lost, accepted, charge-refunded or prevented (or at a status
        the desk does not know) gave it back already. A won dispute left the money with the store (ADR 0009,
        amended)."""
        return any(d.status != DISPUTE_WON for d in self.disputes.values()) or bool(self.damage_claims)

    @property
    def open_returns(self) -> int:
        return sum(1 for r in self.returns.values() if r.status in {REQUESTED, "open", "approved"})


@dataclass(frozen=True, slots=True)
class Applied:
    state: OrderState
    before: OrderState
    #: What the event brought, by field (the last event's name and time aside).
    changes: Mapping[str, Any]

    @property
    def stale(self) -> bool:
        """The event brought nothing newer. Worked out when asked: comparing snapshots costs more than the
        fold, and the pipeline, which folds every event, does not ask."""
        return all(getattr(self.before, name) == value for name, value in self.changes.items())


def apply(state: OrderState, event: StoreEvent) -> Applied:
    """Fold one event into an order's state; ``stale`` when it brought nothing newer."""
    # The fold's changes and the last event's are made in one new state: building a frozen state costs
    # more than folding, and the pipeline folds every event.
    changes = _changes(state, event)
    if state.last_event_at is None or (event.occurred_at, event.name) > (
        state.last_event_at,
        state.last_event,
    ):
        new = replace(state, **changes, last_event_at=event.occurred_at, last_event=event.name)
    else:
        new = replace(state, **changes) if changes else state
    return Applied(new, state, changes)


def _changes(state: OrderState, event: StoreEvent) -> dict[str, Any]:
    """What the event changes in the state, by field (nothing: it brings nothing newer to fold)."""
    match event:
        case OrderChanged(order=snapshot):
            seen = _payment_seen(state, snapshot.financial_status, event.occurred_at)
            if state.snapshot is None or snapshot.updated_at > state.snapshot.updated_at:
                seen["snapshot"] = snapshot
            return seen
        case FulfillmentChanged():
            versioned = Versioned(event.status, event.occurred_at)
            fulfilment = {"fulfillments": _newer(state.fulfillments, event.fulfillment_id, versioned)}
            return fulfilment | shipments.reported(state, event.fulfillment_id, event.shipment_status,
                                                   event.occurred_at) | _tracking(state, event)
        case FulfillmentEventRecorded():
            return shipments.scanned(state, event)
        case FulfillmentEventDeleted():
            return shipments.deleted(state, event)
        case ReturnChanged():
            changes: dict[str, Any] = {"returns": _return(state, event)}
            if event.damage_claim:
                changes["damage_claims"] = state.damage_claims | {event.return_id}
            return changes
        case RiskAssessed(risk_level=level):
            current = state.risk
            if current is None or (event.occurred_at, level) > (current.at, current.status):
                return {"risk": Versioned(level, event.occurred_at)}
            return {}
        case RefundCreated():
            versioned = Versioned("issued", event.occurred_at, event.amount.amount)
            made = refunded_for(state.refunded_for, event.refund_id, RefundFor.of(event))
            money: dict[str, Any] = {"refunds": _newer(state.refunds, event.refund_id, versioned)}
            return money if made is state.refunded_for else money | {"refunded_for": made}
        case DisputeChanged():
            versioned = Versioned(event.status, event.occurred_at, event.amount.amount)
            dispute: dict[str, Any] = {"disputes": _newer(state.disputes, event.dispute_id, versioned)}
            kinds = _newer(state.dispute_kinds, event.dispute_id, Versioned(event.kind, event.occurred_at))
            return dispute | {"dispute_kinds": kinds} if event.kind and kinds is not state.dispute_kinds else dispute
        case FulfillmentHeld() | DiscountChanged() | InventoryLevelChanged() | ComplianceRequested():
            return {}
        case _:
            return {}


def _tracking(state: OrderState, event: FulfillmentChanged) -> dict[str, Any]:
    """A fulfilment's tracking, when its version says it (a sweep's reads only the carrier: it says nothing)."""
    if event.parcels is None:
        return {}
    said = Tracking(event.tracking_company, event.parcels, event.occurred_at)
    return kept(state.tracking, event.fulfillment_id, said)


def _return(state: OrderState, event: ReturnChanged) -> dict[int, Versioned]:
    """The returns with this change of one, newer wins; but the request is a return's first status, to which no
    later change leads back: a request never replaces a later status and any later one replaces the request,
    whatever their times say (a retried delivery is dated by its first trigger, a sweep's request by the
    return's creation, a change by the order's update). So a late request leaves a declined return declined."""
    versioned = Versioned(event.status, event.occurred_at)
    held = state.returns.get(event.return_id)
    if held is None or (held.status == REQUESTED) == (event.status == REQUESTED):
        return _newer(state.returns, event.return_id, versioned)
    return state.returns if event.status == REQUESTED else {**state.returns, event.return_id: versioned}


def superseded(event: StoreEvent, state: OrderState | None) -> str:
    """Why an event delivered late is not news to decide ("" when it is): a return's request or approval when the
    order's state holds the return declined, cancelled or closed already; a return's request when the return, or
    every unit it asks for, was refunded already (``refunds.refunded_already``); a carrier event deleted, or that
    happened before its parcel arrived (delivered, or picked up by the customer), or trouble before a later scan
    shows the parcel moving (``shipments.superseded``: Shopify retries a failed delivery for hours, in no order, and
    the reconciliation sweep recovers lost ones after the fact). ``state`` is the order's after the event was folded."""
    if isinstance(event, FulfillmentEventRecorded):
        return shipments.superseded(event, state)
    late = {ReturnChange.REQUESTED: "request", ReturnChange.APPROVED: "approval"}
    if not isinstance(event, ReturnChanged) or event.change not in late or state is None:
        return ""
    held = state.returns.get(event.return_id)
    if held is None or held.status not in RETURN_OVER:
        return refunded_already(event, state)
    what = late[event.change]
    return f"return {event.return_id} is {held.status} already: its {what}, delivered late, is not a new one"


def _payment_seen(state: OrderState, status: str, at: datetime) -> dict[str, Any]:
    """The earliest sightings of the order awaiting payment and paid, moved back by this event if earlier."""
    if status == AWAITING and (state.first_awaiting_at is None or at < state.first_awaiting_at):
        return {"first_awaiting_at": at}
    if status in PAID and (state.first_paid_at is None or at < state.first_paid_at):
        return {"first_paid_at": at}
    return {}


def promised_ship_by(before: OrderState, after: OrderState, handling: timedelta) -> OrderState:
    """``after`` with its promised ship-by: order time + handling, or, for an order seen awaiting payment and
    paid later, payment time + handling when that is later: a customer who pays by bank transfer on day
    three is not late the moment they pay, and is not told so. A pure function of minima, so the promise is
    the same whatever order the deliveries came in; a ship-by set otherwise (a pickup plan) is left alone."""
    promise = _promise(after, handling)
    if promise is None or after.ship_by not in (None, _promise(before, handling)) or after.ship_by == promise:
        return after
    return replace(after, ship_by=promise)


def _promise(state: OrderState, handling: timedelta) -> datetime | None:
    if state.snapshot is None:
        return None
    promise = state.snapshot.created_at + handling
    paid = state.paid_late_at
    return max(promise, paid + handling) if paid is not None else promise


def _newer(items: dict[int, Versioned], key: int, value: Versioned) -> dict[int, Versioned]:
    current = items.get(key)
    if current is not None and (current.at, current.status) >= (value.at, value.status):
        return items
    return {**items, key: value}


def assign_owner(state: OrderState, owner: str) -> OrderState:
    return replace(state, owner=owner)


__all__ = ["ARRIVED", "DELIVERED", "Applied", "OrderState", "Versioned", "apply", "assert_never", "assign_owner",
           "superseded"]
