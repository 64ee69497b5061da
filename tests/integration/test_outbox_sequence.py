"""A decision's actions go out in their order, and none goes out after an earlier one failed for good (ADR 0042).

The actions are built as a decision builds them (``services.effects.actions_for``: a refund, then the email
that confirms it, as the refunds playbook and a person's approve_refund do); the outbox is the real one on
each backend (in memory, a SQLite file, PostgreSQL), the sender runs on a manual clock, and the providers
answer as a test script says, recording the order in which they were called.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.outbox import (
    ActionStatus,
    Breaker,
    Delivered,
    Rejected,
    RetryLater,
    RetryPolicy,
    SendResult,
)
from opsdesk.domain.policies import ActionSpec, Decision, Outcome
from opsdesk.domain.privacy import NOT_SENT, REDACTED
from opsdesk.domain.records import OutboxAction
from opsdesk.engine.outbox import OutboxSender
from opsdesk.ports import Database
from opsdesk.services.effects import actions_for
from opsdesk.services.resolutions import CaseResolved
from opsdesk.testing import ManualClock
from tests.integration._servers import START
from tests.samples import SHOP

REFUND_THEN_EMAIL = (
    ActionSpec("refund", {"notify": True}),
    ActionSpec("email", {"template": "refund_confirmation"}),
)


def decision_actions(order: int, *, email_first: bool) -> list[OutboxAction]:
    """A refund and its confirmation email, decided for ``order``; the decision's id chosen so that the email's
    id sorts before the refund's (``email_first``) or after it."""
    decision = Decision("refunds", "v1", "simple-refund", Outcome.AUTOMATE, "a wrong size", REFUND_THEN_EMAIL)
    event = CaseResolved(ShopDomain(SHOP), START, f"case-{order}", OrderId(order))
    facts = {
        "event": {"amount": Decimal("25.00")},
        "order": {"currency": "USD", "email": "customer@example.com", "name": f"#{order}"},
    }
    for n in range(100):
        refund, email = actions_for(f"decision-{order}-{n}", decision, event, facts, START)
        if (email.id < refund.id) == email_first:
            return [refund, email]
    raise AssertionError("no decision id found")


class Provider:
    """Answers each action as scripted (then Delivered), and notes every call in the shared ``calls``."""

    def __init__(self, calls: list[tuple[str, str]], script: dict[str, list[SendResult]]) -> None:
        self.calls, self.script = calls, script

    def send(self, action: OutboxAction) -> SendResult:
        self.calls.append((action.kind, action.decision_id))
        answers = self.script.get(action.id)
        return answers.pop(0) if answers else Delivered({"ok": True})


def sender(
    db: Database,
    clock: ManualClock,
    calls: list[tuple[str, str]],
    script: dict[str, list[SendResult]] | None = None,
    worker: str = "w1",
    **options: Any,
) -> OutboxSender:
    """``options``: the sender's other keywords (its outcome hooks, say)."""
    provider = Provider(calls, script or {})
    return OutboxSender(
        db,
        {"shopify": provider, "smtp": provider},
        clock,
        worker=worker,
        policy=RetryPolicy(max_attempts=3, base=1.0, cap=1.0),
        **options,
    )


def add(db: Database, actions: list[OutboxAction]) -> None:
    with db.unit_of_work() as uow:
        uow.outbox.add_many(actions)
        uow.commit()


def stored(db: Database, action: OutboxAction) -> OutboxAction:
    with db.unit_of_work(read_only=True) as uow:
        return uow.outbox.get(action.id)


def drain(s: OutboxSender, clock: ManualClock, rounds: int = 10) -> None:
    for _ in range(rounds):
        s.run_once()
        clock.advance(minutes=1)


def case_ids(db: Database, *orders: int) -> list[str]:
    """The ids of every case opened about the orders."""
    with db.unit_of_work(read_only=True) as uow:
        return [case.id for order in orders for case in uow.cases.for_order(SHOP, order)]


def test_the_email_goes_after_its_refund_even_when_its_id_sorts_first(any_db: Database) -> None:
    refund, email = decision_actions(1001, email_first=True)
    add(any_db, [refund, email])
    clock, calls = ManualClock(START), list[tuple[str, str]]()
    s = sender(any_db, clock, calls)

    assert s.run_once() == 1  # the email waits for its refund: not claimed with it
    drain(s, clock)

    assert calls == [("refund", refund.decision_id), ("email", email.decision_id)]
    assert [stored(any_db, a).status for a in (refund, email)] == [ActionStatus.SENT, ActionStatus.SENT]


def test_a_refund_rejected_for_good_fails_its_email_with_the_reason_and_one_case(any_db: Database) -> None:
    refund, email = decision_actions(1002, email_first=False)
    add(any_db, [refund, email])
    clock, calls = ManualClock(START), list[tuple[str, str]]()
    s = sender(
        any_db, clock, calls, {refund.id: [Rejected("the refund exceeds the order's refundable amount")]}
    )

    drain(s, clock)

    assert calls == [("refund", refund.decision_id)]  # the customer is not told of a refund that was not made
    cancelled = stored(any_db, email)
    failure = "rejected by shopify: the refund exceeds the order's refundable amount"
    assert (cancelled.status, cancelled.attempts) == (ActionStatus.FAILED, 0)
    assert cancelled.last_error == f"not sent: action 1 of this decision (refund) failed: {failure}"
    assert [h["outcome"] for h in cancelled.history] == ["cancelled"]
    assert case_ids(any_db, 1002) == [f"action-{refund.id}"]  # one case, for the refund
    with any_db.unit_of_work(read_only=True) as uow:
        case = uow.cases.get(f"action-{refund.id}")
    assert case.reason == f"{failure}; not sent after it: email (refund_confirmation)"
    assert case.detail["cancelled"] == [{"action": email.id, "kind": "email", "position": 1}]


def test_a_refund_retried_then_delivered_is_followed_by_its_email(any_db: Database) -> None:
    refund, email = decision_actions(1003, email_first=True)
    add(any_db, [refund, email])
    clock, calls = ManualClock(START), list[tuple[str, str]]()
    s = sender(any_db, clock, calls, {refund.id: [RetryLater("503 from Shopify"), RetryLater("timed out")]})

    s.run_once()
    assert calls == [("refund", refund.decision_id)]
    assert stored(any_db, email).status is ActionStatus.PENDING  # waiting, not failed
    drain(s, clock)

    assert calls == [("refund", refund.decision_id)] * 3 + [("email", email.decision_id)]
    assert [stored(any_db, a).status for a in (refund, email)] == [ActionStatus.SENT, ActionStatus.SENT]
    assert case_ids(any_db, 1003) == []


def test_one_decisions_failing_refund_neither_holds_nor_fails_another_decisions_actions(
    any_db: Database,
) -> None:
    failing, failing_email = decision_actions(1004, email_first=True)
    other, other_email = decision_actions(1005, email_first=True)
    add(any_db, [failing, failing_email, other, other_email])
    clock, calls = ManualClock(START), list[tuple[str, str]]()
    s = sender(any_db, clock, calls, {failing.id: [RetryLater("503"), RetryLater("503"), RetryLater("503")]})

    s.run_once()  # the first refund is retrying: the other decision's email goes as soon as its refund went
    s.run_once()
    assert ("email", other.decision_id) in calls
    assert ("email", failing.decision_id) not in calls
    drain(s, clock)

    assert [stored(any_db, a).status for a in (failing, failing_email, other, other_email)] == [
        ActionStatus.FAILED,
        ActionStatus.FAILED,
        ActionStatus.SENT,
        ActionStatus.SENT,
    ]
    assert stored(any_db, failing_email).last_error.startswith(
        "not sent: action 1 of this decision (refund) failed: gave up after 3 attempts: 503"
    )
    assert case_ids(any_db, 1004, 1005) == [f"action-{failing.id}"]


def test_a_second_worker_does_not_claim_the_email_while_the_first_holds_its_refund(any_db: Database) -> None:
    refund, email = decision_actions(1006, email_first=True)
    add(any_db, [refund, email])
    lease = START + timedelta(seconds=60)
    with any_db.unit_of_work() as uow:
        first = uow.outbox.claim_due(START, 50, lease, "w1")
        uow.commit()
    with any_db.unit_of_work() as uow:
        second = uow.outbox.claim_due(START, 50, lease, "w2")
        uow.commit()
    with any_db.unit_of_work(read_only=True) as uow:
        due = uow.outbox.next_due_at()

    assert ([a.id for a in first], second) == ([refund.id], [])
    assert due == START  # the refund, leased; the email is not due before it is sent


def test_a_sent_refund_lets_a_second_worker_claim_its_email(any_db: Database) -> None:
    refund, email = decision_actions(1007, email_first=False)
    add(any_db, [refund, email])
    calls: list[tuple[str, str]] = []
    sender(any_db, ManualClock(START), calls).run_once()
    with any_db.unit_of_work() as uow:
        claimed = uow.outbox.claim_due(START + timedelta(seconds=1), 50, START + timedelta(minutes=1), "w2")
        uow.commit()

    assert (calls, [a.id for a in claimed]) == ([("refund", refund.decision_id)], [email.id])


def test_actions_at_position_zero_wait_for_none(any_db: Database) -> None:
    """What a decision does not order (a notification's email and chat, a monitor's follow-ups: position 0)
    goes out as before, in the claim's order."""
    refund, email = decision_actions(1008, email_first=True)
    add(any_db, [refund, replace(email, position=0)])
    calls: list[tuple[str, str]] = []
    assert sender(any_db, ManualClock(START), calls).run_once() == 2
    assert [kind for kind, _ in calls] == ["email", "refund"]


def test_an_email_never_to_be_sent_holds_back_none_after_it(any_db: Database) -> None:
    """An erased customer's email is recorded failed, not sent (ADR 0021): not a failure of the decision, so the
    refund decided after it still goes."""
    decision = Decision(
        "refunds", "v1", "r", Outcome.AUTOMATE, "", (REFUND_THEN_EMAIL[1], REFUND_THEN_EMAIL[0])
    )
    event = CaseResolved(ShopDomain(SHOP), START, "case-1009", OrderId(1009))
    facts = {
        "event": {"amount": Decimal("25.00")},
        "order": {"currency": "USD", "email": REDACTED, "name": "#1009"},
    }
    email, refund = actions_for("decision-1009", decision, event, facts, START)
    add(any_db, [email, refund])
    calls: list[tuple[str, str]] = []

    assert sender(any_db, ManualClock(START), calls).run_once() == 1
    assert (calls, stored(any_db, email).last_error) == ([("refund", refund.decision_id)], NOT_SENT)


def test_emails_waiting_for_a_retried_or_deferred_refund_are_not_due_before_it(any_db: Database) -> None:
    """A refund tried again later (Shopify answered 503; or its circuit opened before it was sent) takes the
    emails waiting for it along: due no sooner than it, so a claim does not read past them meanwhile."""
    pairs = [decision_actions(order, email_first=True) for order in (1010, 1011)]
    add(any_db, [action for pair in pairs for action in pair])
    refunds = {refund.id: [RetryLater("503")] for refund, _ in pairs}
    provider = Provider([], refunds)
    s = OutboxSender(
        any_db,
        {"shopify": provider, "smtp": provider},
        ManualClock(START),
        worker="w1",
        policy=RetryPolicy(max_attempts=3, base=10.0, cap=10.0),
        breaker=Breaker(threshold=1),
    )

    assert s.run_once() == 2
    assert (s.stats.retried, s.stats.deferred) == (1, 1)
    for refund, email in pairs:
        later = stored(any_db, refund).next_attempt_at
        assert later > START
        assert stored(any_db, email).next_attempt_at == later
    first = min(stored(any_db, refund).next_attempt_at for refund, _ in pairs)
    with any_db.unit_of_work(read_only=True) as uow:
        assert uow.outbox.next_due_at() == first
