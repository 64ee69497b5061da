"""The rule that decided a refund, asked again at the send on the order as it is now (ADR 0041, amended in session
14): what its condition reads changed since (a tag, the risk), what the decision's own actions did (not news), a
person's approval (theirs), a playbook edited or removed since; through the in-memory unit of work, the decision's
facts through the stored JSON."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from opsdesk.domain.events import ReturnChange, ReturnChanged, ReturnLine, RiskAssessed
from opsdesk.domain.orders import OrderState, apply
from opsdesk.domain.policies import Playbook
from opsdesk.domain.records import DecisionRecord, OutboxAction
from opsdesk.policy.loader import load
from opsdesk.services.facts import facts_for
from opsdesk.services.refund_guard import refund_guard
from opsdesk.storage.codec import dumps, loads
from opsdesk.testing import InMemoryDatabase
from tests.unit.refunded_return_events import AT, ORDER, RETURN, SHIRT, SHOP, fold, placed
from tests.unit.test_refund_guard import action

RULE = """
playbook: refunds
owner: team:support
rules:
  - id: auto-refund
    when: [return.requested]
    if: {condition}
    then: {then}
"""
UNTAGGED = 'event.amount != null && event.amount <= 50.0 && !("no-auto-refund" in order.tags)'
REFUND = "[{type: refund}, {type: email, template: refund_confirmation}]"


def playbooks(tmp_path: Path, condition: str = UNTAGGED, then: str = REFUND, name: str = "refunds") -> list[Playbook]:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "refunds.yaml").write_text(RULE.format(condition=f"'{condition}'", then=then))
    return load([folder])


def request() -> ReturnChanged:
    return ReturnChanged(SHOP, AT, ReturnChange.REQUESTED, RETURN, ORDER, "requested",
                         (ReturnLine(SHIRT, 1, "UNWANTED", "", None),))


def retagged(state: OrderState, *tags: str, minutes: int = 5, **changes: object) -> OrderState:
    """The merchant changed the order in admin since the decision: ``orders/updated`` with these tags."""
    assert state.snapshot is not None
    at = AT + timedelta(minutes=minutes)
    snapshot = replace(state.snapshot, tags=tags, updated_at=at, **changes)
    return apply(state, replace(placed(1, 1), occurred_at=at, order=snapshot)).state


def decided_by(playbook: Playbook, db: InMemoryDatabase, *, then_tags: tuple[str, ...] = (), kinds: tuple[str, ...] = (
    "refund", "email"), playbook_name: str = "", rule: str = "auto-refund", tags: list[str] | None = None,
) -> OrderState:
    """The refund's decision (``d``) by ``playbook``'s rule on the order then (its facts through the stored JSON), and
    its actions in the outbox (``kinds``; an ``add_tags`` adds ``tags``)."""
    state = retagged(fold([placed(1, 1)]), *then_tags, minutes=1) if then_tags else fold([placed(1, 1)])
    inputs = loads(dumps(facts_for(request(), state)))
    record = DecisionRecord("d", SHOP, 1, ORDER, "return.requested", "k", playbook_name or playbook.name, rule,
                            playbook.version, "automate", "", inputs, AT)
    own = [replace(action("21.59", shirts=1), id=f"a{i}", kind=kind, payload={"tags": tags or []})
           for i, kind in enumerate(kinds) if kind != "refund"]  # the refund is the action the guard is asked of
    with db.unit_of_work() as uow:
        uow.decisions.add_many([record])
        uow.outbox.add_many(own)
        uow.orders.put_many([state])
        uow.commit()
    return state


def now(db: InMemoryDatabase, state: OrderState) -> None:
    with db.unit_of_work() as uow:
        uow.orders.put_many([state])
        uow.commit()


def refused(db: InMemoryDatabase, found: list[Playbook], sent: OutboxAction | None = None) -> str:
    with db.unit_of_work(read_only=True) as uow:
        return refund_guard(found)(uow, sent or action("21.59", shirts=1))


NO_LONGER = "the rule auto-refund's condition (playbook refunds) no longer holds: "


def test_a_tag_the_rule_excludes_added_since_the_decision_stops_the_refund_and_says_what_changed(tmp_path: Path) -> (
    None
):
    found, db = playbooks(tmp_path), InMemoryDatabase()
    state = decided_by(found[0], db, then_tags=("vip",))
    assert refused(db, found) == ""  # nothing changed: the recorded facts read back as the rule saw them

    now(db, retagged(state, "vip", "no-auto-refund"))

    assert refused(db, found) == f'{NO_LONGER}order.tags gained "no-auto-refund" since this refund was decided'
    assert refused(db, found, action("21.59", attempts=1, shirts=1)).endswith(
        "since this refund was decided (an earlier attempt may have reached Shopify: check the order's refunds there)")
    now(db, retagged(state, "wholesale", minutes=9))  # another tag, "vip" taken off: the rule still holds
    assert refused(db, found) == ""


def test_a_fact_the_rule_reads_changed_since_is_named_with_its_values_then_and_now(tmp_path: Path) -> None:
    found, db = playbooks(tmp_path, condition='order.risk_level != "high"'), InMemoryDatabase()
    state = decided_by(found[0], db)

    now(db, apply(state, RiskAssessed(SHOP, AT + timedelta(minutes=3), ORDER, "high", "shopify")).state)

    assert refused(db, found) == f'{NO_LONGER}order.risk_level was "", is "high" now since this refund was decided'


def test_what_the_decisions_own_actions_did_to_the_order_does_not_stop_its_refund(tmp_path: Path) -> None:
    condition = ('!("refund-queued" in order.tags) && !("no-auto-refund" in order.tags) '
                 '&& order.payment_status == "paid"')
    then = "[{type: add_tags, tags: [refund-queued]}, {type: refund}]"
    found, db = playbooks(tmp_path, condition, then), InMemoryDatabase()
    state = decided_by(found[0], db, kinds=("add_tags", "refund"), tags=["refund-queued"])

    # its tag came back in orders/updated, and its refund, after an attempt that reached Shopify, left it refunded
    now(db, retagged(state, "refund-queued", financial_status="partially_refunded"))
    assert refused(db, found, action("21.59", attempts=1, shirts=1)) == ""

    now(db, retagged(state, "refund-queued", "no-auto-refund", minutes=7))  # the merchant's tag is news
    assert refused(db, found) == f'{NO_LONGER}order.tags gained "no-auto-refund" since this refund was decided'


def test_a_tag_another_decision_added_since_is_news(tmp_path: Path) -> None:
    found, db = playbooks(tmp_path), InMemoryDatabase()
    state = decided_by(found[0], db)
    other = replace(action("0", shirts=1), id="x", decision_id="another", kind="add_tags",
                    payload={"tags": ["no-auto-refund"]})
    with db.unit_of_work() as uow:  # another playbook's rule tagged the order since (a fraud review, say)
        uow.outbox.add_many([other])
        uow.commit()

    now(db, retagged(state, "no-auto-refund"))

    assert refused(db, found) == f'{NO_LONGER}order.tags gained "no-auto-refund" since this refund was decided'


def test_a_persons_approval_and_a_rule_no_longer_loaded_are_not_asked_again(tmp_path: Path) -> None:
    found, db = playbooks(tmp_path), InMemoryDatabase()
    state = decided_by(found[0], db, playbook_name="desk", rule="approve_refund")
    now(db, retagged(state, "no-auto-refund"))
    assert refused(db, found) == ""  # a person's decision stays theirs

    for loaded, rule in (([], "auto-refund"), (found, "an-old-rule")):  # the playbook removed; the rule renamed
        db = InMemoryDatabase()
        now(db, retagged(decided_by(found[0], db, rule=rule), "no-auto-refund"))
        assert refused(db, loaded) == ""


def test_a_rule_edited_since_is_asked_as_it_is_now(tmp_path: Path) -> None:
    before, db = playbooks(tmp_path), InMemoryDatabase()
    decided_by(before[0], db)
    edited = playbooks(tmp_path, "event.amount != null && event.amount <= 10.0", name="edited")

    assert refused(db, edited) == (
        f"{NO_LONGER}the rule was changed since this refund was decided (playbook version {before[0].version} then, "
        f"{edited[0].version} now), and it does not hold on the facts it was decided on")


@pytest.mark.parametrize("condition", ["", "true"])
def test_a_rule_that_holds_always_lets_the_refund_go(tmp_path: Path, condition: str) -> None:
    found = playbooks(tmp_path, condition) if condition else load([_always(tmp_path)])
    db = InMemoryDatabase()
    now(db, retagged(decided_by(found[0], db), "no-auto-refund"))

    assert refused(db, found) == ""


def _always(tmp_path: Path) -> Path:
    folder = tmp_path / "always"
    folder.mkdir()
    (folder / "refunds.yaml").write_text(RULE.replace("    if: {condition}\n", "").format(then=REFUND))
    return folder
