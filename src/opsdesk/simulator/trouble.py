"""A parcel's last leg: to the door at the first attempt, or one of the carrier's troubles, or a pickup point.

Each shipped parcel takes one path, drawn once from the store's generator at the scenario's ``Shares`` (assumptions,
stated in docs/explanation/simulator-calibration.md; Olist's 1.0 % of orders shipped and never delivered bounds
the ones that never arrive):

- ``attempted_delivery``: nobody at the door; the carrier tries again the next day and delivers;
- ``buyer_action``: the carrier holds the parcel for its buyer (a duty to pay, an ID to show); ``buyer_acts`` of
  buyers act within 2-48 hours and the parcel is delivered a day later; the others never do, and the carrier
  sends it back after 7-14 days;
- ``returned_to_sender``: a failed attempt, then the carrier returns the parcel 1-5 days later;
- ``pickup``: the parcel waits at a pickup point and its buyer collects it within 2 hours to 5 days.

Every path keeps the parcel's fulfilment (and its tracking); only its carrier scans differ.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from opsdesk.simulator.truth import Trouble, Truth

if TYPE_CHECKING:
    from opsdesk.simulator.shaping import Order
    from opsdesk.simulator.store import Store

_H = timedelta(hours=1)
_D = timedelta(days=1)
ATTEMPTED, BUYER, RETURNED, PICKUP = "attempted_delivery", "buyer_action", "returned_to_sender", "pickup"
PATHS = (RETURNED, BUYER, ATTEMPTED, PICKUP)


@dataclass(frozen=True, slots=True)
class Shares:
    """Each path's share of shipped parcels (assumed; the rest are delivered at the first attempt), and the share
    of buyers who act on the carrier's request (the others' parcels go back to the store)."""

    returned_to_sender: float = 0.005
    buyer_action: float = 0.01
    attempted_delivery: float = 0.03
    pickup: float = 0.04
    buyer_acts: float = 0.7

#: What the simulated carrier writes with each scan (``message``).
CARRIER_TEXT = {
    "confirmed": "Label created",
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
    "delayed": "Delayed by the carrier",
    ATTEMPTED: "Delivery attempted: nobody was in",
    "buyer_action_required": "Held for the recipient: action required",
    "returning_to_sender": "Returning to sender",
    "ready_for_pickup": "Ready for pickup",
    "picked_up": "Picked up by the recipient",
}
Scans = list[tuple[datetime, str]]


@dataclass(frozen=True, slots=True)
class Leg:
    """A trouble's scans after the parcel's ``in_transit`` one, when it reached its buyer (None: never), and the
    trouble (None: delivered at the first attempt)."""

    scans: Scans
    arrived: datetime | None
    trouble: Trouble | None = None


def last_leg(rng: random.Random, shares: Shares, order_id: int, ship: datetime, due: datetime) -> Leg:
    """The last leg of a parcel handed to the carrier at ``ship`` that it would deliver at ``due``: no scans for one
    delivered at the first attempt (the store scans it as before), else the trouble's scans after ``in_transit``."""
    u = rng.random()
    for path in PATHS:
        share = getattr(shares, path)
        if u < share:
            return _LEGS[path](rng, shares, order_id, ship, due)
        u -= share
    return Leg([], due)


def send(st: Store, o: Order, leg: Leg, update_at: datetime) -> None:
    """Send a trouble's scans, and the fulfilment's update when the parcel reaches the door at last, all drawn from
    the store's trouble generator; the update at the first attempt that did not happen is only drawn
    (``Store.shadow``), so the rest of the store draws what it would have."""
    st.shadow(update_at)
    for at, status in leg.scans:
        render = partial(st.render.carrier_event, o, at, st.trouble_id(), status, CARRIER_TEXT[status])
        st.emit(at, "fulfillment_events/create", render, st.trouble_rng)
    if leg.arrived is not None and leg.scans[-1][1] == "delivered":  # a collection is the scan's alone
        at_door = leg.arrived + timedelta(seconds=1)
        st.emit(at_door, "fulfillments/update", lambda: st.render.fulfillment(o, at_door, "success", "delivered"),
                st.trouble_rng)


def record(truth: Truth, trouble: Trouble | None, horizon: datetime) -> None:
    """The truth of a parcel's trouble seen before the horizon: a parcel sent back needs a person (reship or
    refund), and so does one whose buyer never acts (the desk's case is due before the parcel goes back)."""
    if trouble is None or trouble.at > horizon:
        return
    truth.trouble.append(trouble)
    if trouble.ended == "returned" and (trouble.path == BUYER or trouble.ended_at <= horizon):
        truth.person(trouble.order_id, "buyer never acted" if trouble.path == BUYER else "returned to sender")


def _attempted(rng: random.Random, shares: Shares, order_id: int, ship: datetime, due: datetime) -> Leg:
    again = due + rng.uniform(20, 30) * _H
    scans = [(due - rng.uniform(1, 6) * _H, "out_for_delivery"), (due, ATTEMPTED),
             (again - rng.uniform(1, 4) * _H, "out_for_delivery"), (again, "delivered")]
    return Leg(scans, again, Trouble(order_id, ATTEMPTED, due, "delivered", again))


def _buyer(rng: random.Random, shares: Shares, order_id: int, ship: datetime, due: datetime) -> Leg:
    # held on the way, in the second half of the journey, and after the in-transit scan (at most 12 h in)
    asked = max(due - (due - ship) * rng.uniform(0, 0.5), ship + 12 * _H)
    if rng.random() >= shares.buyer_acts:
        back = asked + rng.uniform(7, 14) * _D
        scans = [(asked, "buyer_action_required"), (back, "returning_to_sender")]
        return Leg(scans, None, Trouble(order_id, BUYER, asked, "returned", back))
    acted = asked + rng.uniform(2, 48) * _H
    arrived = acted + rng.uniform(8, 30) * _H
    scans = [(asked, "buyer_action_required"), (acted, "in_transit"),
             (arrived - rng.uniform(1, 3) * _H, "out_for_delivery"), (arrived, "delivered")]
    return Leg(scans, arrived, Trouble(order_id, BUYER, asked, "delivered", arrived, acted))


def _returned(rng: random.Random, shares: Shares, order_id: int, ship: datetime, due: datetime) -> Leg:
    back = due + rng.uniform(1, 5) * _D
    scans = [(due - rng.uniform(1, 6) * _H, "out_for_delivery"), (due, ATTEMPTED), (back, "returning_to_sender")]
    return Leg(scans, None, Trouble(order_id, RETURNED, due, "returned", back))


def _pickup(rng: random.Random, shares: Shares, order_id: int, ship: datetime, due: datetime) -> Leg:
    collected = due + rng.uniform(2, 120) * _H
    scans = [(due, "ready_for_pickup"), (collected, "picked_up")]
    return Leg(scans, collected, Trouble(order_id, PICKUP, due, "collected", collected))


_LEGS = {ATTEMPTED: _attempted, BUYER: _buyer, RETURNED: _returned, PICKUP: _pickup}
