"""The last look at a refund before the send (ADR 0041), on the order's state then: what was refunded since it was
decided, and refunds frozen on the order since (a dispute the merchant has not won, a damage claim: ADR 0009),
through the in-memory unit of work."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from opsdesk.domain.events import (
    DisputeChange,
    DisputeChanged,
    ReturnChange,
    ReturnChanged,
    ReturnLine,
    StoreEvent,
)
from opsdesk.domain.money import Money
from opsdesk.domain.records import DecisionRecord, OutboxAction
from opsdesk.services.refund_guard import refund_lines, refund_refused
from opsdesk.testing import InMemoryDatabase
from tests.unit.refunded_return_events import AT, ORDER, RETURN, SHIRT, SHOP, TOTAL, fold, placed, refund


def action(amount: str, attempts: int = 0, shirts: int = 2) -> OutboxAction:
    asked = ReturnChanged(
        SHOP,
        AT,
        ReturnChange.REQUESTED,
        RETURN,
        ORDER,
        "requested",
        (ReturnLine(SHIRT, shirts, "UNWANTED", "", None),),
    )
    payload = {"amount": amount, "return_id": RETURN, **refund_lines(asked)}
    return OutboxAction("a", "d", SHOP, ORDER, "refund", "shopify", payload, "k", AT, AT, attempts=attempts)


def refused(db: InMemoryDatabase, sent: OutboxAction) -> str:
    with db.unit_of_work(read_only=True) as uow:
        return refund_refused(uow, sent)


def test_a_refund_of_units_partly_refunded_since_its_decision_is_not_sent_and_one_of_what_is_left_is() -> (
    None
):
    db = InMemoryDatabase()
    with (
        db.unit_of_work() as uow
    ):  # two shirts ordered, returned: one refunded by a person since the decision
        uow.orders.put_many([fold([placed(2, 1), refund(2_000_001, 10, {SHIRT: 1})])])
        uow.commit()

    assert refused(db, action("43.18")) == (  # a shirt is worth 21.59: its price and its tax (ADR 0049)
        f"only 21.59 of return {RETURN} is left to refund: the rest was refunded since 43.18 was decided (refund "
        "2000001)"
    )
    assert refused(db, action("21.59")) == ""


def test_a_refund_decided_at_more_than_the_units_are_worth_with_nothing_refunded_since_says_so() -> None:
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:  # a refund queued by list price (before ADR 0049); nothing refunded since
        uow.orders.put_many([fold([placed(2, 1)])])
        uow.commit()

    assert refused(db, action("50.00")) == (
        f"50.00 is more than return {RETURN}'s units are worth (43.18: what the customer paid for them, ADR 0049); "
        "it was decided by another rule"
    )


def test_the_orders_remainder_is_asked_on_the_first_attempt_only() -> None:
    db = InMemoryDatabase()
    whole = replace(refund(2_000_001, 10, {}), amount=TOTAL)
    with db.unit_of_work() as uow:  # the order's 100.00 given back, money alone (the desk's own refund, say)
        uow.orders.put_many([fold([placed(2, 1), whole])])
        uow.commit()

    assert refused(db, action("19.99", shirts=1)) == (
        "19.99 is more than the 0.00 the order has left to refund (100.00 refunded already: refund 2000001)"
    )
    assert (
        refused(db, action("19.99", attempts=1, shirts=1)) == ""
    )  # a retry: Shopify's idempotency key decides


def test_a_refund_whose_units_were_refunded_for_part_of_their_price_since_its_decision_is_not_sent() -> None:
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:  # one shirt ordered and returned: a person gave 5.00 for it since the decision
        uow.orders.put_many([fold([placed(1, 1), refund(2_000_001, 10, {SHIRT: 1}, paid=Decimal("5.00"))])])
        uow.commit()

    assert refused(db, action("19.99", shirts=1)) == (
        f"what is left of return {RETURN} to refund is not known since it was decided: units of line item {SHIRT} "
        "were refunded for less than they were worth (refund 2000001 gave 5.00 for lines worth 21.59): what is left "
        "to refund is for a person to decide"
    )


# -- refunds frozen on the order since the refund was decided (ADR 0009) ----------------------------------------

DISPUTE = 2_850_001


def disputed(status: str, minutes: int = 20) -> DisputeChanged:
    """A chargeback of 19.99 on the order, at ``status``."""
    change = DisputeChange.CREATED if minutes == 20 else DisputeChange.UPDATED
    return DisputeChanged(SHOP, AT + timedelta(minutes=minutes), change, DISPUTE, ORDER,
                          Money(Decimal("19.99"), "USD"), "chargeback", "fraudulent", status, None)


def damage_claim(return_id: int) -> ReturnChanged:
    line = ReturnLine(SHIRT, 1, "DEFECTIVE", "it came torn", None)
    return ReturnChanged(SHOP, AT, ReturnChange.REQUESTED, return_id, ORDER, "requested", (line,))


def decided(db: InMemoryDatabase, frozen: bool, return_status: str = "requested") -> None:
    """The decision that queued the refund (id ``d``), made on an order whose refunds were frozen or not then, and
    its return at ``return_status``."""
    facts = {"order": {"known": True, "refunds_frozen": frozen}, "event": {"return_status": return_status}}
    record = DecisionRecord("d", SHOP, None, ORDER, "return.requested", "k", "refunds", "r", "v", "automate", "",
                            facts, AT)
    with db.unit_of_work() as uow:
        uow.decisions.add_many([record])
        uow.commit()


def on_order(*events: StoreEvent, frozen_when_decided: bool = False, return_status: str = "requested") -> (
    InMemoryDatabase
):
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:
        uow.orders.put_many([fold([placed(1, 1), *events])])
        uow.commit()
    decided(db, frozen_when_decided, return_status)
    return db


@pytest.mark.parametrize("status", ["needs_response", "under_review", "lost", "accepted", "charge_refunded",
                                    "prevented", "some_status_shopify_adds"])
def test_a_refund_is_not_sent_when_a_dispute_not_won_came_since_it_was_decided_and_the_reason_names_it(
    status: str,
) -> None:
    db = on_order(disputed(status))

    assert refused(db, action("21.59", shirts=1)) == (
        f"refunds are frozen on the order since this refund was decided: dispute {DISPUTE} (a chargeback of 19.99) is "
        f"{status}; a refund now could pay the customer twice"
    )


def test_a_refund_is_sent_when_the_dispute_since_its_decision_was_won() -> None:
    assert refused(on_order(disputed("under_review"), disputed("won", minutes=40)), action("21.59", shirts=1)) == ""


def test_a_refund_is_not_sent_when_a_won_dispute_was_reopened_since_its_decision() -> None:
    db = on_order(disputed("won"), disputed("under_review", minutes=40))

    assert refused(db, action("21.59", shirts=1)).startswith(
        f"refunds are frozen on the order since this refund was decided: dispute {DISPUTE} (a chargeback of 19.99) is "
        "under_review"
    )


def test_a_refund_is_not_sent_when_a_damage_claim_came_since_it_was_decided() -> None:
    db = on_order(damage_claim(4_000_002))

    assert refused(db, action("21.59", shirts=1)) == (
        "refunds are frozen on the order since this refund was decided: return 4000002 claims damage; a refund now "
        "could pay the customer twice"
    )


def test_a_retry_on_an_order_frozen_since_is_not_sent_either_and_says_an_earlier_attempt_may_have_gone() -> None:
    db = on_order(disputed("needs_response"))

    assert refused(db, action("21.59", attempts=1, shirts=1)) == (
        f"refunds are frozen on the order since this refund was decided: dispute {DISPUTE} (a chargeback of 19.99) "
        "is needs_response; a refund now could pay the customer twice (an earlier attempt may have reached Shopify: "
        "check the order's refunds there)"
    )


def test_a_refund_decided_on_an_order_frozen_then_is_sent_its_decider_knew() -> None:
    # a person approved it on the dispute's own case, say: the freeze is what they decided on
    db = on_order(disputed("under_review"), frozen_when_decided=True)

    assert refused(db, action("21.59", shirts=1)) == ""


# -- the return declined, cancelled or closed in Shopify since the refund was decided ----------------------------


def changed(status: str) -> ReturnChanged:
    change = {"declined": ReturnChange.DECLINED, "canceled": ReturnChange.CANCELLED, "closed": ReturnChange.CLOSED}
    return ReturnChanged(SHOP, AT + timedelta(minutes=30), change[status], RETURN, ORDER, status, ())


@pytest.mark.parametrize("status", ["declined", "canceled", "closed"])
def test_a_refund_is_not_sent_when_its_return_was_over_in_shopify_since_it_was_decided(status: str) -> None:
    db = on_order(changed(status))

    assert refused(db, action("21.59", shirts=1)) == (
        f"return {RETURN} was {status} in Shopify since this refund was decided: its request is over"
    )


def test_a_refund_decided_on_a_return_over_then_is_sent_its_decider_knew() -> None:
    db = on_order(changed("declined"), return_status="declined")  # a person refunded it as a goodwill gesture

    assert refused(db, action("21.59", shirts=1)) == ""
