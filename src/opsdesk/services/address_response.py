"""What the address monitor does with a check's outcome: hold the order and ask, release the hold, note an answer.

Refused (for the first check, or a change nobody waits on): the order's fulfilment orders are held under
``INCORRECT_ADDRESS``, the customer is asked and the ``address_reply`` timer waits ``reply_hours``. Accepted
while the answer is awaited: the address hold, and only it, is released and the wait ends. The check of an
answer given after the case opened settles the case, or notes on it that the carrier refused that one too.
Which check decides is the monitor's (``AddressValidation.on_outcome``, ``services/addresses.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.config_playbooks import AddressValidationConfig
from opsdesk.domain.holds import HoldPurpose
from opsdesk.domain.ids import fit_id
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import Delivered, SendResult
from opsdesk.domain.records import OutboxAction, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services import monitors
from opsdesk.services.address_checks import (
    PLAYBOOK,
    REPLY,
    SOURCE,
    fingerprint,
    one_line,
    step_decision,
    subject,
    timer_id,
)
from opsdesk.services.cases import CaseHooks, add_news, settle


@dataclass(frozen=True)
class AddressResponse:
    settings: AddressValidationConfig
    hooks: Callable[[], CaseHooks]

    def answered(
        self,
        uow: UnitOfWork,
        state: OrderState,
        action: OutboxAction,
        result: SendResult,
        case_id: str,
        now: datetime,
    ) -> None:
        """The check of an address the customer gave after their case opened. Accepted: the hold is released
        and the case settled. Refused again: the case's timeline says so, its owner is told, a case waiting on
        the customer goes back to its owner, and the case keeps the address, so that the same answer is not
        noted twice. A case that ended meanwhile (its person decided) or an address changed again since (its own
        check decides) changes nothing."""
        case = uow.cases.get(case_id)
        checked = action.payload.get("fingerprint")
        if not case.status.active or "moot" in case.detail or fingerprint(state) != checked:
            return
        address = one_line(state.snapshot.shipping_address if state.snapshot else None) or "-"
        if isinstance(result, Delivered):
            self.release(uow, state, action, now)
            why = f"the customer gave a new address ({address}), which the carrier accepted: the hold is released"
            settle(uow, case_id, why, now, self.hooks())
            return
        if case.detail.get("fingerprint") == checked:
            return  # the same answer, delivered again: noted once
        note = f"the customer gave a new address ({address}); the carrier refused it too: {result.reason}"
        add_news(
            uow, case_id, SOURCE, note, now, self.hooks(), {"fingerprint": checked, "error": result.reason}
        )
        monitors.audit(
            uow,
            now,
            "address.refused",
            subject(state.shop, state.order_id),
            {"case": case_id, "fingerprint": checked, "error": result.reason},
        )

    def hold(
        self, uow: UnitOfWork, state: OrderState, action: OutboxAction, reason: str, now: datetime
    ) -> None:
        """Hold the order (for the first check), ask the customer about the address refused, and wait."""
        key = subject(state.shop, state.order_id)
        decision = step_decision("address-hold", action.payload)
        actions = (
            []
            if action.payload.get("held")
            else [
                monitors.outbox_action(
                    decision,
                    0,
                    "hold_fulfillment",
                    "shopify",
                    state,
                    state.shop,
                    {
                        "shop": state.shop,
                        "order_id": state.order_id,
                        "reason": "INCORRECT_ADDRESS",
                        "note": "opsdesk: the carrier refused the shipping address; asked the customer",
                    },
                    now,
                )
            ]
        )
        address = one_line(state.snapshot.shipping_address if state.snapshot else None)
        # The address asked about, by its fingerprint: the email is withdrawn if it changes first (ADR 0068).
        checked = {"fingerprint": str(action.payload["fingerprint"])} if action.payload.get("fingerprint") else {}
        email = monitors.customer_email(
            decision, 1, state, "address_confirm", now, address=address or "-", premise="address", **checked
        )
        uow.outbox.add_many(actions + ([email] if email else []))
        due = now + timedelta(hours=self.settings.reply_hours)
        uow.timers.schedule(
            [
                Timer(
                    timer_id(state.shop, state.order_id),
                    REPLY,
                    key,
                    due,
                    {
                        "shop": state.shop,
                        "order_id": state.order_id,
                        "asked_at": now.isoformat(),
                        "fingerprint": action.payload.get("fingerprint"),
                        "error": reason,
                        **({"answer": action.payload["answer"]} if action.payload.get("answer") else {}),
                    },
                )
            ]
        )
        monitors.record_decision(
            uow,
            fit_id(decision),
            state.shop,
            state.order_id,
            PLAYBOOK,
            "hold-and-ask",
            "automate",
            reason,
            {"fingerprint": action.payload.get("fingerprint")},
            now,
        )
        monitors.audit(uow, now, "address.held", key, {"error": reason, "reply_by": due.isoformat()})

    def release(self, uow: UnitOfWork, state: OrderState, action: OutboxAction, now: datetime) -> None:
        key = subject(state.shop, state.order_id)
        uow.timers.cancel(key, [REPLY])
        uow.outbox.add_many(
            [
                monitors.outbox_action(
                    step_decision("address-release", action.payload),
                    0,
                    "release_hold",
                    "shopify",
                    state,
                    state.shop,
                    {"shop": state.shop, "order_id": state.order_id, "holds": [HoldPurpose.ADDRESS.value]},
                    now,
                )
            ]
        )
        monitors.audit(uow, now, "address.confirmed", key, {"fingerprint": action.payload.get("fingerprint")})
