"""Delayed fulfilment: follow-ups to the customer on a cadence until the order ships; late enough, a case.

A paid, unfulfilled order gets one ``followup`` timer, due at its ship-by time (the order's ``ship_by``,
else ``promise_hours`` after it was placed). When it fires, the order is read again: shipped, cancelled or
refunded means stop (a fulfilment event also cancels the timer at once). Otherwise, a templated email
goes out if the cadence allows, the customer is awake (quiet hours in their time zones) and under the
per-customer limit, and email is not throttled; else the timer moves to when it may. Late by more than
``case_after_hours``, the order becomes a case in the fulfilment queue; should it ship (or be cancelled),
the case is resolved, saying so (one somebody has started on stays theirs, marked moot). Progress
(messages sent, the last one's time) is a row of its own, so a re-armed timer never repeats a message;
the retention sweep (``followup_retention``) deletes it once the follow-up has long ended.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from opsdesk.config_playbooks import DelayedFulfilmentConfig
from opsdesk.domain.events import OrderChange, OrderChanged, StoreEvent
from opsdesk.domain.ids import fit_id
from opsdesk.domain.orders import PAID, OrderState
from opsdesk.domain.records import CaseRecord, FollowupProgress, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services import monitors
from opsdesk.services.cases import CaseHooks, open_case, settle
from opsdesk.services.messaging_health import EmailHealth
from opsdesk.services.pipeline_batch import OrderKey
from opsdesk.services.tracking import case_tracking

FOLLOWUP = "followup"
PLAYBOOK = "delayed-fulfilment"
FINAL_PAYMENT = frozenset({"refunded", "voided"})


def subject(shop: str, order_id: int) -> str:
    return f"order:{shop}:{order_id}"


def timer_id(shop: str, order_id: int) -> str:
    return f"{FOLLOWUP}:{shop}:{order_id}"


def case_id(shop: str, order_id: int) -> str:
    """The case (and the decision that opens it) of an order late beyond the threshold."""
    return fit_id(f"delayed-{shop}-{order_id}", "-")


def message_decision(shop: str, order_id: int, number: int) -> str:
    """The decision to send follow-up ``number``: its email's id comes from it (``monitors.outbox_action``)."""
    return f"followup:{shop}:{order_id}:{number}"


def shipped(state: OrderState) -> bool:
    return bool(state.fulfillments) or state.fulfilment_status in {"fulfilled", "partial", "partially_fulfilled"}


def closed(state: OrderState) -> bool:
    snap = state.snapshot
    return snap is not None and (snap.cancelled_at is not None or snap.financial_status in FINAL_PAYMENT)


@dataclass(frozen=True)
class DelayedFulfilment:
    settings: DelayedFulfilmentConfig
    email: EmailHealth
    hooks: Callable[[], CaseHooks]
    shop_zone: Callable[[str], str] = lambda _shop: "UTC"
    #: The ship-by a carrier pickup schedule gives the order (services/pickups.py), when one applies.
    promise: Callable[[OrderState], datetime | None] | None = None

    @property
    def per_customer_window(self) -> timedelta:
        """The window the per-customer limit counts follow-ups in."""
        return timedelta(hours=self.settings.per_customer_hours)

    def ship_by(self, state: OrderState) -> datetime:
        """The pickup schedule's ship-by, else the order's own (``handling_hours``), else ``promise_hours``."""
        planned = self.promise(state) if self.promise is not None else None
        if planned is not None:
            return planned
        if state.ship_by is not None:
            return state.ship_by
        assert state.snapshot is not None
        return state.snapshot.created_at + timedelta(hours=self.settings.promise_hours)

    def watch(self, uow: UnitOfWork, events: Sequence[StoreEvent],
              states: Mapping[OrderKey, OrderState], now: datetime) -> None:
        """Pipeline watcher: arm the follow-up of a paid unfulfilled order; stop it when the order ships."""
        if not self.settings.enabled:
            return
        # Only the order's arrival and payment arm the timer: later updates need not move it, and arming
        # it again is harmless (progress is durable, so a timer moved back never repeats a message).
        arming = {(e.shop, e.order_id) for e in events
                  if isinstance(e, OrderChanged) and e.change in (OrderChange.CREATED, OrderChange.PAID)}
        timers, stopping = [], []
        for key in {(e.shop, e.order_id) for e in events if e.order_id is not None}:
            state = states.get(key)
            if state is None or state.snapshot is None:
                continue
            if shipped(state) or closed(state):
                # Before its ship-by no follow-up has gone out: the timer stops itself when it fires,
                # which spares a write for every order shipped on time.
                if now >= self.ship_by(state):
                    stopping.append(state)
            elif key in arming and state.payment_status in PAID:
                timers.append(self._timer(state, self.ship_by(state)))
        self._stop(uow, stopping, now)
        if timers:
            uow.timers.schedule(timers)

    def _stop(self, uow: UnitOfWork, states: Sequence[OrderState], now: datetime) -> None:
        """End the follow-ups of these orders, in one statement for them all (it names the ones it stopped)."""
        stopped = uow.timers.cancel_many([subject(s.shop, s.order_id) for s in states], [FOLLOWUP])
        for state in states:
            key = subject(state.shop, state.order_id)
            if key in stopped:
                monitors.audit(uow, now, "followup.stopped", key, {"reason": _why_stop(state)})
            self._settle_case(uow, state, now)

    def _settle_case(self, uow: UnitOfWork, state: OrderState, now: datetime) -> None:
        """The order shipped (or was cancelled) after its delay became a case: the exception is gone, so
        the case is settled (``cases.settle``: resolved, saying why, or marked moot if someone has started on it)."""
        cid = case_id(state.shop, state.order_id)
        if any(c.id == cid for c in uow.cases.for_order(state.shop, state.order_id)):
            settle(uow, cid, f"the order {_why_stop(state)}", now, self.hooks())

    def _timer(self, state: OrderState, due: datetime) -> Timer:
        key = subject(state.shop, state.order_id)
        return Timer(timer_id(state.shop, state.order_id), FOLLOWUP, key, due,
                     {"shop": state.shop, "order_id": state.order_id})

    def fire(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``followup`` timer: re-check the order, then message, open the case, or wait."""
        state = monitors.find_order(uow, str(timer.payload["shop"]), int(timer.payload["order_id"]))
        if state is None or state.snapshot is None or shipped(state) or closed(state):
            monitors.audit(uow, now, "followup.stopped", timer.subject,
                           {"reason": _why_stop(state) if state else "order unknown"})
            return
        ship_by = self.ship_by(state)
        if now < ship_by:  # the promise moved (a new ship-by): wait for it
            uow.timers.schedule([self._timer(state, ship_by)])
            return
        case_at = ship_by + timedelta(hours=self.settings.case_after_hours)
        wake = [] if self._case(uow, state, ship_by, case_at, now) else [case_at]
        wake += self._message(uow, state, ship_by, now)
        if wake:
            uow.timers.schedule([self._timer(state, max(min(wake), now + timedelta(seconds=1)))])

    def _case(self, uow: UnitOfWork, state: OrderState, ship_by: datetime, case_at: datetime,
              now: datetime) -> bool:
        """Open the case once the delay passes the threshold; True when it is open (or was opened)."""
        cid = case_id(state.shop, state.order_id)
        if any(c.id == cid for c in uow.cases.for_order(state.shop, state.order_id)):
            return True
        if now < case_at:
            return False
        hours = (now - ship_by).total_seconds() / 3600
        monitors.record_decision(uow, cid, state.shop, state.order_id, PLAYBOOK, "late-beyond-threshold",
                                 "escalate", f"{hours:.0f} hours past ship-by", {"ship_by": ship_by}, now)
        open_case(uow, CaseRecord(
            id=cid, shop=state.shop, kind="fulfilment", queue=self.settings.queue,
            title=f"Order {state.snapshot.name if state.snapshot else state.order_id} has not shipped",
            reason=f"{hours:.0f} hours past its ship-by time {ship_by.isoformat()} "
                   f"(threshold {self.settings.case_after_hours:g} h)",
            opened_at=now, order_id=state.order_id, source=f"monitor:{PLAYBOOK}",
            priority=self.settings.priority,
            detail={"playbook": PLAYBOOK, "ship_by": ship_by.isoformat(), **case_tracking(state)},
        ), self.hooks(), now)
        return True

    def _message(self, uow: UnitOfWork, state: OrderState, ship_by: datetime, now: datetime) -> list[datetime]:
        """Send the next follow-up if it is due and allowed; the times to look again."""
        progress = uow.followups.find(state.shop, state.order_id)
        sent = progress.sent if progress else 0
        if sent >= self.settings.max_messages:
            return []
        cadence = timedelta(hours=self.settings.cadence_hours)
        due = progress.last_sent_at + cadence if progress else ship_by
        if now < due:
            return [due]
        blocked = self._blocked(uow, state, now)
        if blocked is not None:
            return [blocked]
        throttled = self._send(uow, state, ship_by, sent + 1, now)
        if throttled is not None:  # the message waits; the cadence does not move
            return [throttled]
        started = progress.started_at if progress else now
        uow.followups.record(FollowupProgress(state.shop, state.order_id, sent + 1, started, now))
        return [now + cadence] if sent + 1 < self.settings.max_messages else []

    def _blocked(self, uow: UnitOfWork, state: OrderState, now: datetime) -> datetime | None:
        """Until when a message must wait: quiet hours, the per-customer limit, an email throttle."""
        snap = state.snapshot
        assert snap is not None
        zones = self._zones(state)
        quiet = monitors.quiet_until(zones, self.settings.quiet_hours, now)
        if quiet is not None:
            return quiet
        customer = f"followup|customer|{snap.customer_id or snap.email}"
        window = self.per_customer_window
        if monitors.read(uow, [customer], now, window)[0] >= self.settings.per_customer:
            return monitors.window_start(now, window) + window
        return None

    def _zones(self, state: OrderState) -> tuple[str, ...]:
        snap = state.snapshot
        assert snap is not None
        return monitors.customer_zones(snap.shipping_address, snap.shipping_country, self.shop_zone(state.shop),
                                       self.settings.customer_timezones)

    def _send(
        self, uow: UnitOfWork, state: OrderState, ship_by: datetime, number: int, now: datetime
    ) -> datetime | None:
        """Write follow-up ``number``; or, while email is throttled, say until when it must wait."""
        snap = state.snapshot
        assert snap is not None
        route = self.email.route(uow, state.shop, now)
        if route.wait_until is not None:
            return route.wait_until
        local = ship_by.astimezone(ZoneInfo(self._zones(state)[0]))
        items = sum(li.quantity for li in snap.line_items)
        email = monitors.customer_email(
            message_decision(state.shop, state.order_id, number), 0, state, self.settings.template, now,
            provider=route.provider, ship_by=local.strftime("%A %d %B"),
            items=f"{items} item{'s' if items != 1 else ''}", followup=str(number),
            premise="unshipped",  # in whichever template the shop chose: withdrawn once it ships (ADR 0068)
            **({"message": self.settings.message} if self.settings.message else {}))
        if email is None:
            return None
        uow.outbox.add_many([email])
        monitors.count(uow, f"followup|customer|{snap.customer_id or snap.email}", now, self.per_customer_window)
        monitors.record_decision(uow, email.decision_id, state.shop, state.order_id, PLAYBOOK, "follow-up",
                                 "automate", f"follow-up {number}: late since {ship_by.isoformat()}",
                                 {"ship_by": ship_by, "number": number, "provider": route.provider}, now)
        monitors.audit(uow, now, "followup.sent", subject(state.shop, state.order_id),
                       {"number": number, "action": email.id, "provider": route.provider})
        return None


def _why_stop(state: OrderState) -> str:
    if shipped(state):
        return "shipped"
    return "cancelled or refunded" if closed(state) else "no longer late"
