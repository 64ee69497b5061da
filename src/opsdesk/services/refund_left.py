"""What is left to refund of a case's request now (ADR 0052, amended): what a person may approve.

A case opened for a return may be reopened after its return was refunded (from the case, or in Shopify admin):
approving its first amount again would be refused by the outbox's last look (``refund_guard``) and open a
follow-up case. The page offers what is left instead, and the resolution refuses more, before anything is queued.
What is left of a return is what its own units not refunded yet are worth (ADR 0055), from the units its request's
facts name, and never more than the order has left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from opsdesk.domain.cases import Case
from opsdesk.domain.events import OrderId, ReturnChange, ReturnChanged, ReturnLine, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.refunds import refund_naming
from opsdesk.ports import UnitOfWork
from opsdesk.services.facts import return_amount


@dataclass(frozen=True, slots=True)
class Left:
    """What is left to refund (``None``: not known, nothing refuses) and why it is less than asked (``why``)."""

    amount: Decimal | None
    why: str = ""


def refund_left(state: OrderState | None, case: Case, source: Mapping[str, Any]) -> Left:
    """What the order ``state`` has left to refund for ``case``'s request (``source``: the facts of the event that
    opened it): nothing once its return was refunded; otherwise at most what its return's units not refunded yet
    are worth, when the facts name them, and at most what the order has left (its total less what was refunded)."""
    if state is None or case.order_id is None:
        return Left(None)
    return_id = source.get("return_id")
    if type(return_id) is int and (named := refund_naming(state, return_id)) is not None:
        return Left(Decimal(0), f"return {return_id} was refunded in Shopify (refund {named})")
    if state.snapshot is None:
        return Left(None)
    remainder = state.snapshot.total.amount - state.refunded
    if remainder <= 0:
        return Left(Decimal(0), f"the order was refunded in full ({state.refunded} refunded already)")
    units = _units_left(state, case, return_id, source.get("units"))
    if units is not None and units <= 0:
        return Left(Decimal(0), f"the items of return {return_id} were refunded already")
    if units is not None and units < remainder:
        return Left(units, f"return {return_id}'s units not refunded yet are worth {units} (the order has "
                           f"{remainder} left)")
    return Left(remainder, f"the order has {remainder} left to refund ({state.refunded} refunded already)")


def _units_left(state: OrderState, case: Case, return_id: object, units: object) -> Decimal | None:
    """What the return's units not refunded yet are worth now (``facts.return_amount``, as the refund's last look
    counts them); None when the facts name no unit (a case opened before ADR 0055) or their worth is not known."""
    if type(return_id) is not int or not isinstance(units, list) or not units:
        return None
    try:
        lines = tuple(ReturnLine(item, int(quantity), "", "", None) for item, quantity in units)
    except (TypeError, ValueError):
        return None
    event = ReturnChanged(state.shop, case.opened_at, ReturnChange.REQUESTED, return_id, state.order_id, "", lines)
    return return_amount(event, state)


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
