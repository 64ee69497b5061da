"""Dead-man deadlines: a timer that opens an automation-failure case when what it watches did not happen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.records import AuditEntry, CaseFilter, OutboxAction, Timer
from opsdesk.engine.timers import TimerSweeper
from opsdesk.ports import UnitOfWork
from opsdesk.services.deadlines import deadman_timer
from opsdesk.testing import InMemoryDatabase, ManualClock
from tests.sla_harness import ny
from tests.unit.sla_desk import OPENED, Desk

# --- dead-man deadlines ------------------------------------------------------------------------------


def action(status: ActionStatus) -> OutboxAction:
    return OutboxAction(
        "a1", "d1", "shop.example", 42, "create_return_label", "shopify", {}, "k1", OPENED, OPENED, status
    )


@pytest.mark.parametrize(("status", "opened"), [(ActionStatus.SENT, False), (ActionStatus.PENDING, True)])
def test_a_deadman_on_an_action_opens_an_automation_failure_case_only_when_the_action_was_not_sent(
    status: ActionStatus, opened: bool
) -> None:
    desk = Desk()
    due = ny(2026, 11, 2, 10, 15)
    check = "label within 15 minutes of return approval"
    with desk.db.unit_of_work() as uow:
        uow.outbox.add_many([action(status)])
        uow.timers.schedule(
            [deadman_timer(check, due, expect="action_sent", shop="shop.example", subject="a1", order_id=42,
                           action_id="a1", owner="ann")]
        )  # fmt: skip
        uow.commit()
    desk.sweep_until(ny(2026, 11, 2, 10, 20))

    with desk.db.unit_of_work() as uow:
        found = [(c.kind, c.queue, c.order_id, c.title) for c in uow.cases.search(CaseFilter())]
        assert uow.timers.count("fired") == 1
    expected = ("automation_failure", "automation", 42, f"Missed automation deadline: {check}")
    assert found == ([expected] if opened else [])


@pytest.mark.parametrize(
    ("resolved", "opened"), [(True, []), (False, ["deadman-deadman:c1:refund within 1 hour"])]
)
def test_a_deadman_on_a_case_opens_an_automation_failure_case_unless_it_was_resolved_in_time(
    resolved: bool, opened: list[str]
) -> None:
    desk = Desk()
    desk.open()
    with desk.db.unit_of_work() as uow:
        check = deadman_timer(
            "refund within 1 hour",
            ny(2026, 11, 2, 11),
            expect="case_resolved",
            shop="shop.example",
            subject="c1",
        )
        uow.timers.schedule([check])
        uow.commit()
    if resolved:
        desk.act(ny(2026, 11, 2, 10, 55), "resolve", resolution="no_action")
    desk.sweep_until(ny(2026, 11, 2, 11, 5))

    with desk.db.unit_of_work() as uow:
        assert [c.id for c in uow.cases.search(CaseFilter(kind="automation_failure"))] == opened


def test_a_handler_that_raises_is_retried_later_without_blocking_the_rest() -> None:
    db, clock = InMemoryDatabase(), ManualClock(OPENED.astimezone(UTC))
    fired: list[str] = []

    def flaky(uow: UnitOfWork, t: Timer, now: datetime) -> None:
        if t.id == "t1" and fired.count("boom") < 2:
            fired.append("boom")
            raise RuntimeError("boom")
        uow.audit.record([AuditEntry(now, "test", "fired", t.id)])
        fired.append(t.id)

    with db.unit_of_work() as uow:
        uow.timers.schedule([Timer(f"t{i}", "x", "s", OPENED) for i in range(1, 4)])
        uow.commit()
    sweeper = TimerSweeper(db, {"x": flaky}, clock, worker="w1", retry=timedelta(minutes=1))
    sweeper.run_once()
    assert fired == ["boom", "t2", "t3"]
    clock.advance(seconds=30)
    assert sweeper.run_once() == 0  # not before the retry time
    clock.advance(seconds=31)
    sweeper.run_once()
    clock.advance(seconds=61)
    sweeper.run_once()
    assert fired == ["boom", "t2", "t3", "boom", "t1"]
    assert [a.subject for a in db.tables.audit] == ["t2", "t3", "t1"]
    assert (sweeper.stats.fired, sweeper.stats.retried) == (3, 2)


def test_a_sweep_that_outlives_its_lease_leaves_the_rest_of_the_batch_to_the_next_claim() -> None:
    db, clock = InMemoryDatabase(), ManualClock(OPENED.astimezone(UTC))
    fired: list[str] = []

    def slow(uow: UnitOfWork, t: Timer, now: datetime) -> None:
        fired.append(t.id)
        clock.advance(seconds=31)  # the first one takes longer than the 30 s lease

    with db.unit_of_work() as uow:
        uow.timers.schedule([Timer(f"t{i}", "x", "s", OPENED) for i in range(1, 4)])
        uow.commit()
    first = TimerSweeper(db, {"x": slow}, clock, worker="w1")
    assert (first.run_once(), fired, first.stats.lost) == (3, ["t1"], 2)
    second = TimerSweeper(db, {"x": slow}, clock, worker="w2")
    second.run_once()
    second.run_once()
    assert fired == ["t1", "t2", "t3"]
