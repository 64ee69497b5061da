"""Payment gateway timeouts: an order still pending payment past its limit is checked again, then chased.

1. When an order is first seen pending, a durable timer is set for ``created_at + pending_after``
   (no sweep over orders: one timer per pending order).
2. When it fires, the order is read again: paid, voided or cancelled since, nothing happens. Still
   pending, it raises ``payment.overdue`` (stage ``due``); ``playbooks/payments.yaml`` asks Shopify's
   Admin API again (a ``check_payment`` action through the outbox).
3. The check's outcome raises ``payment.overdue`` (stage ``checked``) with what Shopify said; the
   playbook reminds the customer and opens a ``payments`` case, or stops when the payment went through
   and only its webhook was lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from opsdesk.domain.events import OrderChanged, OrderId, ShopDomain, StoreEvent
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import ActionStatus, Delivered, SendResult
from opsdesk.domain.records import OutboxAction, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services.pipeline_batch import OrderKey
from opsdesk.services.signals import emit

PAYMENT_PENDING = "payment_pending"
OVERDUE = "opsdesk/payment_overdue"
PENDING = frozenset({"pending"})


class PaymentWatch:
    """The pipeline watcher that arms one timer per order first seen pending, and fires it."""

    def __init__(self, pending_after: timedelta = timedelta(minutes=30)) -> None:
        self.pending_after = pending_after

    def __call__(
        self,
        uow: UnitOfWork,
        events: Sequence[StoreEvent],
        states: Mapping[OrderKey, OrderState],
        now: datetime,
    ) -> None:
        timers = []
        for event in events:
            if not isinstance(event, OrderChanged):
                continue
            state = states.get((event.shop, event.order.id))
            if state is not None and state.payment_status in PENDING and state.snapshot is not None:
                timers.append(self._timer(state, state.snapshot.created_at))
        if timers:
            uow.timers.schedule(timers)

    def _timer(self, state: OrderState, created_at: datetime) -> Timer:
        minutes = int(self.pending_after.total_seconds() // 60)
        return Timer(
            id=f"{PAYMENT_PENDING}:{state.shop}:{state.order_id}",
            kind=PAYMENT_PENDING,
            subject=f"order:{state.shop}:{state.order_id}",
            due_at=created_at + self.pending_after,
            payload={"shop": state.shop, "order_id": state.order_id, "minutes": minutes},
        )

    def fire(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The limit has passed: raise ``payment.overdue`` if the order is still pending and open."""
        shop, order_id = ShopDomain(str(timer.payload["shop"])), OrderId(int(timer.payload["order_id"]))
        state = uow.orders.find(shop, order_id)
        if state is None or state.payment_status not in PENDING or _cancelled(state):
            return  # paid, voided or cancelled since: the stop condition
        payload = {"order_id": order_id, "stage": "due", "minutes": int(timer.payload["minutes"])}
        emit(uow, shop, OVERDUE, f"{order_id}:due", payload, now)


def checked(
    uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime, *, slow: frozenset[str] = frozenset()
) -> bool:
    """The outbox hook of ``check_payment``: raise ``payment.overdue`` (stage ``checked``) with the answer.

    ``slow``: the payment methods that clear slowly by design, casefolded (the stuck-order monitor's
    ``pending_by_gateway``); the event says whether the order was paid with one (``slow_method``), so the
    playbook reads the one list in ``opsdesk.yaml`` instead of a copy of its own. A check that failed for
    good raises the event too, with ``unknown``: the playbook's case covers it, so no automation-failure
    case is opened beside it (returns True).
    """
    if action.status is ActionStatus.PENDING or action.order_id is None:
        return False  # a retry is coming
    answer = result.response if isinstance(result, Delivered) else {}
    gateways = [str(g) for g in answer.get("gateways") or []]
    payload = {
        "order_id": action.order_id,
        "stage": "checked",
        "minutes": int(action.payload.get("minutes") or 0),
        "checked_status": str(answer.get("financial_status") or "unknown").upper(),
        "gateways": gateways,
        "slow_method": any(g.casefold() in slow for g in gateways),
    }
    emit(uow, action.shop, OVERDUE, f"{action.order_id}:checked", payload, now)
    return True


def _cancelled(state: OrderState) -> bool:
    return state.snapshot is not None and state.snapshot.cancelled_at is not None
