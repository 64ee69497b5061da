"""What of a return is refunded already, in the order projection, whatever the delivery order (ADR 0041): a request
for units all refunded is superseded, one for units partly refunded is worth what is left, and the order's state
keeps each refund's return and lines through the database codec."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

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
    refund_id: int, minutes: int, lines: dict[int, int], return_id: int | None = None
) -> RefundCreated:
    made = tuple(RefundLine(item, units) for item, units in sorted(lines.items()) if units)
    return RefundCreated(SHOP, AT + timedelta(minutes=minutes), refund_id, ORDER, USD, "", return_id, made)


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
def lives(draw: st.DrawFn) -> tuple[dict[int, int], list[dict[int, int]], dict[int, int]]:
    """An order's quantities, two refunds made by a person within them, and a return request within them."""
    ordered = {SHIRT: draw(st.integers(1, 3)), CASE: draw(st.integers(1, 3))}
    first = {item: draw(st.integers(0, q)) for item, q in ordered.items()}
    second = {item: draw(st.integers(0, q - first[item])) for item, q in ordered.items()}
    returned = {item: draw(st.integers(0, q)) for item, q in ordered.items()}
    if not any(returned.values()):
        returned[SHIRT] = 1
    return ordered, [first, second], returned


@given(lives(), st.randoms(use_true_random=False))
def test_a_request_is_worth_the_returned_units_not_refunded_yet_and_superseded_when_none_are_left_in_any_order(
    life: tuple[dict[int, int], list[dict[int, int]], dict[int, int]], rnd: random.Random
) -> None:
    ordered, refunds, returned = life
    events: list[StoreEvent] = [placed(ordered[SHIRT], ordered[CASE]), request(returned)]
    events += [refund(2_000_001 + i, 10 + i, lines) for i, lines in enumerate(refunds)]
    shuffled = list(events)
    rnd.shuffle(shuffled)
    state = fold(shuffled)
    assert state == fold(events)  # the same projection in every delivery order

    left = {item: min(returned[item], ordered[item] - sum(r[item] for r in refunds)) for item in ordered}
    facts = facts_for(request(returned), state)["event"]
    if any(left.values()):
        assert facts["superseded"] == ""
        assert facts["amount"] == sum((PRICES[item] * n for item, n in left.items()), Decimal(0))
    else:
        assert (
            facts["superseded"]
            == f"the items of return {RETURN} were refunded already: it is not a new request to refund"
        )


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
    assert state.refunded_for == {2_000_001: RefundFor(None, ((CASE, 1),))}


def test_a_line_refunded_that_the_order_does_not_list_leaves_the_amount_unknown_to_a_person() -> None:
    state = fold([refund(2_000_001, 10, {SHIRT: 1})])  # the order itself not heard of yet
    facts = facts_for(request({SHIRT: 1}), state)["event"]
    assert (facts["superseded"], facts["amount"]) == ("", None)  # no amount: the refund rule does not act


def test_the_order_state_keeps_what_each_refund_was_for_through_the_codec() -> None:
    state = fold(
        [placed(2, 1), refund(2_000_001, 10, {SHIRT: 2, CASE: 1}, RETURN), refund(2_000_002, 11, {})]
    )
    decoded = decode_order(SHOP, ORDER, encode_order(state), None, None, state.last_event_at)
    assert decoded.refunded_for == {2_000_001: RefundFor(RETURN, ((SHIRT, 2), (CASE, 1)))}
    assert decoded == state
    legacy = encode_order(OrderState(SHOP, ORDER)).replace('"refunded_for":{},', "")
    assert "refunded_for" not in legacy
    assert decode_order(SHOP, ORDER, legacy, None, None, None).refunded_for == {}  # a state stored before
