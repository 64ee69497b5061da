"""An order's shipments, folded from carrier scans and fulfilment updates in whatever order they arrive (ADR 0065).

The fold keeps every carrier scan by its event id, with the time it happened, every deleted scan (a tombstone, so a
scan delivered after its deletion stays deleted) and each fulfilment's own ``shipment_status`` as Shopify reported
it. A fulfilment's shipment status is the newest of its scans still standing and its report; the report does not
count when it only mirrors a scan deleted after it (a ``delivered`` scanned by mistake, then deleted). All of it is a
function of the sets held, so any delivery order folds to the same state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from opsdesk.domain.events import FulfillmentEventDeleted, FulfillmentEventRecorded
from opsdesk.domain.versioned import Versioned

#: A shipment's status once its parcel has arrived (``shipment_status``, a carrier event's ``status``).
DELIVERED = "delivered"
#: What each of Shopify's carrier statuses (``FulfillmentEventStatus``, lower case as the REST ``status``) says about
#: the parcel (ADR 0065, amended in session 14): ``arrival`` (it reached the customer: delivered to the door, or
#: collected by the customer at a pickup point), ``movement`` (in the carrier's hands and getting on: collected from
#: the warehouse, in transit, out for delivery, waiting at the pickup point), ``trouble`` (news while no later scan
#: shows it moving again) or ``neither`` (a label, a confirmation: nothing about the parcel's journey). A status not
#: in the table (Shopify adds some between versions) is ``neither``.
KINDS: Mapping[str, str] = {
    "label_purchased": "neither", "label_printed": "neither", "confirmed": "neither",
    "carrier_picked_up": "movement", "in_transit": "movement", "out_for_delivery": "movement",
    "ready_for_pickup": "movement", "ready_for_recipient_pickup": "movement",
    DELIVERED: "arrival", "picked_up": "arrival",
    "delayed": "trouble", "failure": "trouble", "attempted_delivery": "trouble",
    "buyer_action_required": "trouble", "returning_to_sender": "trouble",
    "not_delivered": "trouble",  # a fulfilment's display status only (the sweep's report), never a scan's
}
#: Carrier statuses that say the parcel has arrived: the order's journey is over (the stuck-order monitor stops).
ARRIVED = frozenset(status for status, what in KINDS.items() if what == "arrival")
#: Carrier statuses that say the parcel is in trouble: news only while no later scan shows it moving again.
TROUBLE = frozenset(status for status, what in KINDS.items() if what == "trouble")
#: Carrier statuses that show the parcel moving (or arrived): a trouble scan older than one of them is history.
MOVING = frozenset(status for status, what in KINDS.items() if what == "movement") | ARRIVED


@dataclass(frozen=True, slots=True)
class Scan:
    """A carrier scan of a fulfilment: its status and when it happened (``happened_at``)."""

    fulfillment_id: int
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A deleted carrier scan, and when it was deleted."""

    scan: Scan
    deleted_at: datetime


class Held(Protocol):
    """What the order fold holds about its shipments."""

    @property
    def scans(self) -> Mapping[int, Scan]: ...
    @property
    def withdrawn(self) -> Mapping[int, Withdrawn]: ...
    @property
    def reported(self) -> Mapping[int, Versioned]: ...
    @property
    def shipments(self) -> Mapping[int, Versioned]: ...


def reported(held: Held, fulfillment_id: int, status: str, at: datetime) -> dict[str, Any]:
    """A fulfilment's ``shipment_status`` reported by ``fulfillments/*``, newer wins (none: nothing changes)."""
    current = held.reported.get(fulfillment_id)
    if not status or (current is not None and (current.at, current.status) >= (at, status)):
        return {}
    changed = {**held.reported, fulfillment_id: Versioned(status, at)}
    return {"reported": changed, **_statuses(held.scans, held.withdrawn, changed)}


def scanned(held: Held, event: FulfillmentEventRecorded) -> dict[str, Any]:
    """A carrier scan, kept by its event id (a duplicate changes nothing; a deleted one is kept and stays deleted)."""
    scan = Scan(event.fulfillment_id, event.status, event.occurred_at)
    if held.scans.get(event.event_id) == scan or not event.status:
        return {}
    scans = {**held.scans, event.event_id: scan}
    return {"scans": scans, **_statuses(scans, held.withdrawn, held.reported)}


def deleted(held: Held, event: FulfillmentEventDeleted) -> dict[str, Any]:
    """A deleted scan stops counting, whether it was folded before or arrives later; the earliest deletion holds."""
    current = held.withdrawn.get(event.event_id)
    if current is not None and current.deleted_at <= event.occurred_at:
        return {}
    scan = Scan(event.fulfillment_id, event.status, event.happened_at)
    withdrawn = {**held.withdrawn, event.event_id: Withdrawn(scan, event.occurred_at)}
    return {"withdrawn": withdrawn, **_statuses(held.scans, withdrawn, held.reported)}


def superseded(event: FulfillmentEventRecorded, held: Held | None) -> str:
    """Why a carrier scan is not news ("" when it is), ``held`` being the fold after it: the scan was deleted; it is
    not an arrival and its fulfilment is held arrived (``ARRIVED``: delivered, picked up) at a later time; or it is
    trouble (``TROUBLE``) older than a standing scan of its fulfilment that shows the parcel moving (``MOVING``)."""
    if held is None:
        return ""
    fid, what, when = event.fulfillment_id, event.status or "event", event.occurred_at.isoformat()
    if event.event_id in held.withdrawn:
        return f"carrier event {event.event_id} of fulfilment {fid} was deleted: its {what} of {when}, " \
               "delivered late, is not news"
    moved = overtaken(event, held)
    if moved is None:
        return ""
    return (f"fulfilment {fid} was {moved.status} at {moved.at.isoformat()}: its carrier's {what} of {when}, "
            "delivered late, is not news")


def overtaken(event: FulfillmentEventRecorded, held: Held) -> Versioned | None:
    """What made a carrier scan history in ``held`` (None when nothing has): its fulfilment held arrived at a later
    time (the scan not an arrival), or, for trouble, the earliest standing scan showing the parcel moving after it."""
    fid = event.fulfillment_id
    current = held.shipments.get(fid)
    if (current is not None and current.status in ARRIVED and event.status not in ARRIVED
            and current.at > event.occurred_at):
        return current
    if event.status not in TROUBLE:
        return None
    later = [Versioned(s.status, s.at) for s in _standing(held.scans, held.withdrawn)
             if s.fulfillment_id == fid and s.status in MOVING and s.at > event.occurred_at]
    return min(later, key=_order, default=None)


def repeated(event: FulfillmentEventRecorded, held: Held | None) -> bool:
    """Whether a carrier scan only repeats one of its fulfilment the desk holds already, ``held`` being the fold
    after it: another standing scan with the same status, no scan showing the parcel moving (``MOVING``) between
    the two. A carrier reporting ``returning_to_sender`` twice, in either order, is one matter for a person."""
    if held is None or not event.status:
        return False
    fid, status, when = event.fulfillment_id, event.status, event.occurred_at
    standing = [(eid, s) for eid, s in held.scans.items() if eid not in held.withdrawn and s.fulfillment_id == fid]
    for eid, other in standing:
        if eid == event.event_id or other.status != status:
            continue
        low, high = min(other.at, when), max(other.at, when)
        if not any(s.status in MOVING and low < s.at < high for _, s in standing):
            return True
    return False


def _statuses(
    scans: Mapping[int, Scan], withdrawn: Mapping[int, Withdrawn], reports: Mapping[int, Versioned]
) -> dict[str, Any]:
    """Each fulfilment's shipment status and the order's latest (``carrier_status``), from what is held."""
    candidates: dict[int, list[Versioned]] = {}
    for scan in _standing(scans, withdrawn):
        candidates.setdefault(scan.fulfillment_id, []).append(Versioned(scan.status, scan.at))
    for fid, report in reports.items():
        if not any(w.scan.fulfillment_id == fid and w.scan.status == report.status and w.deleted_at >= report.at
                   for w in withdrawn.values()):
            candidates.setdefault(fid, []).append(report)
    newest = {fid: max(found, key=_order) for fid, found in candidates.items()}
    # A scan without a fulfilment id counts for the order, not as a fulfilment's.
    return {"shipments": {fid: v for fid, v in newest.items() if fid},
            "carrier_status": max(newest.values(), key=_order, default=None)}


def _standing(scans: Mapping[int, Scan], withdrawn: Mapping[int, Withdrawn]) -> list[Scan]:
    return [scan for event_id, scan in scans.items() if event_id not in withdrawn]


def _order(version: Versioned) -> tuple[datetime, str]:
    return version.at, version.status
