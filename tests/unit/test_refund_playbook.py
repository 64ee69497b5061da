"""The refund's playbook decides its event again at the send, on the order as it is now (ADR 0041, amended in session
15): an earlier rule whose condition holds now, the deciding rule's ``when``, its actions and its guardrails as they
are now (each judging this refund alone: what other decisions counted is not asked), the decision's own tags (not
news for any rule). Through the in-memory unit of work, the decision's facts through the stored JSON."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from opsdesk.domain.policies import (
    ActionSpec,
    Escalation,
    Guardrail,
    Outcome,
    Playbook,
    Rule,
    Scope,
    Usage,
    decide,
    guardrail_keys,
)
from opsdesk.domain.records import DecisionRecord
from opsdesk.policy.cel import CelCondition, CelFacts
from opsdesk.policy.loader import load
from opsdesk.services.facts import facts_for
from opsdesk.storage.codec import dumps, loads
from opsdesk.testing import InMemoryDatabase
from tests.unit.refunded_return_events import AT, SHOP, fold, placed
from tests.unit.test_refund_guard import action
from tests.unit.test_refund_rule import decided_by, now, refused, request, retagged

HEAD = """playbook: refunds
owner: team:support
escalate: {queue: refunds}
rules:
"""
VIP = """  - id: vip-to-a-person
    when: [return.requested]
    if: '"vip" in order.tags'
    escalate: {queue: refunds, priority: high}
"""
QUEUED = VIP.replace("vip-to-a-person", "already-refunding").replace('"vip"', '"refund-queued"')
OVER_TEN = """  - id: over-ten-to-a-person
    when: [return.requested]
    if: 'event.amount != null && event.amount > 10.0'
    escalate: {queue: refunds}
"""
REFUND = """  - id: auto-refund
    when: [return.requested]
    if: 'event.amount != null && event.amount <= 50.0'
    guardrails: [{per: action, max_amount: 50}, {per: customer, period: 30d, max_count: 2, max_amount: 100}]
    then: [{type: refund}, {type: email, template: refund_confirmation}]
"""
LATER = """  - id: refund-request-needs-a-person
    when: [return.requested]
    escalate: {queue: refunds}
"""
TAGS_FIRST = REFUND.replace("then: [", "then: [{type: add_tags, tags: [refund-queued]}, ")


def playbook(tmp_path: Path, *rules: str, name: str = "refunds") -> list[Playbook]:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "refunds.yaml").write_text(HEAD + "".join(rules))
    return load([folder])


def test_an_earlier_rule_whose_condition_holds_now_takes_the_event_and_the_refund_is_not_sent(
    tmp_path: Path,
) -> None:
    found, db = playbook(tmp_path, VIP, REFUND), InMemoryDatabase()
    state = decided_by(found[0], db)
    assert refused(db, found) == ""  # nothing changed: the same rule takes it

    now(db, retagged(state, "vip"))
    assert refused(db, found) == ('the rule vip-to-a-person (playbook refunds) would take this event before the rule '
                                  'auto-refund now: order.tags gained "vip" since this refund was decided')
    now(db, retagged(state, "wholesale", minutes=9))  # "vip" taken off again, a tag no rule reads
    assert refused(db, found) == ""


def test_the_decisions_own_tag_does_not_make_an_earlier_rule_take_the_event(tmp_path: Path) -> None:
    found, db = playbook(tmp_path, QUEUED, TAGS_FIRST), InMemoryDatabase()
    state = decided_by(found[0], db, kinds=("add_tags", "refund", "email"), tags=["refund-queued"])

    now(db, retagged(state, "refund-queued"))  # its own tag, back in orders/updated
    assert refused(db, found) == ""

    now(db, retagged(state, "refund-queued", "vip", minutes=7))  # the merchant's vip: not read by this playbook
    assert refused(db, found) == ""


def test_an_earlier_rule_added_since_on_the_events_facts_says_the_playbook_changed(tmp_path: Path) -> None:
    before, db = playbook(tmp_path, REFUND), InMemoryDatabase()
    decided_by(before[0], db)
    edited = playbook(tmp_path, OVER_TEN, REFUND, name="edited")  # the refund was 21.59

    assert refused(db, edited) == (
        "the rule over-ten-to-a-person (playbook refunds) would take this event before the rule auto-refund now: "
        f"the playbook was changed since this refund was decided (version {before[0].version} then, "
        f"{edited[0].version} now), and the rule takes it")


@pytest.mark.parametrize("rules", [(REFUND,), (REFUND, LATER)])
def test_a_rule_whose_when_no_longer_names_the_event_does_not_refund_it(tmp_path: Path, rules: tuple[str]) -> None:
    before, db = playbook(tmp_path, *rules), InMemoryDatabase()
    decided_by(before[0], db)
    moved = [r.replace("when: [return.requested]", "when: [return.approved]") if r is REFUND else r for r in rules]

    assert refused(db, playbook(tmp_path, *moved, name="edited")) == (
        "the rule auto-refund (playbook refunds) no longer listens to return.requested (its when: return.approved)")


@pytest.mark.parametrize(
    ("then", "why"),
    [
        ("then: [{type: email, template: refund_confirmation}]", "its actions are email now"),
        ("escalate: {queue: refunds-review}", "it escalates to refunds-review now"),
    ],
)
def test_a_rule_edited_not_to_refund_does_not_refund(tmp_path: Path, then: str, why: str) -> None:
    before, db = playbook(tmp_path, REFUND), InMemoryDatabase()
    decided_by(before[0], db)
    lines = REFUND.splitlines(keepends=True)
    edited = "".join(line for line in lines if "guardrails" not in line and "then:" not in line) + f"    {then}\n"

    assert refused(db, playbook(tmp_path, edited, name="edited")) == (
        f"the rule auto-refund (playbook refunds) no longer refunds: {why}")


GUARDRAILS = "guardrails: [{per: action, max_amount: 50}, {per: customer, period: 30d, max_count: 2, max_amount: 100}]"
NOT_ALONE = "the rule auto-refund (playbook refunds) would send it to a person now: guardrail: "


@pytest.mark.parametrize(
    ("guardrails", "why"),
    [
        (GUARDRAILS, ""),  # as decided: its counters full now (this refund and others) refuse nothing
        ("guardrails: [{per: customer, period: 30d, max_count: 1}]", ""),  # lowered, but others fill it: not asked
        ("guardrails: [{per: action, max_amount: 20}]", f"{NOT_ALONE}amount 21.59 would exceed 20 (action)"),
        ("guardrails: [{per: customer, period: 30d, max_count: 0}]",
         f"{NOT_ALONE}count 1 would exceed 0 (customer per 30 days, 0:00:00)"),
        ("guardrails: [{per: shop, period: 1d, max_amount: 21.58}]",
         f"{NOT_ALONE}amount 21.59 would exceed 21.58 (shop per 1 day, 0:00:00)"),
    ],
)
def test_guardrails_as_they_are_now_judge_the_refund_alone(tmp_path: Path, guardrails: str, why: str) -> None:
    before, db = playbook(tmp_path, REFUND), InMemoryDatabase()
    facts = facts_for(request(), decided_by(before[0], db))
    edited = playbook(tmp_path, REFUND.replace(GUARDRAILS, guardrails), name="edited")
    counted = {key: Usage(9, Decimal(500))  # what this decision and others counted in its window, and more
               for rule in (before[0].rules[0], edited[0].rules[0])
               for key in guardrail_keys(rule, facts, AT).values()}
    assert not any("anonymous" in key for key in counted)  # the order's customer's counters, as decide read them
    with db.unit_of_work() as uow:
        uow.usage.put_many(counted)
        uow.commit()

    assert refused(db, edited, action("21.59", shirts=1)) == why


TAGS = ("vip", "no-auto-refund", "wholesale")
CONDITIONS = st.sampled_from(
    [None, "event.amount != null && event.amount <= 50.0", "event.amount != null && event.amount <= 10.0"]
    + [f'"{tag}" in order.tags' for tag in TAGS] + [f'!("{tag}" in order.tags)' for tag in TAGS])
CAPS = st.lists(st.sampled_from([
    Guardrail(Scope.ACTION, max_amount=Decimal(30)),
    Guardrail(Scope.CUSTOMER, timedelta(days=30), max_count=2, max_amount=Decimal(100)),
    Guardrail(Scope.SHOP, timedelta(days=1), max_amount=Decimal(60)),
]), unique=True, max_size=3)
REFUNDS = (ActionSpec("refund"), ActionSpec("email", {"template": "refund_confirmation"}))


@st.composite
def rules(draw: st.DrawFn) -> tuple[Rule, ...]:
    """One to four rules of ``return.requested``: each refunds (within guardrails), escalates or ignores."""
    drawn = []
    for i in range(draw(st.integers(1, 4))):
        source = draw(CONDITIONS)
        condition = None if source is None else CelCondition(source)
        does = draw(st.sampled_from(Outcome))
        drawn.append(Rule(
            f"rule-{i}", frozenset({"return.requested"}), condition, source or "",
            REFUNDS if does is Outcome.AUTOMATE else (),
            Escalation("refunds") if does is Outcome.ESCALATE else None,
            draw(CAPS) if does is Outcome.AUTOMATE else (),
        ))
    return tuple(drawn)


@given(rules(), st.lists(st.sampled_from(TAGS), unique=True), st.integers(0, 3), st.integers(0, 80))
def test_a_refund_whose_playbook_and_order_did_not_change_is_always_sent(
    drawn: tuple[Rule, ...], tags: list[str], count: int, amount: int
) -> None:
    """Whatever the playbook, its guardrails' counters full or not when it decided: asked again on what it decided
    on, the same rule refunds (a guardrail that let it through with others counted lets it through alone)."""
    book = Playbook("refunds", "team:support", "v1", drawn, listens=frozenset({"return.requested"}))
    state = retagged(fold([placed(1, 1)]), *tags, minutes=1)
    facts = facts_for(request(), state)
    counted = {key: Usage(count, Decimal(amount)) for rule in drawn
               for key in guardrail_keys(rule, facts, AT).values()}
    decision = decide(book, "return.requested", CelFacts(facts), counted, AT)
    assume(decision is not None and decision.outcome is Outcome.AUTOMATE)
    assert decision is not None
    record = DecisionRecord("d", SHOP, 1, state.order_id, "return.requested", "k", book.name, decision.rule_id,
                            book.version, "automate", decision.reason, loads(dumps(facts)), AT)
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:
        uow.decisions.add_many([record])
        uow.orders.put_many([state])
        uow.usage.put_many({**counted, **decision.usage})  # as the pipeline leaves them: this refund counted
        uow.commit()

    assert refused(db, [book]) == ""
