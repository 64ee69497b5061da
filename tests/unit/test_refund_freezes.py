"""The last look at a refund before the send (ADR 0041) names what froze refunds on the order by what it is (a
chargeback or an inquiry, as Shopify's dispute says: ADR 0009), through the in-memory unit of work."""

from __future__ import annotations

from dataclasses import replace

import pytest

from opsdesk.domain.orders import OrderState
from opsdesk.storage.codec import decode_order, encode_order
from tests.unit.test_refund_guard import DISPUTE, action, disputed, on_order, refused
from tests.unit.test_refunded_returns import fold, placed

FROZEN = "refunds are frozen on the order since this refund was decided"


@pytest.mark.parametrize(("kind", "named"), [("chargeback", "a chargeback of 19.99"),
                                             ("inquiry", "an inquiry of 19.99"), ("", "19.99")])
def test_a_refund_refused_for_a_dispute_since_says_whether_it_is_a_chargeback_or_an_inquiry(
    kind: str, named: str
) -> None:
    db = on_order(replace(disputed("needs_response"), kind=kind))  # "": a dispute whose deliveries said no type

    assert refused(db, action("21.59", shirts=1)) == (
        f"{FROZEN}: dispute {DISPUTE} ({named}) is needs_response; a refund now could pay the customer twice"
    )


def kinds(state: OrderState) -> dict[int, str]:
    return {dispute_id: held.status for dispute_id, held in state.dispute_kinds.items()}


def test_an_inquiry_that_became_a_chargeback_is_a_chargeback_whatever_order_its_deliveries_came_in() -> None:
    inquiry = replace(disputed("needs_response"), kind="inquiry")
    chargeback = replace(disputed("under_review", minutes=40), kind="chargeback")
    untyped = replace(disputed("under_review", minutes=60), kind="")  # a later delivery that says no type
    events = [placed(1, 1), inquiry, chargeback, untyped]

    states = [fold(order) for order in (events, events[::-1], [events[0], untyped, inquiry, chargeback])]

    assert [kinds(state) for state in states] == [{DISPUTE: "chargeback"}] * 3
    assert kinds(fold([placed(1, 1), inquiry])) == {DISPUTE: "inquiry"}


def test_a_disputes_type_is_kept_with_the_order_and_a_state_stored_before_it_was_kept_has_none() -> None:
    state = fold([placed(1, 1), replace(disputed("needs_response"), kind="inquiry")])
    shop, order_id = state.shop, state.order_id
    stored = encode_order(state)

    assert kinds(decode_order(shop, order_id, stored, state.owner, state.ship_by, state.last_event_at)) == {
        DISPUTE: "inquiry"}
    before = stored.replace('"dispute_kinds":', '"unknown_then":')
    assert kinds(decode_order(shop, order_id, before, None, None, None)) == {}
