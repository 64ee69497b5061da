"""The case use cases on the in-memory database: owners and SLAs on opening, every action, the cases the
pipeline and the outbox open. The decisions resolving records are in ``test_case_resolutions``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from opsdesk.domain import case_transitions as transitions
from opsdesk.domain.cases import Case, CaseStatus
from opsdesk.domain.errors import Conflict, InvalidInput, NotFound
from opsdesk.domain.org import Org, Queue, Team
from opsdesk.domain.outbox import Rejected, SendResult
from opsdesk.domain.records import AuditEntry, CaseFilter, OutboxAction, Timer
from opsdesk.engine.outbox import OutboxSender
from opsdesk.services import cases as service
from opsdesk.services.cases import CaseHooks, act, escalate_case, open_case
from opsdesk.services.pipeline import Pipeline
from opsdesk.services.pipeline_batch import ShopDefaults
from opsdesk.services.pipeline_drain import process_pending
from opsdesk.testing import ManualClock
from tests.pipeline_harness import feed, starter_playbooks
from tests.samples import SHOP, order_lifecycle
from tests.unit.case_harness import DAY, ORDER, T0, at, audit, db, do, hooks, opened, record, run, timers

__all__ = ["db", "hooks"]  # the fixtures: the in-memory database, the recording hooks

# Opening


def test_a_new_case_gets_an_owner_a_running_sla_its_timers_and_one_audit_entry(db, hooks) -> None:
    case = opened(db, hooks, record())
    assert (case.owner, case.status, case.due_at, case.version) == ("ada", CaseStatus.ASSIGNED, T0 + DAY, 2)
    assert db.tables.cases["c1"] == case
    assert timers(db) == [("c1:breach", "pending")]
    assert audit(db) == [AuditEntry(T0, "automation", "case.opened", "case:c1", {},
                                    {"owner": "ada", "status": "assigned"})]
    assert [c.kind for c in db.tables.changes] == ["opened"]
    assert [change.kind for _, _, change in hooks.seen] == ["opened"]


def test_a_second_signal_for_the_same_order_and_kind_joins_the_open_case(db, hooks) -> None:
    opened(db, hooks, record())
    joined = opened(db, hooks, record("c2", source="decision:d2", reason="asked again"))
    assert joined.id == "c1"
    assert list(db.tables.cases) == ["c1"]
    assert joined.detail["signals"] == [{"source": "decision:d2", "reason": "asked again", "at": T0.isoformat()}]
    assert [a.action for a in audit(db)] == ["case.opened", "case.signal"]


def test_opening_the_same_case_again_changes_nothing(db, hooks) -> None:
    first = opened(db, hooks, record())
    assert opened(db, hooks, record()) == first
    assert len(audit(db)) == 1


def test_default_hooks_give_the_case_to_the_team_of_its_queue(db) -> None:
    org = Org(teams={"support": Team("support")}, queues={"refunds": Queue("refunds", team="support")})
    with_org = CaseHooks(owner_for=service.team_owner(org))
    assert run(db, lambda uow: open_case(uow, record(), with_org, T0)).owner == "team:support"
    assert run(db, lambda uow: open_case(uow, record("c2", order_id=2), CaseHooks(), T0)).owner == "team:ops"


# Acting


def test_claiming_audits_who_what_before_after_and_when_and_tells_the_hook(db, hooks) -> None:
    opened(db, hooks, record(queue="other"))
    case = do(db, hooks, "claim", "bob", at(5))
    assert (case.owner, case.status, case.version) == ("bob", CaseStatus.ASSIGNED, 3)
    assert audit(db)[-1] == AuditEntry(at(5), "bob", "case.claimed", "case:c1",
                                       {"owner": "team:ops", "status": "open"},
                                       {"owner": "bob", "status": "assigned"})
    before, after, change = hooks.seen[-1]
    assert (before.owner, after.owner, change.kind) == ("team:ops", "bob", "claimed")


def test_claiming_your_own_case_again_changes_nothing_and_someone_elses_is_a_conflict(db, hooks) -> None:
    opened(db, hooks, record())
    assert do(db, hooks, "claim", "ada", at(1)).version == 2
    with pytest.raises(Conflict, match="already claimed by ada") as caught:
        do(db, hooks, "claim", "bob", at(2))
    assert caught.value.holder == "ada"
    assert len(audit(db)) == 1


def test_losing_the_save_race_is_a_conflict_naming_the_winner(db, hooks) -> None:
    opened(db, hooks, record(queue="other"))

    def competing_claim(before: Case, after: Case, now: datetime) -> tuple[Case, list[Timer], list[str]]:
        # Bob's claim lands between our read and our write, as another transaction's would.
        run_uow.cases.save(transitions.claim(before, "bob", now), expected_version=before.version)
        return after, [], []

    with db.unit_of_work() as run_uow:
        racing = CaseHooks(sla_update=competing_claim)
        with pytest.raises(Conflict, match="already claimed by bob") as caught:
            act(run_uow, "c1", "claim", "ada", at(1), racing)
    assert caught.value.holder == "bob"


def test_waiting_pauses_the_clock_and_resuming_restarts_it(db, hooks) -> None:
    opened(db, hooks, record())
    waiting = do(db, hooks, "wait", "ada", at(10), on="customer", note="asked for photos")
    assert (waiting.status, waiting.due_at) == (CaseStatus.WAITING_CUSTOMER, None)
    assert timers(db) == [("c1:breach", "cancelled")]
    assert db.tables.cases["c1"].due_at is None

    resumed = do(db, hooks, "resume", "ada", at(70))
    assert (resumed.status, resumed.due_at) == (CaseStatus.IN_PROGRESS, at(70) + DAY)
    assert timers(db) == [("c1:breach", "pending")]
    assert audit(db)[-2].after == {"status": "waiting_customer", "note": "asked for photos"}


def test_every_action_writes_one_timeline_and_one_audit_entry(db, hooks) -> None:
    opened(db, hooks, record(queue="other"))
    # a lead gives the case to bob, who works it
    run(db, lambda uow: act(uow, "c1", "assign", "lead", at(1), hooks.hooks(), lead=True, owner="bob"))
    steps: list[tuple[str, dict[str, Any]]] = [
        ("start", {}), ("comment", {"note": "on it"}),
        ("wait", {"on": "supplier"}), ("resume", {}), ("resolve", {"resolution": "no_action"}),
        ("close", {}), ("reopen", {"note": "customer wrote again"}),
    ]
    for n, (action, params) in enumerate(steps, start=2):
        do(db, hooks, action, "bob", at(n), **params)
    kinds = ["opened", "assigned", "started", "comment", "waiting", "resumed", "resolved", "closed", "reopened"]
    assert [c.kind for c in db.tables.changes] == kinds
    assert [a.action for a in audit(db)] == [f"case.{k}" for k in kinds]
    assert db.tables.cases["c1"].status is CaseStatus.ASSIGNED


@pytest.mark.parametrize(
    ("action", "params", "message"),
    [
        ("dance", {}, "unknown case action 'dance'"),
        ("assign", {}, "assign needs owner"),
        ("wait", {}, "wait needs on"),
        ("resolve", {}, "resolve needs resolution"),
        ("comment", {"note": " "}, "a comment needs text"),
        ("close", {}, "cannot close case C-1: it is assigned"),
    ],
)
def test_bad_actions_are_refused_and_write_nothing(db, hooks, action, params, message) -> None:
    opened(db, hooks, record())
    with pytest.raises(InvalidInput, match=message):
        do(db, hooks, action, "ada", at(1), **params)
    assert db.tables.cases["c1"].version == 2
    assert len(audit(db)) == 1


def test_acting_on_an_unknown_case_is_not_found(db, hooks) -> None:
    with pytest.raises(NotFound):
        do(db, hooks, "claim", "ada", at(1))


def test_escalating_hands_the_case_up_and_audits_it(db, hooks) -> None:
    opened(db, hooks, record())
    case = run(db, lambda uow: escalate_case(uow, "c1", 1, "lead-lin", at(30), "first response breached",
                                             hooks.hooks()))
    assert (case.escalation_level, case.owner) == (1, "lead-lin")
    assert audit(db)[-1].action == "case.escalated"
    assert audit(db)[-1].after == {"escalation_level": 1, "owner": "lead-lin", "note": "first response breached"}


# The pipeline and the outbox open cases through open_case


def test_the_pipeline_opens_escalated_cases_with_an_owner_and_an_sla(db, hooks) -> None:
    clock = ManualClock(datetime(2026, 1, 5, 9, 10, tzinfo=UTC))
    feed(db, order_lifecycle(1, reason="OTHER")[:6], clock)  # not a simple purchase error: a person looks
    pipeline = Pipeline(starter_playbooks(), lambda _s: ShopDefaults(), case_hooks=hooks.hooks())
    report = process_pending(db.unit_of_work, pipeline, clock.now)
    assert report.cases == 1
    [case] = db.tables.cases.values()
    assert (case.queue, case.owner, case.due_at) == ("refunds", "ada", clock.now() + DAY)
    assert [a.action for a in audit(db)] == ["case.opened"]


class Refusing:
    provider = "shopify"

    def send(self, action: OutboxAction) -> SendResult:
        return Rejected("order is archived")


def test_an_action_the_provider_rejects_becomes_an_owned_case(db, hooks) -> None:
    clock = ManualClock(T0)
    action = OutboxAction(id="a1", decision_id="d1", shop=SHOP, order_id=ORDER, kind="refund", provider="shopify",
                          payload={"amount": "5.00"}, idempotency_key="k", created_at=T0, next_attempt_at=T0)
    run(db, lambda uow: uow.outbox.add_many([action]))
    sender = OutboxSender(db, {"shopify": Refusing()}, clock, worker="w", case_hooks=hooks.hooks())
    assert sender.run_once() == 1
    [case] = run(db, lambda uow: uow.cases.search(CaseFilter()))
    assert (case.kind, case.queue, case.owner, case.due_at) == ("automation_failure", "automation", "team:ops",
                                                                 T0 + DAY)
    assert [a.action for a in audit(db)] == ["case.opened"]
    assert Decimal(case.detail["history"][0]["attempt"]) == 1


def test_settling_a_case_someone_works_on_marks_it_moot_once_and_leaves_it_to_them(db, hooks) -> None:
    opened(db, hooks, record())
    do(db, hooks, "start", "ada", at(5))

    resolved = [run(db, lambda uow, n=n, why=why: service.settle(uow, "c1", why, at(n), hooks.hooks()))
                for n, why in ((10, "the order shipped"), (20, "the order was delivered"))]

    case = run(db, lambda uow: uow.cases.get("c1"))
    assert resolved == [False, False]
    assert (case.status, case.owner, case.first_response_at, case.due_at) == (
        CaseStatus.IN_PROGRESS, "ada", None, T0 + DAY)  # no response counted, the SLA runs on
    assert case.detail["moot"] == {"why": "the order shipped", "at": at(10).isoformat()}
    assert [(e.actor, e.action, e.after) for e in audit(db)][-1] == ("automation", "case.moot", {
        "moot": "the order shipped",
        "note": "the order shipped: what this case was opened for has ended; resolve it unless something is left to do",
    })


def test_a_signal_adds_to_an_active_case_and_its_detail_and_an_ended_case_hears_nothing(db, hooks) -> None:
    opened(db, hooks, record())
    news = {"fingerprint": "b2", "error": "refused"}

    added = run(db, lambda uow: service.add_signal(uow, "c1", "monitor:m", "refused again", at(5), hooks.hooks(), news))
    do(db, hooks, "resolve", "ada", at(6), resolution="no_action")
    late = run(db, lambda uow: service.add_signal(uow, "c1", "monitor:m", "and again", at(7), hooks.hooks()))

    case = run(db, lambda uow: uow.cases.get("c1"))
    assert (added, late) == (True, False)
    assert {k: case.detail[k] for k in ("amount", "fingerprint", "error", "signals")} == {
        "amount": "60.00", "fingerprint": "b2", "error": "refused",
        "signals": [{"source": "monitor:m", "reason": "refused again", "at": at(5).isoformat()}]}
    assert [(c.kind, c.note) for c in db.tables.changes] == [
        ("opened", ""), ("signal", "refused again"), ("resolved", "")]
    assert [change.kind for _, _, change in hooks.seen] == ["opened", "signal", "resolved"]
