"""What units of an order's line are worth: what the customer paid for them (ADR 0049).

A line's money (its price times its quantity less its discounts, and its tax) is split between its units as Shopify
splits it: each share to the cent below, the cents left over on the last unit, so the units of a line are worth, all
together, what the line cost.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from opsdesk.domain.events import ReturnChanged, ReturnLine
from opsdesk.domain.refunds import refunded_quantities

if TYPE_CHECKING:
    from opsdesk.domain.orders import OrderState

CENT = Decimal("0.01")


def share(amount: Decimal, quantity: int, units: int) -> Decimal:
    """``units`` of a line of ``quantity`` units' share of the line's ``amount``, to the cent below.

    Raises ``ArithmeticError`` for an amount out of the decimal context's range."""
    return (amount * units / quantity).quantize(CENT, rounding=ROUND_DOWN)


def units_worth(amount: Decimal, quantity: int, before: int, units: int) -> Decimal:
    """What ``units`` more units of a line worth ``amount`` for its ``quantity`` units are worth, ``before`` of its
    units having been taken already: the first units get their share to the cent below, the last the cents left."""
    return share(amount, quantity, before + units) - share(amount, quantity, before)


def returned_worth(event: ReturnChanged, lines: tuple[ReturnLine, ...], state: OrderState | None) -> Decimal | str:
    """What the return's ``lines`` (its units not refunded yet) are worth: what the customer paid for them, from the
    order's line items; why not, when it cannot be known. The units refunded before are the line's first ones, so
    the request that takes a line's last units gets the cents its shares left over."""
    items = {li.id: li for li in state.snapshot.line_items} if state is not None and state.snapshot else {}
    taken = _refunded_units(state)
    total = Decimal(0)
    for line in lines:
        item = items.get(line.line_item_id) if line.line_item_id is not None else None
        if item is None:
            return f"line item {line.line_item_id} of return {event.return_id} is not on the order the desk knows"
        if item.paid is None or item.quantity <= 0:
            return (
                f"what the customer paid for line item {item.id} is not known (the order was stored before the desk "
                "kept it, or its tax or discounts did not read)"
            )
        before = taken.get(item.id, 0)
        try:
            total += units_worth(item.paid, item.quantity, before, line.quantity)
        except ArithmeticError:
            return f"line item {item.id} of return {event.return_id} is worth an amount out of range"
        taken[item.id] = before + line.quantity
    return total


def _refunded_units(state: OrderState | None) -> dict[int, int]:
    if state is None:
        return {}
    full, short = refunded_quantities(state), refunded_quantities(state, short=True)
    return {item: full.get(item, 0) + short.get(item, 0) for item in full.keys() | short.keys()}
