"""A paid order's address changed after the address monitor was done with it is checked again, with the same
consequences as the first check: the order never held (its first address accepted), the hold released after an
accepted answer, or released by a person. Refused, the order is held, the customer asked, and the reply timer
runs (then the case); accepted, nothing happens. An update that leaves the address as it was checks nothing,
nor does a change of an order fulfilled or cancelled.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsdesk.domain.cases import CaseStatus
from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.services.address_checks import REPLY, subject
from opsdesk.services.cases import act
from tests.integration.address.harness import (
    ASK,
    Desk,
    answer,
    checked,
    effects,
    holds,
    paid,
    unanswered,
)
from tests.integration.fulfilment_harness import ORDER_ID, Run
from tests.samples import SHOP

FIRST = ("123 Shipping Street", "40003")  # the sample's address
NOWHERE = ("7 Nowhere Lane", "40005")  # the carrier refuses it
GOOD = ("125 Shipping Street", "40004")  # the carrier accepts it
HOLD, RELEASE = "fulfillmentOrderHold", "fulfillmentOrderReleaseHold"


@pytest.fixture(name="carrier")
def carrier_fixture() -> Iterator[FakeCarrier]:
    with FakeCarrier() as fake:
        fake.reject_zip(NOWHERE[1])
        yield fake


def waiting(run: Run) -> bool:
    with run.desk.db.unit_of_work(read_only=True) as uow:
        return any(t.kind == REPLY for t in uow.timers.pending(subject(SHOP, ORDER_ID)))


def test_a_changed_address_of_an_order_never_held_is_checked_and_refused_holds_the_order_and_asks(
    desk: Desk,
    carrier: FakeCarrier,
    smtp: FakeSmtp,
    shopify: FakeShopifyAdmin,
) -> None:
    run = paid(*desk, carrier, smtp, shopify)
    run.settle()
    answer(run, 1, "w-tags", *FIRST, tags="vip")  # not a change of address
    run.settle()
    assert (checked(carrier), effects(shopify), run.customer_mail(smtp)) == ([("40003", 200)], [], [])

    run.advance(hours=2)
    answer(run, 3, "w-moved", *NOWHERE)  # the customer (or the merchant) changes the address in Shopify
    answer(run, 3, "w-moved", *NOWHERE)  # the same delivery again
    answer(run, 3, "w-moved-again", *NOWHERE)  # the same version under another webhook id
    run.settle()

    assert checked(carrier) == [("40003", 200), ("40005", 422)]
    assert (effects(shopify), holds(shopify), run.customer_mail(smtp), waiting(run)) == (
        [HOLD],
        ["ON_HOLD"],
        [ASK],
        True,
    )
    answer(run, 4, "w-tags-2", *NOWHERE, tags="vip")  # not an answer: nothing is checked
    run.advance(hours=24)
    [case] = run.cases()
    assert (case.kind, case.owner, holds(shopify), len(checked(carrier))) == (
        "address",
        "fred",
        ["ON_HOLD"],
        2,
    )


def test_after_an_accepted_answer_released_the_hold_a_later_change_is_checked_and_held_again(
    desk: Desk,
    carrier: FakeCarrier,
    smtp: FakeSmtp,
    shopify: FakeShopifyAdmin,
) -> None:
    carrier.reject_zip(FIRST[1], NOWHERE[1])
    run = paid(*desk, carrier, smtp, shopify)
    run.settle()
    run.advance(hours=2)
    answer(run, 2, "w-good", *GOOD)  # accepted: the hold is released
    run.settle()
    answer(run, 3, "w-tags", *GOOD, tags="vip")  # not a change of address
    run.advance(hours=1)
    assert (effects(shopify), len(checked(carrier)), waiting(run)) == ([HOLD, RELEASE], 2, False)

    answer(run, 5, "w-nowhere", *NOWHERE)  # changed again, before the order ships
    run.settle()

    assert checked(carrier) == [("40003", 422), ("40004", 200), ("40005", 422)]
    assert (effects(shopify), holds(shopify), run.customer_mail(smtp), waiting(run)) == (
        [HOLD, RELEASE, HOLD],
        ["ON_HOLD"],
        [ASK, ASK],
        True,
    )
    run.advance(hours=2)
    answer(run, 7, "w-good-again", *GOOD)  # the customer's answer: accepted, released again
    run.advance(hours=30)
    assert (effects(shopify), holds(shopify), waiting(run), run.cases()) == (
        [HOLD, RELEASE, HOLD, RELEASE],
        ["OPEN"],
        False,
        [],
    )


def test_after_a_person_released_the_hold_later_changes_are_checked_and_a_new_case_opens(
    desk: Desk,
    carrier: FakeCarrier,
    smtp: FakeSmtp,
    shopify: FakeShopifyAdmin,
) -> None:
    carrier.reject_zip(FIRST[1])
    run, case = unanswered(*desk, carrier, smtp, shopify)
    with run.desk.db.unit_of_work() as uow:
        act(uow, case.id, "resolve", "fred", run.clock.now(), run.desk.case_hooks, resolution="release_hold")
        uow.commit()
    run.advance(hours=1)
    assert (holds(shopify), waiting(run)) == (["OPEN"], False)

    answer(run, 26, "w-nowhere", *NOWHERE)  # refused: held and asked again
    run.advance(hours=2)
    answer(run, 28, "w-back", *FIRST)  # back to the address the person shipped as is: refused, asked again
    run.settle()

    assert checked(carrier) == [("40003", 422), ("40005", 422), ("40003", 422)]
    assert (effects(shopify), holds(shopify), run.customer_mail(smtp), waiting(run)) == (
        [HOLD, RELEASE, HOLD],
        ["ON_HOLD"],
        [ASK] * 3,
        True,
    )
    run.advance(hours=24)  # no answer: a case of its own, not the one resolved
    [again] = run.cases()
    assert (again.id != case.id, again.kind, again.owner, again.status) == (
        True,
        "address",
        "fred",
        CaseStatus.ASSIGNED,
    )
    assert [c.status for c in run.cases(active_only=False) if c.id == case.id] == [CaseStatus.RESOLVED]


@pytest.mark.parametrize(
    "closed",
    [
        {"fulfillment_status": "fulfilled"},
        {"cancelled_at": "2026-01-05T17:00:00+00:00", "cancel_reason": "customer"},
    ],
)
def test_a_changed_address_of_an_order_fulfilled_or_cancelled_is_not_checked(
    desk: Desk,
    carrier: FakeCarrier,
    smtp: FakeSmtp,
    shopify: FakeShopifyAdmin,
    closed: dict[str, str],
) -> None:
    run = paid(*desk, carrier, smtp, shopify)
    run.settle()

    answer(run, 2, "w-closed", *NOWHERE, **closed)
    run.advance(hours=30)

    assert (checked(carrier), effects(shopify), run.customer_mail(smtp), run.cases()) == (
        [("40003", 200)],
        [],
        [],
        [],
    )
