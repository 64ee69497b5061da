"""Carrier pickup cut-offs at work: a ship-by for every order, warnings before the truck, missed pickups.

When an order is first seen at a warehouse with pickup schedules (``PickupWatch.watch``, a pipeline
watcher), its ship-by becomes the cut-off of the pickup it can still make (pickup minus handling time)
and durable timers are armed:

- ``pickup_warning`` at T-60 and T-15 minutes before the pickup: the warehouse lead is told (urgent, so
  quiet hours do not hold it) that the order is not packed yet;
- ``pickup_cutoff`` at the cut-off: a case in the ``warehouse`` queue, owned by the warehouse lead, with
  the pickup time as its hard deadline;
- ``pickup_missed`` at the pickup: a missed pickup is recorded, and the order is watched again for the
  carrier's next pickup.

Every handler looks at the order as it stands when it fires: an order packed (fulfilled), cancelled or
refunded by then stops the chain, so nothing fires for it any more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from opsdesk.domain.events import OrderChanged, OrderId, ShopDomain, StoreEvent
from opsdesk.domain.orders import OrderState
from opsdesk.domain.pickups import (
    MissedPickup,
    ShipBy,
    Warehouse,
    after_missed,
    find_warehouse,
    ship_by,
    warnings,
    zone,
)
from opsdesk.domain.records import AuditEntry, CaseRecord, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services.cases import CaseHooks, open_case

WARNING = "pickup_warning"
CUTOFF = "pickup_cutoff"
MISSED = "pickup_missed"
KINDS = (WARNING, CUTOFF, MISSED)
PLAYBOOK = "carrier-pickup-cutoff"
#: Tells a person something now (``notify(uow, person, subject, body, now, urgent)``), e.g. ``Notifier.notify``.
Notify = Callable[[UnitOfWork, str, str, str, datetime, bool], None]
PACKED = frozenset({"success", "open", "pending"})
#: An order first seen this long after the pickup it should have made is history, not work.
STALE = timedelta(hours=24)


def subject(shop: str, order_id: int) -> str:
    return "pickup-" + hashlib.blake2b(f"{shop}|{order_id}".encode(), digest_size=12).hexdigest()


def is_open(state: OrderState | None) -> bool:
    """Still to be packed: known, not cancelled, not refunded or voided, and no fulfilment under way."""
    if state is None or state.snapshot is None or state.snapshot.cancelled_at is not None:
        return False
    if state.payment_status in ("refunded", "voided") or state.fulfilment_status in (
        "fulfilled",
        "restocked",
    ):
        return False
    return not any(f.status in PACKED for f in state.fulfillments.values())


@dataclass(frozen=True)
class PickupWatch:
    warehouses: tuple[Warehouse, ...]
    hooks_provider: Callable[[], CaseHooks]
    notify: Notify | None = None

    def plan(self, state: OrderState) -> tuple[Warehouse, ShipBy] | None:
        """The warehouse an order ships from and the pickup it must make, if it carries a same-day promise."""
        snap = state.snapshot
        if snap is None:
            return None
        warehouse = find_warehouse(self.warehouses, snap.location_id)
        if warehouse is None or not warehouse.promises(snap.tags):
            return None
        carrier = next((t.split(":", 1)[1] for t in snap.tags if t.lower().startswith("carrier:")), None)
        found = ship_by(warehouse, carrier, snap.created_at)
        return None if found is None else (warehouse, found)

    # -- the pipeline watcher ------------------------------------------------------------------------

    def watch(
        self, uow: UnitOfWork, events: Sequence[StoreEvent], states: Mapping[Any, OrderState], now: datetime
    ) -> None:
        """Arm the timers of every order seen for the first time; its ship-by comes from the pickups.

        The batch's orders are read and written together: each order arms timers of its own subject only,
        so what one order writes never changes what another one reads.
        """
        seen: set[tuple[ShopDomain, OrderId]] = set()
        candidates: list[OrderState] = []
        for event in events:
            if not isinstance(event, OrderChanged) or (event.shop, event.order.id) in seen:
                continue
            seen.add((event.shop, event.order.id))
            state = states.get((event.shop, event.order.id))
            if state is not None and is_open(state):
                candidates.append(state)
        armed = uow.timers.pending_many(subject(s.shop, s.order_id) for s in candidates)
        moved: list[OrderState] = []
        timers: list[Timer] = []
        for state in candidates:
            found = None if subject(state.shop, state.order_id) in armed else self.plan(state)
            if found is None:
                continue
            warehouse, plan = found
            if plan.pickup_at < now - STALE:
                continue  # history being replayed: its pickups left long ago, nobody can act on them now
            if state.ship_by != plan.ship_by:
                moved.append(replace(state, ship_by=plan.ship_by))
            timers += self._timers(state.shop, state.order_id, warehouse, plan, now)
        if moved:
            uow.orders.put_many(moved)
        if timers:
            uow.timers.schedule(timers)

    def _timers(
        self, shop: str, order_id: int, warehouse: Warehouse, plan: ShipBy, now: datetime
    ) -> list[Timer]:
        sub = subject(shop, order_id)
        base = {
            "shop": shop,
            "order_id": order_id,
            "warehouse": warehouse.id,
            "carrier": plan.carrier,
            "pickup_at": plan.pickup_at.isoformat(),
            "ship_by": plan.ship_by.isoformat(),
        }
        stamp = plan.pickup_at.strftime("%Y%m%dT%H%M")
        timers = [
            Timer(
                f"{sub}:{stamp}:w{int(before.total_seconds() // 60)}",
                WARNING,
                sub,
                at,
                {**base, "minutes": int(before.total_seconds() // 60)},
            )
            for before, at in warnings(warehouse, plan, now)
        ]
        timers.append(Timer(f"{sub}:{stamp}:cut", CUTOFF, sub, plan.ship_by, base))
        timers.append(Timer(f"{sub}:{stamp}:miss", MISSED, sub, plan.pickup_at, base))
        return timers

    # -- the timer handlers --------------------------------------------------------------------------

    def timer_handlers(self) -> dict[str, Callable[[UnitOfWork, Timer, datetime], None]]:
        return {WARNING: self.warn, CUTOFF: self.cutoff, MISSED: self.missed}

    def warn(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """T-60 / T-15: tell the warehouse lead the order is not packed yet."""
        found = self._still_open(uow, timer)
        if found is None:
            return
        state, warehouse = found
        name = state.snapshot.name if state.snapshot else str(state.order_id)
        pickup = datetime.fromisoformat(str(timer.payload["pickup_at"]))
        text = (
            f"Order {name} is not packed: {timer.payload['carrier']} picks up at "
            f"{_local(pickup, warehouse)} ({timer.payload['minutes']} min)"
        )
        uow.audit.record(
            [
                AuditEntry(
                    now,
                    PLAYBOOK,
                    "pickup.at_risk",
                    f"order:{state.shop}:{state.order_id}",
                    after={**timer.payload, "lead": warehouse.lead},
                )
            ]
        )
        if self.notify is not None:
            self.notify(uow, warehouse.lead, f"At risk: {text}", text, now, True)

    def cutoff(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The cut-off passed unpacked: a case for the warehouse, due when the truck comes."""
        found = self._still_open(uow, timer)
        if found is None:
            return
        state, warehouse = found
        pickup = datetime.fromisoformat(str(timer.payload["pickup_at"]))
        name = state.snapshot.name if state.snapshot else str(state.order_id)
        record = CaseRecord(
            id=f"{timer.subject}-case",
            shop=state.shop,
            kind="fulfilment",
            queue=warehouse.queue,
            title=f"Order {name} not packed for the {timer.payload['carrier']} pickup at {_local(pickup, warehouse)}",
            reason=f"same-day promise: packed by {timer.payload['ship_by']} (pickup minus handling), not packed",
            opened_at=now,
            order_id=state.order_id,
            source=f"{PLAYBOOK}:{timer.id}",
            priority="high",
            detail={
                "playbook": PLAYBOOK,
                "owner": warehouse.lead,
                "hard_deadline": pickup.isoformat(),
                "warehouse": warehouse.id,
                "carrier": timer.payload["carrier"],
                "ship_by": timer.payload["ship_by"],
                "pickup_at": pickup.isoformat(),
            },
        )
        case = open_case(uow, record, self.hooks_provider(), now)
        if (
            case.due_at is None and case.status.active
        ):  # no SLA policy on the queue: the pickup is the deadline
            uow.cases.set_due(case.id, pickup)

    def missed(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The truck came and the order was not on it: record it, and watch for the next pickup."""
        found = self._still_open(uow, timer)
        if found is None:
            return
        state, warehouse = found
        p = timer.payload
        plan = ShipBy(
            str(p["carrier"]),
            datetime.fromisoformat(str(p["pickup_at"])),
            datetime.fromisoformat(str(p["ship_by"])),
        )
        uow.pickups.record_missed(
            MissedPickup(
                state.shop, state.order_id, warehouse.id, plan.carrier, plan.pickup_at, plan.ship_by, now
            )
        )
        uow.audit.record(
            [
                AuditEntry(
                    now, PLAYBOOK, "pickup.missed", f"order:{state.shop}:{state.order_id}", after=dict(p)
                )
            ]
        )
        following = after_missed(warehouse, plan)
        if following is not None:
            uow.timers.schedule(self._timers(state.shop, state.order_id, warehouse, following, now))

    def _still_open(self, uow: UnitOfWork, timer: Timer) -> tuple[OrderState, Warehouse] | None:
        state = uow.orders.find(
            ShopDomain(str(timer.payload["shop"])), OrderId(int(timer.payload["order_id"]))
        )
        warehouse = next((w for w in self.warehouses if w.id == timer.payload["warehouse"]), None)
        if state is None or warehouse is None or not is_open(state):
            return None
        return state, warehouse


def missed_pickups(
    uow: UnitOfWork, shop: str | None = None, since: datetime | None = None
) -> list[MissedPickup]:
    """The missed pickups recorded (of a shop, from ``since``), for the dashboard and the scorecard."""
    return uow.pickups.missed(shop, since)


def _local(at: datetime, warehouse: Warehouse) -> str:
    return at.astimezone(zone(warehouse.timezone)).strftime("%a %H:%M %Z")
