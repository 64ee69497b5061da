"""An order of shirts and cases, the refunds and return requests made on it, their worth, and the lives
hypothesis draws of them: the events the refunded-return tests fold into the order's state (ADR 0041, ADR 0051).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from opsdesk.domain.events import (
    LineItem,
    OrderChange,
    OrderChanged,
    OrderId,
    OrderSnapshot,
    RefundCreated,
    RefundLine,
    ReturnChange,
    ReturnChanged,
    ReturnLine,
    ShopDomain,
    StoreEvent,
)
from opsdesk.domain.money import Money
from opsdesk.domain.orders import OrderState, apply

SHOP, ORDER, RETURN = ShopDomain("alpha.myshopify.com"), OrderId(450_789_469), 4_000_001
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHIRT, CASE = 11, 12  # line items: 19.99 each, 24.99 each
PRICES = {SHIRT: Decimal("19.99"), CASE: Decimal("24.99")}
TAXES = {SHIRT: Decimal("1.60"), CASE: Decimal("2.00")}  # a unit's tax: a shirt is worth 21.59, a case 26.99
SHIPPING = Decimal("4.99")
USD = Money(Decimal("10.00"), "USD")
TOTAL = Money(Decimal("100.00"), "USD")


def placed(shirts: int, cases: int, included: bool = False) -> OrderChanged:
    """The order; ``included``: its prices include their tax (``TAXES`` is then the tax inside a unit's price)."""
    lines = (
        # paid: their price and their tax, or their price alone when it includes the tax (ADR 0049, 0051)
        LineItem(SHIRT, "SHIRT", None, None, shirts, PRICES[SHIRT], Decimal(0),
                 paid=worth_of({SHIRT: shirts}, included)),
        LineItem(CASE, "CASE", None, None, cases, PRICES[CASE], Decimal(0), paid=worth_of({CASE: cases}, included)),
    )
    snapshot = OrderSnapshot(
        ORDER,
        "#1001",
        "a@example.com",
        1,
        "USD",
        TOTAL,
        TOTAL,
        Money(Decimal(0), "USD"),
        "paid",
        "",
        None,
        AT,
        AT,
        (),
        "web",
        lines,
        (),
        "US",
        taxes_included=included,
    )
    return OrderChanged(SHOP, AT, OrderChange.CREATED, snapshot)


def refund(
    refund_id: int,
    minutes: int,
    lines: dict[int, int],
    return_id: int | None = None,
    *,
    paid: Decimal | None = None,
    shipping: Decimal = Decimal(0),
    included: bool = False,
) -> RefundCreated:
    """A refund of ``lines`` (line item: units, each line's subtotal its price, its tax ``TAXES`` a unit: in the
    price already when ``included``, as Shopify's refund lines say it then), giving their worth back unless ``paid``
    says less, and ``shipping`` besides; a refund of money alone gives 10.00."""
    made = tuple(
        RefundLine(item, units, PRICES[item] * units, TAXES[item] * units)
        for item, units in sorted(lines.items())
        if units
    )
    worth = worth_of(lines, included)
    money = USD if not made else Money((worth if paid is None else paid) + shipping, "USD")
    return RefundCreated(
        SHOP, AT + timedelta(minutes=minutes), refund_id, ORDER, money, "", return_id, made, shipping
    )


def worth_of(lines: dict[int, int], included: bool = False) -> Decimal:
    """What the customer paid for the units: their price, and their tax unless the price includes it."""
    return sum(((PRICES[item] + (0 if included else TAXES[item])) * units for item, units in lines.items()),
               Decimal(0))


def untaxed_of(lines: dict[int, int], included: bool = False) -> Decimal:
    """The units' worth without their tax."""
    return worth_of(lines, included) - sum((TAXES[item] * units for item, units in lines.items()), Decimal(0))


#: How a person's refund paid for its lines: in full (their worth, with shipping besides or not), or short (1.00;
#: their worth without their tax; that and shipping as much as their tax).
PAYS = ("worth", "worth and shipping", "1.00", "untaxed", "untaxed and shipping")
SHORT = frozenset(PAYS[2:])


def paying(pays: str, refund_id: int, minutes: int, lines: dict[int, int], included: bool = False) -> RefundCreated:
    untaxed = untaxed_of(lines, included)
    paid = {"1.00": Decimal("1.00"), "untaxed": untaxed, "untaxed and shipping": untaxed}
    shipping = {"worth and shipping": SHIPPING, "untaxed and shipping": worth_of(lines, included) - untaxed}
    return refund(refund_id, minutes, lines, paid=paid.get(pays), shipping=shipping.get(pays, Decimal(0)),
                  included=included)


def short_of(refund_id: int, item: int, paid: str, worth: str) -> str:
    return (
        f"units of line item {item} were refunded for less than they were worth (refund {refund_id} gave {paid} "
        f"for lines worth {worth}): what is left to refund is for a person to decide"
    )


def request(lines: dict[int, int]) -> ReturnChanged:
    returned = tuple(
        ReturnLine(item, units, "UNWANTED", "", None) for item, units in sorted(lines.items()) if units
    )
    return ReturnChanged(
        SHOP, AT + timedelta(minutes=5), ReturnChange.REQUESTED, RETURN, ORDER, "requested", returned
    )


def fold(events: Sequence[StoreEvent]) -> OrderState:
    state = OrderState(SHOP, ORDER)
    for event in events:
        state = apply(state, event).state
    return state


Life = tuple[dict[int, int], list[dict[int, int]], list[str], dict[int, int], bool]


@st.composite
def lives(draw: st.DrawFn) -> Life:
    """An order's quantities, two refunds made by a person within them (each paying its lines' worth, or less:
    ``PAYS``), a return request within them, and whether the order's prices include their tax."""
    ordered = {SHIRT: draw(st.integers(1, 3)), CASE: draw(st.integers(1, 3))}
    first = {item: draw(st.integers(0, q)) for item, q in ordered.items()}
    second = {item: draw(st.integers(0, q - first[item])) for item, q in ordered.items()}
    pays = [draw(st.sampled_from(PAYS)), draw(st.sampled_from(PAYS))]
    returned = {item: draw(st.integers(0, q)) for item, q in ordered.items()}
    if not any(returned.values()):
        returned[SHIRT] = 1
    return ordered, [first, second], pays, returned, draw(st.booleans())
