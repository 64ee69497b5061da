"""What of a return is refunded already, in the order projection, whatever the delivery order (ADR 0041): a request
for units all refunded is superseded, one for units partly refunded is worth what is left, one that may be for units
a refund paid less than their worth goes to a person with the reason, and the order's state keeps each refund's
return, lines, money and worth through the database codec."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
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
from opsdesk.domain.orders import OrderState, apply, superseded
from opsdesk.domain.refunds import RefundFor
from opsdesk.services.facts import facts_for
from opsdesk.storage.codec import decode_order, encode_order

SHOP, ORDER, RETURN = ShopDomain("alpha.myshopify.com"), OrderId(450_789_469), 4_000_001
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHIRT, CASE = 11, 12  # line items: 19.99 each, 24.99 each
PRICES = {SHIRT: Decimal("19.99"), CASE: Decimal("24.99")}
USD = Money(Decimal("10.00"), "USD")
TOTAL = Money(Decimal("100.00"), "USD")


def placed(shirts: int, cases: int) -> OrderChanged:
    lines = (
        LineItem(SHIRT, "SHIRT", None, None, shirts, PRICES[SHIRT], Decimal(0)),
        LineItem(CASE, "CASE", None, None, cases, PRICES[CASE], Decimal(0)),
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
    )
    return OrderChanged(SHOP, AT, OrderChange.CREATED, snapshot)


def refund(
    refund_id: int,
    minutes: int,
    lines: dict[int, int],
    return_id: int | None = None,
    *,
    paid: Decimal | None = None,
) -> RefundCreated:
    """A refund of ``lines`` (line item: units, each line's subtotal its price), giving their worth back unless
    ``paid`` says less; a refund of money alone gives 10.00."""
    made = tuple(
        RefundLine(item, units, PRICES[item] * units) for item, units in sorted(lines.items()) if units
    )
    worth = sum((line.subtotal or Decimal(0) for line in made), Decimal(0))
    money = USD if not made else Money(worth if paid is None else paid, "USD")
    return RefundCreated(SHOP, AT + timedelta(minutes=minutes), refund_id, ORDER, money, "", return_id, made)


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


@st.composite
def lives(
    draw: st.DrawFn,
) -> tuple[dict[int, int], list[dict[int, int]], list[bool], dict[int, int]]:
    """An order's quantities, two refunds made by a person within them (each paying its lines' worth, or less:
    ``short``), and a return request within them."""
    ordered = {SHIRT: draw(st.integers(1, 3)), CASE: draw(st.integers(1, 3))}
    first = {item: draw(st.integers(0, q)) for item, q in ordered.items()}
    second = {item: draw(st.integers(0, q - first[item])) for item, q in ordered.items()}
    short = [draw(st.booleans()), draw(st.booleans())]
    returned = {item: draw(st.integers(0, q)) for item, q in ordered.items()}
    if not any(returned.values()):
        returned[SHIRT] = 1
    return ordered, [first, second], short, returned


@given(lives(), st.randoms(use_true_random=False))
def test_a_request_is_worth_the_returned_units_not_refunded_yet_and_superseded_when_none_are_left_in_any_order(
    life: tuple[dict[int, int], list[dict[int, int]], list[bool], dict[int, int]], rnd: random.Random
) -> None:
    ordered, refunds, short, returned = life
    events: list[StoreEvent] = [placed(ordered[SHIRT], ordered[CASE]), request(returned)]
    events += [
        refund(2_000_001 + i, 10 + i, lines, paid=Decimal("1.00") if short[i] else None)
        for i, lines in enumerate(refunds)
    ]
    shuffled = list(events)
    rnd.shuffle(shuffled)
    state = fold(shuffled)
    assert state == fold(events)  # the same projection in every delivery order

    def units(item: int, paid_short: bool) -> int:
        return sum(r[item] for r, s in zip(refunds, short, strict=True) if s == paid_short)

    untouched = {item: ordered[item] - units(item, False) - units(item, True) for item in ordered}
    left = {item: min(returned[item], untouched[item]) for item in ordered}
    doubtful = [item for item in ordered if returned[item] > untouched[item] and units(item, True)]
    facts = facts_for(request(returned), state)["event"]
    if doubtful:  # some units asked for may be ones a refund paid 1.00 for: a person decides, told why
        first = min(i for i, lines in enumerate(refunds) if short[i] and lines[doubtful[0]])
        worth = sum((PRICES[item] * n for item, n in refunds[first].items()), Decimal(0))
        assert (facts["superseded"], facts["amount"]) == ("", None)
        assert facts["amount_unknown"] == short_of(2_000_001 + first, doubtful[0], "1.00", str(worth))
    elif any(left.values()):
        assert (facts["superseded"], facts["amount_unknown"]) == ("", "")
        assert facts["amount"] == sum((PRICES[item] * n for item, n in left.items()), Decimal(0))
    else:
        assert (
            facts["superseded"]
            == f"the items of return {RETURN} were refunded already: it is not a new request to refund"
        )


@pytest.mark.parametrize(
    ("paid", "why"),
    [
        ("5.00", "a part of the shirt's price"),
        ("4.99", "shipping alone, the shirt named"),
    ],
)
def test_a_request_for_units_refunded_for_less_than_their_worth_is_not_superseded_but_left_to_a_person(
    paid: str, why: str
) -> None:
    state = fold([placed(1, 1), refund(2_000_001, 10, {SHIRT: 1}, paid=Decimal(paid)), request({SHIRT: 1})])
    facts = facts_for(request({SHIRT: 1}), state)["event"]
    assert (facts["superseded"], facts["amount"]) == ("", None), why  # no amount: the refund rule does not act
    assert facts["amount_unknown"] == short_of(2_000_001, SHIRT, paid, "19.99")


def test_units_refunded_in_full_by_a_refund_that_also_gave_more_than_their_worth_count_as_refunded() -> None:
    state = fold([placed(1, 1), refund(2_000_001, 10, {SHIRT: 1}, paid=Decimal("25.59"))])  # tax, shipping
    assert superseded(request({SHIRT: 1}), state) == (
        f"the items of return {RETURN} were refunded already: it is not a new request to refund"
    )


def test_a_request_for_more_units_than_were_refunded_short_is_worth_the_untouched_ones_when_it_fits_them() -> None:
    state = fold([placed(2, 1), refund(2_000_001, 10, {SHIRT: 1}, paid=Decimal("5.00"))])
    facts = facts_for(request({SHIRT: 1}), state)["event"]
    assert (facts["superseded"], facts["amount"], facts["amount_unknown"]) == ("", PRICES[SHIRT], "")
    facts = facts_for(request({SHIRT: 2}), state)["event"]
    assert (facts["amount"], facts["amount_unknown"]) == (None, short_of(2_000_001, SHIRT, "5.00", "19.99"))


@given(st.permutations([placed(1, 1), request({SHIRT: 1}), refund(2_000_001, 10, {}, RETURN)]))
def test_a_request_for_a_return_a_refund_was_made_from_is_superseded_in_any_order(
    events: list[StoreEvent],
) -> None:
    state = fold(events)
    assert superseded(request({SHIRT: 1}), state) == (
        f"return {RETURN} was refunded already (refund 2000001): it is not a new request to refund"
    )


def test_a_refund_of_other_items_or_of_money_alone_leaves_the_request_whole() -> None:
    state = fold([placed(1, 1), refund(2_000_001, 10, {CASE: 1}), refund(2_000_002, 11, {})])
    facts = facts_for(request({SHIRT: 1}), state)["event"]
    assert (facts["superseded"], facts["amount"]) == ("", PRICES[SHIRT])
    # money alone says nothing of items
    assert state.refunded_for == {2_000_001: RefundFor(None, ((CASE, 1),), PRICES[CASE], PRICES[CASE])}


def test_a_line_refunded_that_the_order_does_not_list_leaves_the_amount_unknown_to_a_person() -> None:
    state = fold([refund(2_000_001, 10, {SHIRT: 1})])  # the order itself not heard of yet
    facts = facts_for(request({SHIRT: 1}), state)["event"]
    assert (facts["superseded"], facts["amount"]) == ("", None)  # no amount: the refund rule does not act


def test_the_order_state_keeps_what_each_refund_was_for_through_the_codec() -> None:
    state = fold(
        [
            placed(2, 1),
            refund(2_000_001, 10, {SHIRT: 2, CASE: 1}, RETURN, paid=Decimal("30.00")),
            refund(2_000_002, 11, {}),
        ]
    )
    decoded = decode_order(SHOP, ORDER, encode_order(state), None, None, state.last_event_at)
    worth = 2 * PRICES[SHIRT] + PRICES[CASE]
    assert decoded.refunded_for == {2_000_001: RefundFor(RETURN, ((SHIRT, 2), (CASE, 1)), Decimal("30.00"), worth)}
    assert decoded.refunded_for[2_000_001].short
    assert decoded == state
    before = encode_order(state).replace(',"30.00","64.97"]', "]")  # stored before money and worth were kept
    assert decode_order(SHOP, ORDER, before, None, None, None).refunded_for == {
        2_000_001: RefundFor(RETURN, ((SHIRT, 2), (CASE, 1)))
    }
    legacy = encode_order(OrderState(SHOP, ORDER)).replace('"refunded_for":{},', "")
    assert "refunded_for" not in legacy
    assert decode_order(SHOP, ORDER, legacy, None, None, None).refunded_for == {}  # a state stored before
