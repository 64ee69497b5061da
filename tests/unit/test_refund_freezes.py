"""The last look at a refund before the send (ADR 0041) names what froze refunds on the order by what it is (a
chargeback or an inquiry, as Shopify's dispute says: ADR 0009), through the in-memory unit of work."""

from __future__ import annotations

from dataclasses import replace

import pytest

from opsdesk.domain.events import StoreEvent
from opsdesk.domain.orders import OrderState, apply
from opsdesk.domain.records import DecisionRecord
from opsdesk.services.facts import order_facts
from opsdesk.storage.codec import decode_order, encode_order
from opsdesk.testing import InMemoryDatabase
from tests.unit.refunded_return_events import AT, ORDER, SHOP, fold, placed
from tests.unit.test_refund_guard import DISPUTE, action, damage_claim, disputed, on_order, refused

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


# -- a second freeze after a refund decided on an order frozen already -------------------------------------------

SECOND = DISPUTE + 1
CLAIMED = 4_000_002


def decided_on(*then: StoreEvent) -> tuple[InMemoryDatabase, OrderState]:
    """The refund's decision (id ``d``) recorded on the order's facts after ``then`` (what froze it then, by name:
    ``order.frozen_by``), as a person's approval records them."""
    state = fold([placed(1, 1), *then])
    db = InMemoryDatabase()
    record = DecisionRecord("d", SHOP, None, ORDER, "case.resolved", "k", "desk", "approve_refund", "desk", "person",
                            "", {"order": order_facts(state), "event": {}}, AT)
    with db.unit_of_work() as uow:
        uow.decisions.add_many([record])
        uow.commit()
    return db, state


def since(db: InMemoryDatabase, state: OrderState, *events: StoreEvent) -> str:
    with db.unit_of_work() as uow:
        uow.orders.put_many([_folded(state, events)])
        uow.commit()
    return refused(db, action("21.59", shirts=1))


def _folded(state: OrderState, events: tuple[StoreEvent, ...]) -> OrderState:
    for event in events:
        state = apply(state, event).state
    return state


def test_a_chargeback_after_a_refund_approved_on_a_damage_claims_case_stops_it_and_names_only_the_chargeback() -> (
    None
):
    db, state = decided_on(damage_claim(CLAIMED))

    assert order_facts(state)["frozen_by"] == [f"return {CLAIMED} claims damage"]
    assert since(db, state, disputed("under_review")) == (
        f"{FROZEN}: dispute {DISPUTE} (a chargeback of 19.99) is under_review; a refund now could pay the customer "
        f"twice (it was decided knowing: return {CLAIMED} claims damage)"
    )


def test_a_second_dispute_after_a_refund_approved_while_a_first_was_open_stops_it() -> None:
    db, state = decided_on(disputed("needs_response"))
    second = replace(disputed("needs_response", minutes=40), dispute_id=SECOND, kind="inquiry")

    assert since(db, state, second) == (
        f"{FROZEN}: dispute {SECOND} (an inquiry of 19.99) is needs_response; a refund now could pay the customer "
        f"twice (it was decided knowing: dispute {DISPUTE} open)"
    )


def test_the_dispute_its_decider_knew_moving_from_open_to_open_lets_it_go_and_lost_stops_it() -> None:
    db, state = decided_on(disputed("needs_response"))

    assert since(db, state, disputed("under_review", minutes=40)) == ""  # the merchant sent evidence
    assert since(db, state, disputed("lost", minutes=60)).startswith(
        f"{FROZEN}: dispute {DISPUTE} (a chargeback of 19.99) is lost; a refund now could pay the customer twice"
    )


def test_a_refund_decided_on_an_order_frozen_then_with_nothing_new_since_goes() -> None:
    db, state = decided_on(disputed("needs_response"), damage_claim(CLAIMED))

    assert since(db, state) == ""
