"""Resolving a case on the in-memory database records a desk decision and queues its actions."""

from __future__ import annotations

import pytest

from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.records import DecisionRecord, OutboxAction
from opsdesk.services.cases import act
from opsdesk.services.effects import case_for_failed_action
from opsdesk.testing import InMemoryDatabase
from tests.samples import SHOP
from tests.unit.case_harness import DAY, ORDER, T0, at, db, do, hooks, opened, record, run, timers

__all__ = ["db", "hooks"]  # the fixtures: the in-memory database, the recording hooks

# Resolving records a decision and its actions


def outbox(db: InMemoryDatabase) -> list[OutboxAction]:
    return sorted(db.tables.actions.values(), key=lambda a: a.id)


def test_approving_a_refund_records_a_desk_decision_and_queues_refund_and_email(db, hooks) -> None:
    opened(db, hooks, record())
    case = do(db, hooks, "resolve", "ada", at(60), resolution="approve_refund", note="photos look right")
    [decision] = db.tables.decisions.values()
    assert (decision.playbook, decision.rule_id, decision.outcome) == ("desk", "approve_refund", "person")
    assert decision.reason == f"ada resolved case {case.key} as approve_refund: photos look right"
    assert (decision.inputs["actor"], decision.inputs["event"]["amount"]) == ("ada", "60.00")
    assert (decision.order_id, decision.decided_at) == (ORDER, at(60))
    refund, email = sorted(outbox(db), key=lambda a: a.kind, reverse=True)
    assert (refund.kind, refund.payload["amount"], refund.decision_id) == ("refund", "60.00", decision.id)
    assert (email.kind, email.payload["template"]) == ("email", "refund_confirmation")
    assert case.detail["decision"] == {"id": decision.id, "due_at": (T0 + DAY).isoformat(), "in_time": True}
    assert timers(db) == [("c1:breach", "cancelled")]


def test_a_given_amount_wins_and_a_refund_without_any_amount_is_refused(db, hooks) -> None:
    opened(db, hooks, record(), record("c2", order_id=2, detail={}))
    do(db, hooks, "resolve", "ada", at(1), resolution="approve_refund", amount="12.50")
    assert [a.payload["amount"] for a in outbox(db) if a.kind == "refund"] == ["12.50"]
    with pytest.raises(InvalidInput, match="approve_refund needs an amount"):
        run(db, lambda uow: act(uow, "c2", "resolve", "ada", at(2), hooks.hooks(), resolution="approve_refund"))
    with pytest.raises(InvalidInput, match="amount must be positive"):
        run(db, lambda uow: act(uow, "c2", "resolve", "ada", at(2), hooks.hooks(), resolution="approve_refund",
                                amount="-1"))
    assert db.tables.cases["c2"].status is CaseStatus.ASSIGNED


def test_the_amount_and_discount_come_from_the_decision_that_opened_the_case(db, hooks) -> None:
    source = DecisionRecord(id="d9", shop=SHOP, delivery_id=1, order_id=ORDER, event_name="return.requested",
                            event_key="k", playbook="refunds", rule_id="r", policy_version="v",
                            outcome="escalate", reason="over cap", inputs={"event": {"amount": "19.99",
                                                                                      "return_id": 7}},
                            decided_at=T0)
    run(db, lambda uow: uow.decisions.add_many([source]))
    opened(db, hooks, record(source="decision:d9", detail={}))
    do(db, hooks, "resolve", "ada", at(1), resolution="approve_refund")
    [refund] = [a for a in outbox(db) if a.kind == "refund"]
    assert (refund.payload["amount"], refund.payload["return_id"]) == ("19.99", 7)


@pytest.mark.parametrize(
    ("resolution", "params", "expected"),
    [
        ("deny", {"note": "outside the return window"},
         [("email", {"template": "generic", "message": "outside the return window"})]),
        ("reship", {"note": "wrong colour sent"},
         [("add_tags", {"tags": ["reship"]}), ("note", {"note": "reship approved by ada: wrong colour sent"})]),
        ("pause_discount", {"discount_id": "gid://shopify/DiscountAutomaticNode/1"},
         [("deactivate_discount", {"discount_id": "gid://shopify/DiscountAutomaticNode/1"})]),
        ("no_action", {}, []),
    ],
)
def test_each_resolution_becomes_its_actions(db, hooks, resolution, params, expected) -> None:
    opened(db, hooks, record())
    do(db, hooks, "resolve", "ada", at(1), resolution=resolution, **params)
    wanted = dict(expected)
    actions = {a.kind: {k: a.payload.get(k) for k in wanted.get(a.kind, {})} for a in db.tables.actions.values()}
    assert actions == wanted
    assert next(iter(db.tables.decisions.values())).rule_id == resolution


@pytest.mark.parametrize(("kind", "holds"), [
    ("address", ["address"]),  # the address monitor's case: its hold, not a fraud hold
    ("order", ["risk"]),  # a risk review: the fraud hold, not the address hold
    ("inventory", ["inventory"]),
    ("payment", ["payment"]),
    ("fulfilment", ["address", "inventory"]),  # what holds it back for shipping, never a fraud hold
])
def test_a_release_names_the_holds_the_case_is_about(db, hooks, kind, holds) -> None:
    opened(db, hooks, record(kind=kind))
    do(db, hooks, "resolve", "ada", at(1), resolution="release_hold")
    [release] = db.tables.actions.values()
    assert (release.kind, release.payload) == ("release_hold", {"shop": SHOP, "order_id": ORDER, "holds": holds})


def test_a_case_about_no_hold_of_the_desks_releases_none(db, hooks) -> None:
    opened(db, hooks, record())  # a refund request
    with pytest.raises(InvalidInput, match="a refund case is about no hold opsdesk places"):
        do(db, hooks, "resolve", "ada", at(1), resolution="release_hold")
    assert db.tables.decisions == {} and db.tables.actions == {}


def test_a_person_pausing_a_guarded_discount_names_it_as_the_guard_knows_it(db, hooks) -> None:
    gid = "gid://shopify/DiscountAutomaticNode/1"
    detail = {"discount_id": gid, "discount_name": "Staff 80", "incident": "i1"}  # as the discount guard opens it
    opened(db, hooks, record(order_id=None, kind="discount", queue="pricing", detail=detail))
    do(db, hooks, "resolve", "ada", at(1), resolution="pause_discount", discount_id=gid)  # the page fills it in
    [pause] = db.tables.actions.values()
    assert (pause.kind, pause.payload["discount_id"], pause.payload["discount_name"]) == (
        "deactivate_discount", gid, "Staff 80")
    assert case_for_failed_action(pause, "rejected", at(2)).title == "deactivate_discount failed for discount Staff 80"


def test_a_discount_pause_needs_a_discount_and_order_actions_need_an_order(db, hooks) -> None:
    opened(db, hooks, record(order_id=None, kind="discount", queue="pricing"))
    with pytest.raises(InvalidInput, match="pause_discount needs discount_id"):
        do(db, hooks, "resolve", "ada", at(1), resolution="pause_discount")
    with pytest.raises(InvalidInput, match="deny needs a case linked to an order"):
        do(db, hooks, "resolve", "ada", at(1), resolution="deny")
    assert db.tables.decisions == {} and db.tables.actions == {}


def test_resolving_again_after_a_reopen_records_a_second_decision(db, hooks) -> None:
    opened(db, hooks, record())
    do(db, hooks, "resolve", "ada", at(1), resolution="deny")
    do(db, hooks, "reopen", "ada", at(2))
    do(db, hooks, "resolve", "ada", at(3), resolution="approve_refund")
    assert sorted(d.rule_id for d in db.tables.decisions.values()) == ["approve_refund", "deny"]
