"""What is left to refund of a case's request now (ADR 0052, amended): what a person may approve.

A case opened for a return may be reopened after its return was refunded (from the case, or in Shopify admin):
approving its first amount again would be refused by the outbox's last look (``refund_guard``) and open a
follow-up case. The page offers what is left instead, and the resolution refuses more, before anything is queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from opsdesk.domain.cases import Case
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.refunds import refund_naming
from opsdesk.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Left:
    """What is left to refund (``None``: not known, nothing refuses) and why it is less than asked (``why``)."""

    amount: Decimal | None
    why: str = ""


def refund_left(state: OrderState | None, case: Case, return_id: object) -> Left:
    """What the order ``state`` has left to refund for ``case``'s request: nothing once its return was refunded;
    otherwise at most what the order has left (its total less what was refunded)."""
    if state is None or case.order_id is None:
        return Left(None)
    if type(return_id) is int and (named := refund_naming(state, return_id)) is not None:
        return Left(Decimal(0), f"return {return_id} was refunded in Shopify (refund {named})")
    if state.snapshot is None:
        return Left(None)
    remainder = state.snapshot.total.amount - state.refunded
    if remainder <= 0:
        return Left(Decimal(0), f"the order was refunded in full ({state.refunded} refunded already)")
    return Left(remainder, f"the order has {remainder} left to refund ({state.refunded} refunded already)")


def refused(left: Left, amount: Decimal | None) -> str:
    """Why approving ``amount`` is refused ("" when it may be): nothing left, or more than is left."""
    if left.amount is None:
        return ""
    if left.amount <= 0:
        return f"nothing is left to refund: {left.why}"
    if amount is not None and amount > left.amount:
        return f"{amount} is more than is left to refund: {left.why}"
    return ""


def order_state(uow: UnitOfWork, case: Case) -> OrderState | None:
    """The case's order as the desk knows it now (None: no order)."""
    if case.order_id is None:
        return None
    return uow.orders.find(ShopDomain(case.shop), OrderId(case.order_id))
