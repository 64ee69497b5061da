"""The customer answers after their address case opened: the desk checks the new address as it would have
before. Accepted, the order's hold is released in Shopify and the case settled (resolved by automation, or
marked moot for the person working on it, who is told); refused again, the open case says so on its timeline.
The case page is read over HTTP.
"""

from __future__ import annotations

from opsdesk.domain.cases import CaseStatus
from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.services.cases import act
from tests.integration.address.harness import (
    ASK,
    REFUSED,
    Desk,
    answer,
    case_page,
    checked,
    effects,
    holds,
    unanswered,
)
from tests.integration.fulfilment_harness import Run

ACCEPTED = ("the customer gave a new address (125 Shipping Street, Shippington, 40004, US), which the carrier "
            "accepted: the hold is released")


def last_change(run: Run, case_id: str) -> tuple[str, str, str]:
    """The newest entry of the case's timeline: who, what, the note."""
    with run.desk.db.unit_of_work(read_only=True) as uow:
        change = uow.cases.timeline(case_id)[-1]
    return change.actor, change.kind, change.note


def test_an_answer_after_the_case_opened_is_checked_releases_the_hold_and_resolves_the_case(
    desk: Desk, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin
) -> None:
    run, case = unanswered(*desk, carrier, smtp, shopify)
    run.advance(hours=2)

    answer(run, 26, "w-answer")
    run.settle()

    assert checked(carrier) == [("40003", 422), ("40004", 200)]
    assert (effects(shopify), holds(shopify)) == (
        ["fulfillmentOrderHold", "fulfillmentOrderReleaseHold"], ["OPEN"])
    [resolved] = run.cases(active_only=False)
    assert (resolved.id, resolved.status, resolved.resolution) == (case.id, CaseStatus.RESOLVED, "no_action")
    assert last_change(run, case.id) == ("automation", "resolved", f"{ACCEPTED}; nothing left to do")
    page = case_page(run, case.id)
    assert f"{ACCEPTED}; nothing left to do" in page
    assert "<strong>release hold</strong>" in page and 'id="case-resolution">no action' in page
    run.advance(hours=48)  # nothing is left waiting: no case, no more checks or messages
    assert [(c.id, c.status) for c in run.cases(active_only=False)] == [(case.id, CaseStatus.RESOLVED)]
    assert (checked(carrier), run.customer_mail(smtp)) == ([("40003", 422), ("40004", 200)], [ASK])


def test_an_answer_to_a_case_someone_works_on_releases_the_hold_and_marks_it_moot_for_them(
    desk: Desk, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin
) -> None:
    run, case = unanswered(*desk, carrier, smtp, shopify)
    with run.desk.db.unit_of_work() as uow:
        act(uow, case.id, "start", "fred", run.clock.now(), run.desk.case_hooks)
        uow.commit()
    run.advance(hours=1)

    answer(run, 25, "w-answer")
    run.settle()
    answered_at = run.clock.now()
    run.advance(minutes=10)  # the notifications' batching window passes

    assert (checked(carrier), holds(shopify)) == ([("40003", 422), ("40004", 200)], ["OPEN"])
    [still] = run.cases()
    assert (still.status, still.owner, still.detail["moot"]) == (
        CaseStatus.IN_PROGRESS, "fred", {"why": ACCEPTED, "at": answered_at.isoformat()})
    assert last_change(run, case.id)[:2] == ("automation", "moot")
    assert run.told(smtp, "fred", f"Case {case.key}: {ACCEPTED}: what this case was opened for has ended") == 1
    page = case_page(run, case.id)
    assert "<strong>The customer gave a new address (125 Shipping Street, Shippington, 40004, US)" in page


def test_an_answer_the_carrier_refuses_too_is_on_the_open_case_and_the_next_one_settles_it(
    desk: Desk, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin
) -> None:
    run, case = unanswered(*desk, carrier, smtp, shopify)
    carrier.reject_zip("40003", "40005")
    run.advance(hours=1)

    answer(run, 25, "w-answer", street="7 Nowhere Lane", zip_="40005")
    run.settle()

    refused_too = (f"the customer gave a new address (7 Nowhere Lane, Shippington, 40005, US); the carrier refused "
                   f"it too: {REFUSED}")
    assert checked(carrier) == [("40003", 422), ("40005", 422)]
    [still] = run.cases()
    assert (still.id, still.status, still.detail["error"]) == (case.id, CaseStatus.ASSIGNED, REFUSED)
    assert last_change(run, case.id) == ("automation", "signal", refused_too)
    assert refused_too in case_page(run, case.id)
    assert (effects(shopify), run.customer_mail(smtp)) == (["fulfillmentOrderHold"], [ASK])
    assert [c.kind for c in run.cases(active_only=False)] == ["address"]  # no automation failure case

    answer(run, 26, "w-tags", street="7 Nowhere Lane", zip_="40005", tags="vip")  # the same address: not an answer
    run.advance(hours=1)
    assert checked(carrier) == [("40003", 422), ("40005", 422)]
    assert run.told(smtp, "fred", f"Case {case.key}: {refused_too}") == 1  # in their digest, once

    answer(run, 27, "w-answer-2")
    run.settle()
    assert checked(carrier) == [("40003", 422), ("40005", 422), ("40004", 200)]
    assert (holds(shopify), [(c.id, c.status) for c in run.cases(active_only=False)]) == (
        ["OPEN"], [(case.id, CaseStatus.RESOLVED)])


def test_a_refused_answer_to_a_case_waiting_on_the_customer_brings_it_back_to_its_owner_who_is_told_once(
    desk: Desk, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin
) -> None:
    run, case = unanswered(*desk, carrier, smtp, shopify)
    carrier.reject_zip("40003", "40005")
    with run.desk.db.unit_of_work() as uow:
        act(uow, case.id, "start", "fred", run.clock.now(), run.desk.case_hooks)
        act(uow, case.id, "wait", "fred", run.clock.now(), run.desk.case_hooks, on="customer", note="phoned them")
        uow.commit()
    run.advance(hours=1)

    answer(run, 25, "w-answer", street="7 Nowhere Lane", zip_="40005")
    run.settle()
    answer(run, 26, "w-tags", street="7 Nowhere Lane", zip_="40005", tags="vip")  # the same address: not news
    run.advance(minutes=10)  # the notifications' batching window passes

    refused_too = (f"the customer gave a new address (7 Nowhere Lane, Shippington, 40005, US); the carrier refused "
                   f"it too: {REFUSED}")
    [still] = run.cases()
    assert (still.status, still.owner, still.detail["fingerprint"] != case.detail["fingerprint"]) == (
        CaseStatus.IN_PROGRESS, "fred", True)
    assert last_change(run, case.id) == ("automation", "resumed", "the customer answered")
    assert run.told(smtp, "fred", f"Case {case.key}: {refused_too}") == 1
    assert (holds(shopify), run.customer_mail(smtp)) == (["ON_HOLD"], [ASK])
