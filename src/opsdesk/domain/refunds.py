"""What an order's refunds were for, and what of a return is left to refund (ADR 0041).

A refund made in Shopify admin by a person, or by another app, may leave its return open. The order's state keeps,
per refund, the return it names and the line items it refunded (``OrderState.refunded_for``), so that a request
for a return already refunded is not refunded again by the desk, whatever order the webhooks came in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from opsdesk.domain.events import RefundCreated, ReturnChange, ReturnChanged, ReturnLine

if TYPE_CHECKING:
    from opsdesk.domain.orders import OrderState


@dataclass(frozen=True, slots=True)
class RefundFor:
    """What one refund was for: the return it names (None: not made from a return) and the line items it refunded,
    as (line item id, quantity). A refund never changes once made."""

    return_id: int | None = None
    lines: tuple[tuple[int, int], ...] = ()

    @staticmethod
    def of(event: RefundCreated) -> RefundFor:
        return RefundFor(event.return_id, tuple((line.line_item_id, line.quantity) for line in event.lines))

    @property
    def names_anything(self) -> bool:
        return self.return_id is not None or bool(self.lines)


def refunded_for(held: dict[int, RefundFor], refund_id: int, made: RefundFor) -> dict[int, RefundFor]:
    """The refunds with this one. Two deliveries of one refund say the same; were they to differ, the greater is
    kept, so the fold gives the same state in every delivery order."""
    current = held.get(refund_id)
    if not made.names_anything or (current is not None and _rank(current) >= _rank(made)):
        return held
    return {**held, refund_id: made}


def _rank(made: RefundFor) -> tuple[int, tuple[tuple[int, int], ...]]:
    return (-1 if made.return_id is None else made.return_id, made.lines)


def refunded_quantities(state: OrderState) -> dict[int, int]:
    """Units refunded so far, by line item, over every refund the desk heard of."""
    units: dict[int, int] = {}
    for made in state.refunded_for.values():
        for line_item, quantity in made.lines:
            units[line_item] = units.get(line_item, 0) + quantity
    return units


def refund_naming(state: OrderState, return_id: int) -> int | None:
    """The refund made from this return (the least id when several), or None."""
    named = sorted(refund for refund, made in state.refunded_for.items() if made.return_id == return_id)
    return named[0] if named else None


def unrefunded(event: ReturnChanged, state: OrderState | None) -> tuple[ReturnLine, ...] | None:
    """The return's lines, each cut to the units of its line item not refunded yet (lines left with none dropped);
    None when that cannot be known: a line of a line item some refund touched that the order does not list."""
    if state is None:
        return event.lines
    refunded = refunded_quantities(state)
    ordered = {li.id: li.quantity for li in state.snapshot.line_items} if state.snapshot else {}
    left = {item: ordered[item] - units for item, units in refunded.items() if item in ordered}
    lines: list[ReturnLine] = []
    for line in event.lines:
        item = line.line_item_id
        if item is None or item not in refunded:
            lines.append(line)
            continue
        if item not in left:
            return None
        quantity = max(0, min(line.quantity, left[item]))
        left[item] -= quantity
        if quantity:
            lines.append(replace(line, quantity=quantity))
    return tuple(lines)


def refunded_already(event: ReturnChanged, state: OrderState | None) -> str:
    """Why a return's request is not to be refunded by the desk ("" when it may be): a refund was made from the
    return, or every unit it asks for was refunded already (in Shopify admin, by another app)."""
    if event.change is not ReturnChange.REQUESTED or state is None:
        return ""
    refund = refund_naming(state, event.return_id)
    if refund is not None:
        return f"return {event.return_id} was refunded already (refund {refund}): it is not a new request to refund"
    if event.lines and unrefunded(event, state) == ():
        return (
            f"the items of return {event.return_id} were refunded already: it is not a new request to refund"
        )
    return ""
