"""What of a return is refunded already, in the order projection, whatever the delivery order (ADR 0041): a request
for units all refunded is superseded, one for units partly refunded is worth what is left, one that may be for units
a refund paid less than their worth (their price and their tax, the tax inside the price when the order's prices
include it: ADR 0051; shipping refunded with them does not count) goes to a person with the reason, and the order's
state keeps each refund's return, lines, money, worth and tax through the database codec."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsdesk.domain.events import StoreEvent
from opsdesk.domain.orders import OrderState, superseded
from opsdesk.domain.refunds import RefundFor
from opsdesk.services.facts import facts_for
from opsdesk.storage.codec import decode_order, encode_order
from tests.unit.refunded_return_events import (
    AT,
    CASE,
    ORDER,
    RETURN,
    SHIRT,
    SHOP,
    SHORT,
    TAXES,
    Life,
    fold,
    lives,
    paying,
    placed,
    refund,
    request,
    short_of,
    untaxed_of,
    worth_of,
)

# Other test files import these from here (test_email_guard.py on main): they stay importable.
__all__ = ["AT", "ORDER", "SHOP", "fold", "placed"]


@given(lives(), st.randoms(use_true_random=False))
def test_a_request_is_worth_the_returned_units_not_refunded_yet_and_superseded_when_none_are_left_in_any_order(
    life: Life, rnd: random.Random
) -> None:
    ordered, refunds, pays, returned, included = life
    short = [p in SHORT for p in pays]
    events: list[StoreEvent] = [placed(ordered[SHIRT], ordered[CASE], included), request(returned)]
    events += [paying(pays[i], 2_000_001 + i, 10 + i, lines, included) for i, lines in enumerate(refunds)]
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
    if doubtful:  # some units asked for may be ones a refund paid short: a person decides, told why
        first = min(i for i, lines in enumerate(refunds) if short[i] and lines[doubtful[0]])
        paid = Decimal("1.00") if pays[first] == "1.00" else untaxed_of(refunds[first], included)
        assert (facts["superseded"], facts["amount"]) == ("", None)
        assert facts["amount_unknown"] == short_of(
            2_000_001 + first, doubtful[0], str(paid), str(worth_of(refunds[first], included))
        )
    elif any(left.values()):
        assert (facts["superseded"], facts["amount_unknown"]) == ("", "")
        assert facts["amount"] == worth_of(left, included)  # what was paid for them: price and tax, or price
    else:
        assert (
            facts["superseded"]
            == f"the items of return {RETURN} were refunded already: it is not a new request to refund"
        )


@pytest.mark.parametrize(
    ("paid", "shipping", "why"),
    [
        ("5.00", "0", "a part of the shirt's price"),
        ("0.00", "4.99", "shipping alone, the shirt named"),
        ("19.99", "0", "the shirt's price without its tax"),
        ("19.99", "1.60", "the shirt's price, and shipping as much as its tax"),
    ],
)
def test_a_request_for_units_refunded_for_less_than_their_worth_is_not_superseded_but_left_to_a_person(
    paid: str, shipping: str, why: str
) -> None:
    made = refund(2_000_001, 10, {SHIRT: 1}, paid=Decimal(paid), shipping=Decimal(shipping))
    state = fold([placed(1, 1), made, request({SHIRT: 1})])
    facts = facts_for(request({SHIRT: 1}), state)["event"]
    assert (facts["superseded"], facts["amount"]) == ("", None), why  # no amount: the refund rule does not act
    assert facts["amount_unknown"] == short_of(2_000_001, SHIRT, paid, "21.59")


@pytest.mark.parametrize(
    ("paid", "shipping", "why"),
    [
        ("21.59", "0", "the shirt's price and its tax"),
        ("21.59", "4.99", "the shirt's price and its tax, and shipping besides"),
        ("25.59", "0", "more than the shirt was worth"),
    ],
)
def test_units_refunded_for_their_price_and_their_tax_count_as_refunded_whatever_shipping_came_with_them(
    paid: str, shipping: str, why: str
) -> None:
    made = refund(2_000_001, 10, {SHIRT: 1}, paid=Decimal(paid), shipping=Decimal(shipping))
    assert superseded(request({SHIRT: 1}), fold([placed(1, 1), made])) == (
        f"the items of return {RETURN} were refunded already: it is not a new request to refund"
    ), why


def test_a_request_for_more_units_than_were_refunded_short_is_worth_the_untouched_ones_when_it_fits_them() -> None:
    state = fold([placed(2, 1), refund(2_000_001, 10, {SHIRT: 1}, paid=Decimal("5.00"))])
    facts = facts_for(request({SHIRT: 1}), state)["event"]
    assert (facts["superseded"], facts["amount"], facts["amount_unknown"]) == ("", worth_of({SHIRT: 1}), "")
    facts = facts_for(request({SHIRT: 2}), state)["event"]
    assert (facts["amount"], facts["amount_unknown"]) == (None, short_of(2_000_001, SHIRT, "5.00", "21.59"))


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
    assert (facts["superseded"], facts["amount"]) == ("", worth_of({SHIRT: 1}))
    # money alone says nothing of items
    worth = worth_of({CASE: 1})
    assert state.refunded_for == {2_000_001: RefundFor(None, ((CASE, 1),), worth, worth, TAXES[CASE])}


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
    worth = worth_of({SHIRT: 2, CASE: 1})
    assert decoded.refunded_for == {
        2_000_001: RefundFor(RETURN, ((SHIRT, 2), (CASE, 1)), Decimal("30.00"), worth, Decimal("5.20"))
    }
    assert decoded.refunded_for[2_000_001].short(taxes_included=False)
    assert decoded == state
    untaxed = encode_order(state).replace(',"70.17","5.20"]', ',"70.17"]')  # stored before the tax was kept apart
    assert decode_order(SHOP, ORDER, untaxed, None, None, None).refunded_for == {
        2_000_001: RefundFor(RETURN, ((SHIRT, 2), (CASE, 1)), Decimal("30.00"), worth)
    }
    before = encode_order(state).replace(',"30.00","70.17","5.20"]', "]")  # stored before money and worth were
    assert decode_order(SHOP, ORDER, before, None, None, None).refunded_for == {
        2_000_001: RefundFor(RETURN, ((SHIRT, 2), (CASE, 1)))
    }
    legacy = encode_order(OrderState(SHOP, ORDER)).replace('"refunded_for":{},', "")
    assert "refunded_for" not in legacy
    assert decode_order(SHOP, ORDER, legacy, None, None, None).refunded_for == {}  # a state stored before
