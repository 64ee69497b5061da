"""Return labels: bought when a return is approved, retried, moved to the fallback carrier, then a person.

On ``return.approved`` a ``return_label`` action goes to the current carrier (the primary, or the fallback
while the primary is switched off) and a ``label_deadline`` timer is armed ``deadline_minutes`` later.
Transient carrier errors are retried by the outbox with backoff. A final failure on the first carrier
(permanent, or retries exhausted) becomes a label action on the fallback carrier; a final failure there,
or an address the carrier refuses, becomes a case in the returns queue and the customer is told their
label is in hand. The deadline timer is the dead-man SLA: at fire time, no label bought means the case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.config_playbooks import ReturnLabelsConfig
from opsdesk.domain.carriers import PROVIDER, RETURN_LABEL, Failure, classify, code_of
from opsdesk.domain.events import ReturnChange, ReturnChanged, StoreEvent
from opsdesk.domain.ids import fit_id
from opsdesk.domain.orders import OrderState, superseded
from opsdesk.domain.outbox import ActionStatus, Delivered, SendResult
from opsdesk.domain.records import CaseRecord, OutboxAction, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services import monitors
from opsdesk.services.carriers import CarrierHealth
from opsdesk.services.cases import CaseHooks, open_case
from opsdesk.services.pipeline_batch import OrderKey

DEADLINE = "label_deadline"
PLAYBOOK = "return-labels"


def subject(shop: str, return_id: int) -> str:
    return f"return:{shop}:{return_id}"


def timer_id(shop: str, return_id: int) -> str:
    return f"{DEADLINE}:{shop}:{return_id}"


def label_decision(shop: str, return_id: int, attempt: int) -> str:
    """The decision to buy a return's label (attempt 0, 1 with the fallback carrier): the action's id comes
    from it (``monitors.outbox_action``)."""
    return f"label:{shop}:{return_id}:{attempt}"


def case_id(shop: str, return_id: int) -> str:
    return fit_id(f"label-{shop}-{return_id}", "-")


def case_decision(shop: str, return_id: int) -> str:
    """The decision to hand the return's label to a person."""
    return fit_id(f"label-case:{shop}:{return_id}")


def in_hand_decision(shop: str, return_id: int) -> str:
    """The decision to tell the customer their label is in hand (the email's id comes from it)."""
    return f"label-in-hand:{shop}:{return_id}"


@dataclass(frozen=True)
class ReturnLabels:
    settings: ReturnLabelsConfig
    carriers: CarrierHealth
    hooks: Callable[[], CaseHooks]

    def watch(self, uow: UnitOfWork, events: Sequence[StoreEvent],
              states: Mapping[OrderKey, OrderState], now: datetime) -> None:
        """Pipeline watcher: a label for each newly approved return, and its dead-man deadline."""
        approved = [e for e in events if isinstance(e, ReturnChanged) and e.change is ReturnChange.APPROVED]
        if not approved or not self.settings.enabled:
            return  # most batches approve no return: no need to read which carrier is current
        carrier = self.carriers.current(uow)  # nothing below switches carriers
        if carrier is None:
            return  # without a carrier label API, labels are not the desk's to buy
        for event in approved:
            state = states.get((event.shop, event.order))
            if late := superseded(event, state):  # approved, then closed or declined: nothing to send back
                monitors.record_decision(uow, label_decision(event.shop, event.return_id, 0), event.shop, event.order,
                                         PLAYBOOK, "label-on-approval", "ignore", late,
                                         {"return_id": event.return_id}, now)
                continue
            self._approved(uow, event, state, carrier, now)

    def _approved(
        self, uow: UnitOfWork, event: ReturnChanged, state: OrderState | None, carrier: str, now: datetime
    ) -> None:
        due = now + timedelta(minutes=self.settings.deadline_minutes)
        payload = {"shop": event.shop, "order_id": event.order, "return_id": event.return_id}
        uow.timers.schedule([Timer(timer_id(event.shop, event.return_id), DEADLINE,
                                   subject(event.shop, event.return_id), due, payload)])
        if state is None or state.snapshot is None:
            return  # no order to take the address from: the deadline opens the case
        action = self._label(state, event.return_id, carrier, 0, now)
        uow.outbox.add_many([action])
        monitors.record_decision(uow, action.decision_id, event.shop, event.order, PLAYBOOK, "label-on-approval",
                                 "automate", f"return {event.return_id} approved: return label from {carrier}",
                                 {"return_id": event.return_id, "carrier": carrier}, now)

    def _label(self, state: OrderState, return_id: int, carrier: str, attempt: int, now: datetime) -> OutboxAction:
        snap = state.snapshot
        payload = {"shop": state.shop, "order_id": state.order_id, "return_id": return_id, "carrier": carrier,
                   "attempt": attempt, "address": monitors.address_dict(snap.shipping_address if snap else None),
                   "order_name": snap.name if snap else ""}
        decision = label_decision(state.shop, return_id, attempt)
        return monitors.outbox_action(decision, 0, RETURN_LABEL, PROVIDER, state, state.shop, payload, now)

    def on_outcome(self, uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool:
        """Outcome hook of ``return_label``: a bought label ends the deadline; a final failure falls back."""
        return_id = int(action.payload["return_id"])
        if isinstance(result, Delivered):
            uow.timers.cancel(subject(action.shop, return_id), [DEADLINE])
            monitors.audit(uow, now, "label.created", subject(action.shop, return_id), dict(result.response))
            return False
        if action.status is not ActionStatus.FAILED:
            return False  # the outbox retries it
        state = monitors.find_order(uow, action.shop, action.order_id)
        fallback = self.carriers.connector.fallback
        address = classify(code_of(result.reason)) is Failure.ADDRESS
        if state is not None and not address and int(action.payload.get("attempt", 0)) == 0 \
                and fallback and fallback != action.payload.get("carrier"):
            retry = self._label(state, return_id, fallback, 1, now)
            uow.outbox.add_many([retry])
            monitors.record_decision(uow, retry.decision_id, action.shop, action.order_id, PLAYBOOK,
                                     "fallback-carrier", "automate", f"{result.reason}: label from {fallback}",
                                     {"return_id": return_id, "carrier": fallback}, now)
            monitors.audit(uow, now, "label.fallback", subject(action.shop, return_id),
                           {"from": action.payload.get("carrier"), "to": fallback, "error": result.reason})
            return True
        self.escalate(uow, action.shop, action.order_id, return_id, state, result.reason, now)
        return True

    def deadline(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``label_deadline`` timer: no label bought by now is a case (the automation has stalled)."""
        shop, order_id = str(timer.payload["shop"]), timer.payload.get("order_id")
        return_id = int(timer.payload["return_id"])
        actions = uow.outbox.for_order(shop, order_id) if order_id is not None else []
        labels = [a for a in actions if a.kind == RETURN_LABEL and a.payload.get("return_id") == return_id]
        if any(a.status is ActionStatus.SENT for a in labels):
            return
        last = (max(labels, key=lambda a: a.created_at).last_error if labels
                else "none requested: the order was not known at approval")
        state = monitors.find_order(uow, shop, order_id)
        minutes = f"{self.settings.deadline_minutes:g}"
        self.escalate(uow, shop, order_id, return_id, state,
                      f"no return label {minutes} minutes after approval ({last or 'still trying'})", now)

    def escalate(self, uow: UnitOfWork, shop: str, order_id: int | None, return_id: int,
                 state: OrderState | None, reason: str, now: datetime) -> None:
        """The case for a person, and (once) the customer told that their label is in hand."""
        monitors.record_decision(uow, case_decision(shop, return_id), shop, order_id, PLAYBOOK,
                                 "label-needs-a-person", "escalate", reason, {"return_id": return_id}, now)
        open_case(uow, CaseRecord(
            id=case_id(shop, return_id), shop=shop, kind="return", queue=self.settings.queue,
            title=f"Return label missing for {_about(order_id, return_id, state)}", reason=reason, opened_at=now,
            order_id=order_id, source=f"monitor:{PLAYBOOK}", priority=self.settings.priority,
            detail={"playbook": PLAYBOOK, "return_id": return_id},
        ), self.hooks(), now)
        if self.settings.tell_customer and state is not None:
            email = monitors.customer_email(in_hand_decision(shop, return_id), 0, state,
                                            "return_label_in_hand", now)
            if email is not None:
                uow.outbox.add_many([email])


def _about(order_id: int | None, return_id: int, state: OrderState | None) -> str:
    """Whose return, for the case's title: the order's name, else ``order <id>`` (the pages show the
    name once the order is stored), else the return itself; the return's id is in the case's detail."""
    if state is not None and state.snapshot is not None and state.snapshot.name:
        return f"order {state.snapshot.name}"
    return f"order {order_id}" if order_id is not None else f"return {return_id}"
