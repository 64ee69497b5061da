"""The last look at a refund before the send (ADR 0041), on the order's state then: what was refunded since it was
decided, through the in-memory unit of work."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from opsdesk.domain.events import ReturnChange, ReturnChanged, ReturnLine
from opsdesk.domain.records import OutboxAction
from opsdesk.services.refund_guard import refund_lines, refund_refused
from opsdesk.testing import InMemoryDatabase
from tests.unit.test_refunded_returns import AT, ORDER, RETURN, SHIRT, SHOP, TOTAL, fold, placed, refund


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
        f"only 21.59 of return {RETURN} is left to refund: the rest was refunded since 43.18 was decided"
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
        "19.99 is more than the 0.00 the order has left to refund (100.00 refunded already)"
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
