"""The customer's answers about a refused address, in any order: an address given again is checked again, and
whatever path the answers take, an order held for its address is waited on (a reply timer) or has an address
case; one released has none open.
"""

from __future__ import annotations

from opsdesk.domain.cases import CaseStatus
from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.services.address_checks import REPLY, subject
from tests.integration.address.harness import (
    ASK,
    Desk,
    answer,
    holds,
    paid,
)
from tests.integration.fulfilment_harness import ORDER_ID, Run
from tests.samples import SHOP

FIRST = ("123 Shipping Street", "40003")  # the sample's address, refused
SECOND = ("7 Nowhere Lane", "40005")  # refused too


def held_order(desk: Desk, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin, *,
               settle: bool = True) -> Run:
    carrier.reject_zip(FIRST[1], SECOND[1])
    run = paid(*desk, carrier, smtp, shopify)
    if settle:
        run.settle()
    return run


def checked(carrier: FakeCarrier) -> list[str]:
    """The postal codes the carrier was asked about, in order."""
    return [c.body["address"]["zip"] for c in carrier.calls if c.what == "addresses"]


def waiting(run: Run) -> bool:
    with run.desk.db.unit_of_work(read_only=True) as uow:
        return any(t.kind == REPLY for t in uow.timers.pending(subject(SHOP, ORDER_ID)))


def test_going_back_to_the_first_refused_address_is_checked_again_and_asked_about_again(
    desk: Desk, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin
) -> None:
    run = held_order(desk, carrier, smtp, shopify)
    run.advance(hours=2)
    answer(run, 2, "w-second", *SECOND)
    run.settle()
    run.advance(hours=2)

    answer(run, 4, "w-back", *FIRST)  # the customer goes back to the address refused first
    run.settle()

    assert checked(carrier) == ["40003", "40005", "40003"]
    assert (run.customer_mail(smtp), waiting(run), holds(shopify)) == ([ASK] * 3, True, ["ON_HOLD"])
    run.advance(hours=24)  # no other answer: the order, held, is a person's
    [case] = run.cases()
    assert (case.kind, case.owner, case.detail["fingerprint"] != "", holds(shopify)) == (
        "address", "fred", True, ["ON_HOLD"])


def test_an_address_given_again_after_the_case_opened_is_checked_again_and_the_owner_told(
    desk: Desk, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin
) -> None:
    run = held_order(desk, carrier, smtp, shopify)
    run.advance(hours=24)
    [case] = run.cases()
    answer(run, 25, "w-second", *SECOND)
    run.settle()
    answer(run, 26, "w-back", *FIRST)
    run.settle()
    run.advance(minutes=10)  # the notifications' batching window passes

    assert checked(carrier) == ["40003", "40005", "40003"]
    with run.desk.db.unit_of_work(read_only=True) as uow:
        notes = [c.note for c in uow.cases.timeline(case.id) if c.kind == "signal"]
    assert [n.split(";")[0] for n in notes] == [
        "the customer gave a new address (7 Nowhere Lane, Shippington, 40005, US)",
        "the customer gave a new address (123 Shipping Street, Shippington, 40003, US)"]
    assert run.told(smtp, "fred", f"Case {case.key}: the customer gave a new address") == 2
    assert [(c.id, c.status) for c in run.cases()] == [(case.id, CaseStatus.ASSIGNED)]


def test_an_answer_given_while_the_first_check_was_out_is_not_left_without_anyone(
    desk: Desk, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin
) -> None:
    run = held_order(desk, carrier, smtp, shopify, settle=False)
    run.desk.process_pending()  # the first address's check is queued, not sent yet
    answer(run, 0.01, "w-second", *SECOND)  # the address changes before the carrier answers
    run.desk.process_pending()
    run.settle()

    run.advance(hours=24)

    assert holds(shopify) == ["ON_HOLD"]
    [case] = run.cases()
    assert (case.kind, case.owner) == ("address", "fred")
