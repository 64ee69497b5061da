"""Stuck orders: an order that sits in a non-final state past its threshold goes to its owner as a case.

Every event of an order moves its ``stuck_order`` timer to ``last event + threshold`` for the state the
order is in (pending payment, paid, partially fulfilled, shipped but not delivered); a final order
(cancelled, refunded, delivered or collected at a pickup point: ``ARRIVED``, ADR 0065) loses its timer. An
unpaid order paid with a method that clears slowly by design (bank transfer, cash on delivery:
``pending_by_gateway``) waits longer. When the timer fires, the
order is read again: if anything happened since, the timer moves; if not, a case opens owned by the
order's owner (the nudge: the owner is told at once), and the desk's return timer hands it to the next
person if they do not act.
Should the order leave the state it was stuck in (move on, or end), the case is resolved, saying so;
one somebody has started on stays theirs, marked moot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from opsdesk.config_playbooks import StuckOrdersConfig
from opsdesk.domain.events import StoreEvent
from opsdesk.domain.ids import fit_id
from opsdesk.domain.orders import ARRIVED, PAID, OrderState
from opsdesk.domain.records import CaseRecord, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services import monitors
from opsdesk.services.cases import CaseHooks, open_case, settle
from opsdesk.services.followups import closed
from opsdesk.services.pipeline_batch import OrderKey
from opsdesk.services.tracking import case_tracking

STUCK = "stuck_order"
PLAYBOOK = "stuck-order"
SOURCE = f"monitor:{PLAYBOOK}"


_ENDED = frozenset({"resolved", "closed"})


def subject(shop: str, order_id: int) -> str:
    return f"order:{shop}:{order_id}"


def timer_id(shop: str, order_id: int) -> str:
    return f"{STUCK}:{shop}:{order_id}"


def case_id(shop: str, order_id: int, since: datetime) -> str:
    """The case (and the decision that opens it) of an order with no change since ``since``."""
    return fit_id(f"stuck-{shop}-{order_id}-{int(since.timestamp())}", "-")


#: The non-final states an order goes through, in order.
STAGES = ("pending", "paid", "partially_fulfilled", "fulfilled")


def stage(state: OrderState) -> str | None:
    """The non-final state an order is in, or None when it is final (nothing more should happen)."""
    if state.snapshot is None or closed(state):
        return None
    if state.carrier_status is not None and state.carrier_status.status in ARRIVED:  # delivered, or collected
        return None
    if state.fulfilment_status == "fulfilled":
        return "fulfilled"
    if state.fulfilment_status in {"partial", "partially_fulfilled"} or state.fulfillments:
        return "partially_fulfilled"
    return "paid" if state.payment_status in PAID else "pending"


def moved_on(stuck_in: str, state: OrderState) -> str | None:
    """What became of an order stuck in ``stuck_in`` that has since reached a later state or ended, or None
    when it has not (still there, or back at an earlier state: a partial refund makes a paid order pending).
    """
    current = stage(state)
    if current is None:
        if closed(state):
            return "was cancelled or refunded"
        collected = state.carrier_status is not None and state.carrier_status.status == "picked_up"
        return "was collected" if collected else "was delivered"
    if STAGES.index(current) <= STAGES.index(stuck_in):
        return None
    return {"paid": "was paid", "partially_fulfilled": "partly shipped", "fulfilled": "shipped"}[current]


def threshold(settings: StuckOrdersConfig, current: str, gateways: Iterable[str]) -> tuple[float, str] | None:
    """The hours an order may sit in ``current`` and the payment gateway they are for ('' when they are the
    state's own), or None when the state is not watched. An unpaid order takes the longest threshold of its
    gateways listed in ``pending_by_gateway`` (names in any case), else ``thresholds["pending"]``."""
    hours = settings.thresholds.get(current)
    if hours is None:
        return None
    if current == "pending":
        by_gateway = settings.pending_by_gateway
        slow = [(by_gateway[name.casefold()], name) for name in gateways if name.casefold() in by_gateway]
        if slow:
            return max(slow)
    return hours, ""


class _Due(NamedTuple):
    """When an order is stuck in the state it sits in, and why that long (for the case's reason)."""

    stage: str
    at: datetime
    why: str


@dataclass(frozen=True)
class StuckOrders:
    settings: StuckOrdersConfig
    hooks: Callable[[], CaseHooks]

    def _due(self, state: OrderState) -> _Due | None:
        current = stage(state)
        if current is None or state.snapshot is None or state.last_event_at is None:
            return None
        found = threshold(self.settings, current, state.snapshot.payment_gateways)
        if found is None:
            return None
        hours, gateway = found
        why = f"threshold {hours:g} h" + (f" for {gateway}" if gateway else "")
        return _Due(current, state.last_event_at + timedelta(hours=hours), why)

    def watch(self, uow: UnitOfWork, events: Sequence[StoreEvent],
              states: Mapping[OrderKey, OrderState], now: datetime) -> None:
        """Pipeline watcher: move each touched order's timer to its new threshold, or drop it when final."""
        if not self.settings.enabled:
            return
        timers, final, touched = [], [], []
        for key in {(e.shop, e.order_id) for e in events if e.order_id is not None}:
            state = states.get(key)
            if state is None:
                continue
            touched.append(state)
            due = self._due(state)
            if due is None:
                final.append(subject(*key))
            else:
                timers.append(self._timer(state, due.stage, due.at))
        if final:  # one statement for the whole batch, as for the timers moved
            uow.timers.cancel_many(final, [STUCK])
        if timers:
            uow.timers.schedule(timers)
        self._settle(uow, touched, now)

    def _settle(self, uow: UnitOfWork, states: Sequence[OrderState], now: datetime) -> None:
        """An order that moved on from the state it was stuck in (to a later one, or ended) makes its case moot:
        the case is settled (``cases.settle``: resolved, saying why, or marked moot if someone has started on it).
        Only an order placed at least the shortest threshold ago (a gateway's included) can have a stuck case
        (most events are about younger orders); the cases of those are read in one statement per shop."""
        if not self.settings.thresholds:
            return
        shortest = min([*self.settings.thresholds.values(), *self.settings.pending_by_gateway.values()])
        placed_by = now - timedelta(hours=shortest)
        by_shop: dict[str, dict[int, OrderState]] = {}
        for state in states:
            if state.snapshot is not None and state.snapshot.created_at <= placed_by:
                by_shop.setdefault(state.shop, {})[state.order_id] = state
        for shop, orders in by_shop.items():
            for order_id, cases in uow.cases.for_orders(shop, orders).items():
                for case in cases:
                    if case.source != SOURCE or case.status in _ENDED or "moot" in case.detail:
                        continue
                    what = moved_on(str(case.detail["stage"]), orders[order_id])
                    if what is not None:
                        settle(uow, case.id, f"the order {what}", now, self.hooks())

    def _timer(self, state: OrderState, current: str, due: datetime) -> Timer:
        return Timer(timer_id(state.shop, state.order_id), STUCK, subject(state.shop, state.order_id), due,
                     {"shop": state.shop, "order_id": state.order_id, "stage": current})

    def fire(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``stuck_order`` timer: still no progress means a case for the order's owner."""
        state = monitors.find_order(uow, str(timer.payload["shop"]), int(timer.payload["order_id"]))
        due = self._due(state) if state is not None else None
        if state is None or due is None:
            return
        current, at, why = due
        if at > now:  # something happened since the timer was set: wait for the new threshold
            uow.timers.schedule([self._timer(state, current, at)])
            return
        since = state.last_event_at
        assert since is not None and state.snapshot is not None
        hours = (now - since).total_seconds() / 3600
        cid = case_id(state.shop, state.order_id, since)
        monitors.record_decision(uow, cid, state.shop, state.order_id, PLAYBOOK, f"stuck-{current}",
                                 "escalate", f"no change for {hours:.0f} hours", {"since": since}, now)
        # An order someone already has a case for is that case's matter: the signal joins it (the case's
        # owner is nudged through its timeline) rather than opening a second case about the same order.
        active = [c for c in uow.cases.for_order(state.shop, state.order_id) if c.status not in _ENDED]
        kind, queue = (active[0].kind, active[0].queue) if active else ("stuck_order", self.settings.queue)
        open_case(uow, CaseRecord(
            id=cid, shop=state.shop,
            kind=kind, queue=queue,
            title=f"Order {state.snapshot.name} is stuck ({current.replace('_', ' ')})",
            reason=f"no change for {hours:.0f} hours ({why}); "
                   f"last: {state.last_event or 'unknown'} at {since.isoformat()}",
            opened_at=now, order_id=state.order_id, source=SOURCE, priority=self.settings.priority,
            detail={"playbook": PLAYBOOK, "stage": current, "owner": state.owner, "since": since.isoformat(),
                    **case_tracking(state)},
        ), self.hooks(), now)
