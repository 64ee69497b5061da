"""What an order's refunds were for, and what of a return is left to refund (ADR 0041).

A refund made in Shopify admin by a person, or by another app, may leave its return open. The order's state keeps,
per refund, the return it names and the line items it refunded (``OrderState.refunded_for``), so that a request
for a return already refunded is not refunded again by the desk, whatever order the webhooks came in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from opsdesk.domain.events import RefundCreated, RefundLine, ReturnChange, ReturnChanged, ReturnLine

if TYPE_CHECKING:
    from opsdesk.domain.orders import OrderState


@dataclass(frozen=True, slots=True)
class RefundFor:
    """What one refund was for: the return it names (None: not made from a return) and the line items it refunded,
    as (line item id, quantity); for a refund of lines, the money it gave for them (``paid``: its transactions less
    what it gave for shipping, duties and order adjustments, ADR 0061), what its lines were worth (``worth``: their
    subtotals and their tax) and their tax (``tax``), None when not known (a state stored before they were kept).
    The tax is kept apart because whether
    the subtotals hold it already is the order's to say (``taxes_included``, ADR 0051), and the order may be heard
    of after the refund. A refund never changes once made."""

    return_id: int | None = None
    lines: tuple[tuple[int, int], ...] = ()
    paid: Decimal | None = None
    worth: Decimal | None = None
    tax: Decimal | None = None

    @staticmethod
    def of(event: RefundCreated) -> RefundFor:
        lines = tuple((line.line_item_id, line.quantity) for line in event.lines)
        if not lines:
            return RefundFor(event.return_id)
        paid = max(event.amount.amount - event.shipping - event.other, Decimal(0))
        worth = _worth(event.lines)
        tax = None if worth is None else sum((line.tax or Decimal(0) for line in event.lines), Decimal(0))
        return RefundFor(event.return_id, lines, paid, worth, tax)

    @property
    def names_anything(self) -> bool:
        return self.return_id is not None or bool(self.lines)

    def worth_in(self, taxes_included: bool) -> Decimal | None:
        """What the customer paid for its lines' units: their subtotals, and their tax unless the order's prices
        include it (ADR 0051). A refund kept before its tax was kept apart is worth its subtotals and tax
        whatever the order: the more, so a doubt goes to a person."""
        if taxes_included and self.worth is not None and self.tax is not None:
            return self.worth - self.tax
        return self.worth

    def short(self, taxes_included: bool) -> bool:
        """It gave less money for its lines than they were worth (a part of their price, their price without their
        tax, or shipping alone): its units are not paid for in full, and what is left of them cannot be told from
        the refund (ADR 0041, amended). ``taxes_included`` is the order's, as the desk knows it when asked: an
        order not heard of yet counts as tax-exclusive, which errs to a person, never to money."""
        worth = self.worth_in(taxes_included)
        return self.paid is not None and worth is not None and self.paid < worth


def _worth(lines: tuple[RefundLine, ...]) -> Decimal | None:
    """What the lines' units were worth in a tax-exclusive order: their subtotals and their tax (a line that says
    no tax had none: Shopify always sends it); None when a subtotal is not known."""
    if any(line.subtotal is None for line in lines):
        return None
    return sum(((line.subtotal or Decimal(0)) + (line.tax or Decimal(0)) for line in lines), Decimal(0))


def taxes_included(state: OrderState | None) -> bool:
    """Whether the order's prices include their tax, as the desk knows it: an order not heard of yet does not."""
    return state is not None and state.snapshot is not None and state.snapshot.taxes_included


def refunded_for(held: dict[int, RefundFor], refund_id: int, made: RefundFor) -> dict[int, RefundFor]:
    """The refunds with this one. Two deliveries of one refund say the same; were they to differ, the greater is
    kept, so the fold gives the same state in every delivery order."""
    current = held.get(refund_id)
    if not made.names_anything or (current is not None and _rank(current) >= _rank(made)):
        return held
    return {**held, refund_id: made}


def _rank(made: RefundFor) -> tuple[int, tuple[tuple[int, int], ...], Decimal, Decimal, Decimal]:
    def known(value: Decimal | None) -> Decimal:
        return Decimal(-1) if value is None else value

    return (-1 if made.return_id is None else made.return_id, made.lines, known(made.paid), known(made.worth),
            known(made.tax))


def refunded_quantities(state: OrderState, *, short: bool = False) -> dict[int, int]:
    """Units refunded so far, by line item, over every refund the desk heard of: those paid in full, or (``short``)
    those of refunds that gave less money than their lines were worth."""
    units: dict[int, int] = {}
    included = taxes_included(state)
    for made in state.refunded_for.values():
        if made.short(included) != short:
            continue
        for line_item, quantity in made.lines:
            units[line_item] = units.get(line_item, 0) + quantity
    return units


def refund_naming(state: OrderState, return_id: int) -> int | None:
    """The refund made from this return (the least id when several), or None."""
    named = sorted(refund for refund, made in state.refunded_for.items() if made.return_id == return_id)
    return named[0] if named else None


def unrefunded(event: ReturnChanged, state: OrderState | None) -> tuple[ReturnLine, ...] | None:
    """The return's lines, each cut to the units of its line item not refunded yet (lines left with none dropped);
    None when that cannot be known (``not_known`` says why)."""
    left = _left(event, state)
    return None if isinstance(left, str) else left


def not_known(event: ReturnChanged, state: OrderState | None) -> str:
    """Why what is left of the return to refund cannot be known ("" when it can): a line of a line item some refund
    touched that the order does not list, or units of it that may be ones a refund paid for less than their
    worth."""
    left = _left(event, state)
    return left if isinstance(left, str) else ""


def _left(event: ReturnChanged, state: OrderState | None) -> tuple[ReturnLine, ...] | str:
    """A request's units are taken first from the units of its line item no refund touched, then from those of a
    refund short of their worth (owed a part of their price: how much is not known), then from those refunded in
    full (owed nothing)."""
    if state is None:
        return event.lines
    full, short = refunded_quantities(state), refunded_quantities(state, short=True)
    ordered = {li.id: li.quantity for li in state.snapshot.line_items} if state.snapshot else {}
    left = {item: ordered[item] - full.get(item, 0) - short.get(item, 0) for item in full.keys() | short.keys()
            if item in ordered}
    lines: list[ReturnLine] = []
    for line in event.lines:
        item = line.line_item_id
        if item is None or (item not in full and item not in short):
            lines.append(line)
            continue
        if item not in left:
            return f"line item {item} was refunded but the order does not list it (the order not heard of yet)"
        quantity = max(0, min(line.quantity, left[item]))
        left[item] -= quantity
        if quantity < line.quantity and short.get(item):
            return _short_of(state, item)
        if quantity:
            lines.append(replace(line, quantity=quantity))
    return tuple(lines)


def _short_of(state: OrderState, item: int) -> str:
    included = taxes_included(state)
    refund_id = min(r for r, made in state.refunded_for.items() if made.short(included) and item in dict(made.lines))
    made = state.refunded_for[refund_id]
    return (
        f"units of line item {item} were refunded for less than they were worth (refund {refund_id} gave "
        f"{made.paid} for lines worth {made.worth_in(included)}): what is left to refund is for a person to decide"
    )


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
