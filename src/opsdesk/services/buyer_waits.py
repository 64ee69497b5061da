"""A parcel waiting for the buyer: the carrier-delays playbook tells the customer at once (``carrier_needs_buyer``);
this monitor opens a case only when the parcel has not moved on within ``monitors.buyer_action.hours``.

A ``buyer_action_required`` scan that is news (not superseded, ADR 0065) sets one ``buyer_action`` timer per
fulfilment, due that long after the scan happened; a repeat of it leaves the timer where the first one set it.
When it fires, the order is read again: a fulfilment whose shipment status is no longer ``buyer_action_required``
or a later ``delayed`` (the customer paid the fee, the parcel moved, arrived, failed or went back) opens nothing; one
still waiting opens a case in the configured queue, once per fulfilment (its id comes from the fulfilment).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.config_playbooks import BuyerActionConfig
from opsdesk.domain import shipments
from opsdesk.domain.events import FulfillmentEventRecorded, StoreEvent
from opsdesk.domain.ids import fit_id
from opsdesk.domain.orders import OrderState
from opsdesk.domain.records import CaseRecord, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services import monitors
from opsdesk.services.cases import CaseHooks, open_case
from opsdesk.services.pipeline_batch import OrderKey
from opsdesk.services.tracking import case_tracking

BUYER_ACTION = "buyer_action"
WAITING = "buyer_action_required"
#: What a parcel waiting for its buyer may show next and still wait: a delay is trouble, not movement (session 15).
#: A failure or a return to the sender opens its own case (the carrier-delays playbook); movement or arrival ends it.
STILL_WAITING = frozenset({WAITING, "delayed"})
PLAYBOOK = "buyer-action"
SOURCE = f"monitor:{PLAYBOOK}"


def timer_id(shop: str, fulfillment_id: int) -> str:
    return f"{BUYER_ACTION}:{shop}:{fulfillment_id}"


def case_id(shop: str, fulfillment_id: int) -> str:
    """The case (and the decision that opens it) of a fulfilment left waiting for its buyer."""
    return fit_id(f"buyer-action-{shop}-{fulfillment_id}", "-")


@dataclass(frozen=True)
class BuyerWaits:
    settings: BuyerActionConfig
    hooks: Callable[[], CaseHooks]

    def watch(self, uow: UnitOfWork, events: Sequence[StoreEvent],
              states: Mapping[OrderKey, OrderState], now: datetime) -> None:
        """Pipeline watcher: a new wait for the buyer sets its fulfilment's timer (a repeat does not move it)."""
        if not self.settings.enabled:
            return
        timers = []
        for event in events:
            if not isinstance(event, FulfillmentEventRecorded) or event.status != WAITING:
                continue
            state = states.get((event.shop, event.order_id))
            if shipments.superseded(event, state) or shipments.repeated(event, state):
                continue
            due = event.occurred_at + timedelta(hours=self.settings.hours)
            timers.append(Timer(timer_id(event.shop, event.fulfillment_id), BUYER_ACTION,
                                f"order:{event.shop}:{event.order_id}", due,
                                {"shop": event.shop, "order_id": event.order_id,
                                 "fulfillment_id": event.fulfillment_id, "since": event.occurred_at.isoformat()}))
        if timers:
            uow.timers.schedule(timers)

    def fire(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``buyer_action`` timer: a fulfilment still waiting for its buyer becomes a case."""
        shop, fid = str(timer.payload["shop"]), int(timer.payload["fulfillment_id"])
        state = monitors.find_order(uow, shop, int(timer.payload["order_id"]))
        current = state.shipments.get(fid) if state is not None else None
        if state is None or current is None or current.status not in STILL_WAITING:
            return
        since = datetime.fromisoformat(str(timer.payload["since"])) if "since" in timer.payload else current.at
        hours = (now - since).total_seconds() / 3600
        cid = case_id(shop, fid)
        why = f"the carrier has waited for the buyer for {hours:.0f} hours (threshold {self.settings.hours:g} h)"
        if current.status != WAITING:
            why += f", and reported the parcel {current.status} since"
        monitors.record_decision(uow, cid, shop, state.order_id, PLAYBOOK, "buyer-action-unanswered", "escalate",
                                 why, {"fulfillment_id": fid, "since": current.at}, now)
        name = state.snapshot.name if state.snapshot is not None else str(state.order_id)
        open_case(uow, CaseRecord(
            id=cid, shop=shop, kind="fulfilment", queue=self.settings.queue,
            title=f"Order {name}: the carrier still waits for the buyer",
            reason=f"{why}; since {since.isoformat()}, no scan shows the parcel moving",
            opened_at=now, order_id=state.order_id, source=SOURCE, priority=self.settings.priority,
            detail={"playbook": PLAYBOOK, "shipment": {"fulfillment_id": fid, "status": WAITING,
                                                       "happened_at": current.at.isoformat()},
                    **case_tracking(state, fid)},
        ), self.hooks(), now)
