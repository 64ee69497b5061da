"""Address validation: the carrier checks a paid order's address; refused, the order is held and the customer asked.

When an order is paid, a ``verify_address`` action asks the current carrier about its shipping address.
If the carrier refuses the address (``ADDRESS.VERIFY.FAILURE`` and friends), the order's fulfilment
orders are held (``INCORRECT_ADDRESS``, under the handle ``opsdesk-address``), the customer is asked to
confirm their address, and an ``address_reply`` timer waits ``reply_hours``. A changed address on the order
(the customer's answer arrives as ``orders/updated``) is checked again; accepted, the address hold is released,
and only it: a fraud hold or one placed by hand stays. No change by the deadline: a case in the fulfilment
queue, whose person releases the address hold (``release_hold``) once the address is fixed in Shopify or to
ship as is. An answer that comes after the case opened, while it is open, is checked all the same: accepted,
the address hold is released and the case settled (``cases.settle``: resolved saying why, or marked moot for
the person working on it); refused again, the case's timeline says so, with the carrier's answer, its owner is
told, a case waiting on the customer goes back to them (``cases.add_news``), and the case stays open. The
address hold released by a person while the customer's answer is still awaited (resolving a fulfilment case of
the order) ends the wait.

Each answer is a check of its own, named after the order's version that gave it: an address refused before and
given again is checked (and asked about) again. Only the check of the order's current address decides, and a
held order is never left without a wait or a case: the reply timer finding the address changed waits for that
address's check, or opens the case when none is out.

Once nothing waits on the customer (the first check passed, the address hold was released: an answer accepted,
or a person released it, or their case was resolved), a change of the address of an order paid and neither
fulfilled nor cancelled is checked too, with the first check's consequences (refused: held, asked, the reply
timer, then the case; accepted: nothing). A change is an address other than the one of the order's newest check
(checks keep the order's version they checked): an ``orders/updated`` that leaves the address as it was, or the
same version delivered again, checks nothing. The case of an address refused again after such a change is one of
its own, named after that version too, so an address whose case was resolved before gets a new case.

This module is the monitor: which orders' addresses to check, which check's outcome decides, the reply timer.
Beside it: the names and fingerprints of the checks (``address_checks.py``), and what an outcome does: hold and
ask, release, note an answer (``address_response.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property

from opsdesk.config_playbooks import AddressValidationConfig
from opsdesk.domain.carriers import PROVIDER, VERIFY_ADDRESS, Failure, classify, code_of
from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.events import OrderChange, OrderChanged, StoreEvent
from opsdesk.domain.holds import HoldPurpose
from opsdesk.domain.orders import PAID, OrderState
from opsdesk.domain.outbox import ActionStatus, Delivered, SendResult
from opsdesk.domain.records import AuditEntry, CaseRecord, OutboxAction, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services import monitors
from opsdesk.services.address_checks import (
    PLAYBOOK,
    REPLY,
    SOURCE,
    case_id,
    checking,
    fingerprint,
    last_checked,
    shippable,
    snap_at,
    step_decision,
    subject,
)
from opsdesk.services.address_response import AddressResponse
from opsdesk.services.carriers import CarrierHealth
from opsdesk.services.cases import CaseHooks, open_case
from opsdesk.services.pipeline_batch import OrderKey


@dataclass(frozen=True)
class AddressValidation:
    settings: AddressValidationConfig
    carriers: CarrierHealth
    hooks: Callable[[], CaseHooks]

    @cached_property
    def _respond(self) -> AddressResponse:
        return AddressResponse(self.settings, self.hooks)

    def watch(self, uow: UnitOfWork, events: Sequence[StoreEvent],
              states: Mapping[OrderKey, OrderState], now: datetime) -> None:
        """Pipeline watcher: check the address of a newly paid order, a changed one while on hold (the
        customer's answer, awaited, or come after their case opened), and a changed one of a paid order that
        nothing waits on (``_changed``).

        The reply timers of all the batch's orders are read at once, their open cases once per shop, and the
        current carrier once: nothing in here schedules or ends a timer.
        """
        orders = [(event, state) for event in events if isinstance(event, OrderChanged)
                  and (state := states.get((event.shop, event.order_id))) is not None
                  and state.snapshot is not None and state.snapshot.shipping_address is not None]
        carrier = self.carriers.current(uow) if orders and self.settings.enabled else None
        if carrier is None:
            return
        waiting = monitors.pending_timers(uow, [subject(event.shop, event.order_id) for event, _ in orders], REPLY)
        cases = self._open_cases(uow, [s for _, s in orders if subject(s.shop, s.order_id) not in waiting], now)
        checks: list[OutboxAction] = []
        changed: dict[tuple[str, int], OrderState] = {}
        for event, state in orders:
            held = waiting.get(subject(event.shop, event.order_id))
            case = cases.get((state.shop, state.order_id))
            if held is not None and held.payload.get("fingerprint") != fingerprint(state):
                checks.append(self._verify(state, carrier, now, held=True, answer=True))
            elif case is not None:
                if case.detail.get("fingerprint") != fingerprint(state):
                    answer = "fingerprint" in case.detail  # see _open_cases
                    checks.append(self._verify(state, carrier, now, held=True, answer=answer, case=case.id))
            elif held is None and event.change is OrderChange.PAID and state.payment_status in PAID:
                checks.append(self._verify(state, carrier, now, held=False))
            elif held is None and case is None and event.order.updated_at == snap_at(state) and shippable(state):
                changed[(state.shop, state.order_id)] = state  # brought the order's address as it is now
        checks += self._changed(uow, changed, {(a.shop, a.order_id) for a in checks}, carrier, now)
        if checks:
            uow.outbox.add_many(checks)

    def _changed(self, uow: UnitOfWork, states: Mapping[tuple[str, int], OrderState],
                 checking: set[tuple[str, int | None]], carrier: str, now: datetime) -> list[OutboxAction]:
        """The checks of the orders whose address changed since their last check, when nothing waits on their
        answer: the first check passed, or the hold was released (an answer accepted, or by a person). An order
        never checked is the first check's (``orders/paid``), one checked in this batch already is done. Their
        checks so far are read in one statement per shop."""
        by_shop: dict[str, list[int]] = {}
        for shop, order_id in states.keys() - checking:
            by_shop.setdefault(shop, []).append(order_id)
        checks = []
        for shop, order_ids in by_shop.items():
            for order_id, done in uow.outbox.for_orders(shop, order_ids, VERIFY_ADDRESS).items():
                state = states[(shop, order_id)]
                if last_checked(done) != fingerprint(state):
                    checks.append(self._verify(state, carrier, now, held=False, answer=True))
        return checks

    def _open_cases(
        self, uow: UnitOfWork, states: Sequence[OrderState], now: datetime
    ) -> dict[tuple[str, int], CaseRecord]:
        """The open address cases of these orders, in one read per shop, but for those marked moot (the answer
        that settled them was accepted). Only an order placed ``reply_hours`` ago or more can have one: most
        events are about younger orders, whose cases are not read.

        A case opened before the monitor kept its address (``detail["fingerprint"]``) has every change of its
        order checked, the one address it was opened for too: that check has the id of the first one, so the
        outbox keeps the first and adds nothing."""
        placed_by = now - timedelta(hours=self.settings.reply_hours)
        by_shop: dict[str, list[int]] = {}
        for state in states:
            if state.snapshot is not None and state.snapshot.created_at <= placed_by:
                by_shop.setdefault(state.shop, []).append(state.order_id)
        found: dict[tuple[str, int], CaseRecord] = {}
        for shop, order_ids in by_shop.items():
            for order_id, cases in uow.cases.for_orders(shop, order_ids).items():
                for case in cases:
                    if case.source == SOURCE and CaseStatus(case.status).active and "moot" not in case.detail:
                        found[(shop, order_id)] = case
        return found

    def _verify(
        self, state: OrderState, carrier: str, now: datetime, *, held: bool, answer: bool = False, case: str = ""
    ) -> OutboxAction:
        """The check of the order's address: the first one, or (``answer``) one the customer gave."""
        snap = state.snapshot
        assert snap is not None
        payload = {"shop": state.shop, "order_id": state.order_id, "carrier": carrier, "held": held,
                   "address": monitors.address_dict(snap.shipping_address), "fingerprint": fingerprint(state),
                   "version": snap.updated_at.isoformat(),
                   **({"answer": snap.updated_at.isoformat()} if answer else {}), **({"case": case} if case else {})}
        return monitors.outbox_action(step_decision("address", payload), 0, VERIFY_ADDRESS, PROVIDER, state, state.shop,
                                      payload, now)

    def on_outcome(self, uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool:
        """Outcome hook of ``verify_address``: a refused address holds the order and asks the customer.

        The order is read only when there is something to do: most checks pass on an order never held.
        """
        if isinstance(result, Delivered):
            if not action.payload.get("held"):
                return False  # nothing to release
        elif action.status is not ActionStatus.FAILED or classify(code_of(result.reason)) is not Failure.ADDRESS:
            return False  # retried by the outbox, or a carrier failure: the usual automation case
        state = monitors.find_order(uow, action.shop, action.order_id)
        if state is None:
            return False
        if action.payload.get("case"):
            self._respond.answered(uow, state, action, result, str(action.payload["case"]), now)
        elif self._decides(uow, state, action):
            if isinstance(result, Delivered):
                self._respond.release(uow, state, action, now)
            else:
                self._respond.hold(uow, state, action, result.reason, now)
        return not isinstance(result, Delivered)

    def _decides(self, uow: UnitOfWork, state: OrderState, action: OutboxAction) -> bool:
        """Whether a check still decides: the order's address is still the one checked (else a newer address's
        check decides, or the reply timer, for an address it waits on already), and this address was not decided
        already (the reply timer waits on it: the check of the same answer, delivered again, asked). The check of
        an answer needs the reply still awaited (else the wait has ended: the hold released, or the case opened);
        the check of an order nobody waits on (the first, or a change once released) holds it."""
        checked = action.payload.get("fingerprint")
        timer = monitors.switched(uow, subject(state.shop, state.order_id), REPLY)
        if fingerprint(state) != checked or (timer is not None and timer.payload.get("fingerprint") == checked):
            return False
        return timer is not None or not action.payload.get("held")

    def on_release(self, uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool:
        """Outcome hook of ``release_hold``: the address hold released while the customer's answer is awaited (by
        a person, resolving a fulfilment case of the order) ends the wait, so that no case opens later for an
        order no longer held for its address, and a late answer is not checked again. The audit names who
        released it. A release of other holds (a fraud review's) leaves the wait as it is. (Our own release,
        after an accepted address, has stopped the timer already.)"""
        named = action.payload.get("holds") or ()
        if not isinstance(result, Delivered) or action.order_id is None or HoldPurpose.ADDRESS not in named:
            return False
        key = subject(action.shop, action.order_id)
        if uow.timers.cancel(key, [REPLY]):
            decided = [d for d in uow.decisions.for_order(action.shop, action.order_id) if d.id == action.decision_id]
            who = str(decided[0].inputs.get("actor") or "automation") if decided else "automation"
            uow.audit.record([AuditEntry(now, who, "address.released", key, None, {"decision": action.decision_id})])
        return False

    def reply_due(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``address_reply`` timer: no new address from the customer in time is a case.

        An address changed since the customer was asked is waited on while its check is out (its outcome
        decides, and needs the wait to); one that nothing checks any more (the check failed) is a case all the
        same: the order, held, is a person's."""
        state = monitors.find_order(uow, str(timer.payload["shop"]), int(timer.payload["order_id"]))
        if state is None or state.snapshot is None:
            return
        asked = timer.payload.get("fingerprint")
        if fingerprint(state) != asked and checking(uow, state):
            uow.timers.schedule([replace(timer, due_at=now + timedelta(hours=self.settings.reply_hours))])
            return
        cid = case_id(state.shop, state.order_id, asked, timer.payload.get("answer", ""))
        monitors.record_decision(uow, cid, state.shop, state.order_id, PLAYBOOK, "no-reply", "escalate",
                                 f"no reply {self.settings.reply_hours:g} h after asking", {}, now)
        open_case(uow, CaseRecord(
            id=cid, shop=state.shop,
            kind="address", queue=self.settings.queue,
            title=f"Order {state.snapshot.name}: address refused, no reply from the customer",
            reason=f"held since {timer.payload.get('asked_at')}; carrier said: {timer.payload.get('error')}",
            opened_at=now, order_id=state.order_id, source=SOURCE, priority=self.settings.priority,
            detail={"playbook": PLAYBOOK, "fingerprint": asked},
        ), self.hooks(), now)

