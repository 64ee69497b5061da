"""SLA clocks on cases: what opening, waiting, responding, resolving and reopening do to clocks, due time and
timers; and what the warning, breach and dead-man timers do when the sweep fires them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from opsdesk.domain import case_transitions as transitions
from opsdesk.domain.cases import Case, CaseStatus, Changed
from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.records import AuditEntry, CaseFilter, OutboxAction, Timer
from opsdesk.engine.timers import TimerSweeper, make_timer_handlers
from opsdesk.ports import UnitOfWork
from opsdesk.services.cases import act, open_case
from opsdesk.services.deadlines import deadman_timer
from opsdesk.services.sla import make_sla_hooks
from opsdesk.testing import InMemoryDatabase, ManualClock
from tests.sla_harness import in_transaction, make_hooks, make_org, ny, record

ORG = make_org()
START, UPDATE = make_sla_hooks(ORG)
OPENED = ny(2026, 11, 2, 10)  # a Monday, the day after New York's clocks went back


def case(at: datetime = OPENED, queue: str = "support", **detail: object) -> Case:
    rec = record("c1", at, queue, **detail)
    return Case(
        rec.id, rec.shop, rec.kind, rec.queue, rec.title, rec.reason, rec.opened_at, detail=rec.detail
    )


def timer(kind: str, target: str, fraction: float, at: datetime) -> Timer:
    payload = {"target": target, "fraction": fraction, "policy": "standard"}
    return Timer(f"c1:{target}:{kind}:{fraction}", kind, "c1", at.astimezone(UTC), payload)


def warning(target: str, fraction: float, at: datetime) -> Timer:
    return timer("sla_warning", target, fraction, at)


def breach(target: str, at: datetime, fraction: float = 1.0) -> Timer:
    return timer("sla_breach", target, fraction, at)


def move(before: Case, step: Callable[[Case], Changed]) -> Case:
    return step(before).case


def utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def started() -> Case:
    return START(case(), OPENED)[0]


# --- the hooks --------------------------------------------------------------------------------------


def test_opening_starts_a_clock_per_target_due_at_the_first_deadline_with_a_timer_per_checkpoint() -> None:
    opened, timers = START(case(), OPENED)

    assert opened.detail["sla"] == {
        "policy": "standard",
        "clocks": {
            target: {
                "started_at": utc(OPENED), "pauses": [], "paused_since": None, "met_at": None,
                "hard_deadline": None, "deadline": utc(due),
            }
            for target, due in (("first_response", ny(2026, 11, 2, 12)), ("resolution", ny(2026, 11, 3, 10)))
        },
    }  # fmt: skip
    assert opened.due_at == ny(2026, 11, 2, 12)
    assert timers == [
        warning("first_response", 0.5, ny(2026, 11, 2, 11)),
        warning("first_response", 0.8, ny(2026, 11, 2, 11, 36)),
        breach("first_response", ny(2026, 11, 2, 12)),
        warning("resolution", 0.5, ny(2026, 11, 2, 14)),
        warning("resolution", 0.8, ny(2026, 11, 2, 16, 24)),
        breach("resolution", ny(2026, 11, 3, 10)),
    ]


def test_a_case_in_a_queue_without_a_policy_gets_no_clocks_and_no_timers() -> None:
    plain = case(queue="misc")
    assert START(plain, OPENED) == (plain, [])
    assert UPDATE(plain, move(plain, lambda c: transitions.wait(c, "customer", "ann", OPENED)), OPENED)[
        1:
    ] == (
        [],
        [],
    )


def test_waiting_pauses_every_clock_and_resuming_moves_deadlines_by_the_open_time_paused() -> None:
    opened = started()
    waiting = move(opened, lambda c: transitions.wait(c, "customer", "ann", ny(2026, 11, 2, 11)))
    paused, paused_timers, paused_cancel = UPDATE(opened, waiting, ny(2026, 11, 2, 11))
    working = move(paused, lambda c: transitions.resume(c, "ann", ny(2026, 11, 2, 15)))
    resumed, timers, cancel = UPDATE(paused, working, ny(2026, 11, 2, 15))

    assert [c["paused_since"] for c in paused.detail["sla"]["clocks"].values()] == [
        utc(ny(2026, 11, 2, 11))
    ] * 2
    # Nothing is due while every clock stands still; the pending timers stay and fire as no-ops.
    assert (paused.due_at, paused_timers, paused_cancel) == (None, [], [])
    # Four open hours paused: 12:00 becomes 16:00, and Tuesday 10:00 becomes Tuesday 14:00.
    assert resumed.due_at == ny(2026, 11, 2, 16)
    assert (timers, cancel) == (
        [
            warning("first_response", 0.8, ny(2026, 11, 2, 15, 36)),
            breach("first_response", ny(2026, 11, 2, 16)),
            warning("resolution", 0.5, ny(2026, 11, 3, 10)),
            warning("resolution", 0.8, ny(2026, 11, 3, 12, 24)),
            breach("resolution", ny(2026, 11, 3, 14)),
        ],
        [],
    )


def test_a_pause_wholly_in_closed_hours_moves_nothing() -> None:
    evening = ny(2026, 11, 2, 16)
    opened, first = START(case(evening), evening)
    waiting = move(opened, lambda c: transitions.wait(c, "supplier", "ann", ny(2026, 11, 2, 17, 30)))
    paused = UPDATE(opened, waiting, ny(2026, 11, 2, 17, 30))[0]
    working = move(paused, lambda c: transitions.resume(c, "ann", ny(2026, 11, 3, 8, 30)))
    resumed, timers, _ = UPDATE(paused, working, ny(2026, 11, 3, 8, 30))

    assert resumed.due_at == opened.due_at == ny(2026, 11, 3, 10)
    assert timers == [t for t in first if t.due_at > ny(2026, 11, 3, 8, 30)]


def test_the_first_response_meets_only_its_own_target() -> None:
    opened = started()
    answered = move(opened, lambda c: transitions.respond(c, "ann", ny(2026, 11, 2, 11, 30), "On it"))
    after, timers, cancel = UPDATE(opened, answered, ny(2026, 11, 2, 11, 30))

    clocks = after.detail["sla"]["clocks"]
    assert (clocks["first_response"]["met_at"], clocks["resolution"]["met_at"]) == (
        utc(ny(2026, 11, 2, 11, 30)),
        None,
    )
    assert after.due_at == ny(2026, 11, 3, 10)
    assert (timers, cancel) == (
        [
            warning("resolution", 0.5, ny(2026, 11, 2, 14)),
            warning("resolution", 0.8, ny(2026, 11, 2, 16, 24)),
            breach("resolution", ny(2026, 11, 3, 10)),
        ],
        [],
    )


def test_resolving_meets_every_clock_and_closing_cancels_the_sla_timers() -> None:
    opened = started()
    at = ny(2026, 11, 2, 12, 30)
    resolved, timers, cancel = UPDATE(
        opened, move(opened, lambda c: transitions.resolve(c, "deny", "ann", at)), at
    )
    closed = UPDATE(resolved, move(resolved, lambda c: transitions.close(c, "ann", at)), at)

    assert [c["met_at"] for c in resolved.detail["sla"]["clocks"].values()] == [utc(at)] * 2
    assert (resolved.due_at, timers, cancel) == (None, [], [])
    assert closed[1:] == ([], ["sla_warning", "sla_breach"])


def test_reopening_starts_a_fresh_resolution_clock_and_keeps_the_first_response_met() -> None:
    opened = started()
    resolved_at, reopened_at = ny(2026, 11, 3, 9, 30), ny(2026, 11, 4, 10)
    resolved = UPDATE(
        opened, move(opened, lambda c: transitions.resolve(c, "deny", "ann", resolved_at)), resolved_at
    )[0]
    back = move(resolved, lambda c: transitions.reopen(c, "ann", reopened_at))
    reopened, timers, _ = UPDATE(resolved, back, reopened_at)

    clocks = reopened.detail["sla"]["clocks"]
    assert clocks["first_response"]["met_at"] == utc(resolved_at)
    assert (clocks["resolution"]["started_at"], clocks["resolution"]["met_at"]) == (utc(reopened_at), None)
    assert reopened.due_at == ny(2026, 11, 5, 10)
    assert timers == [
        warning("resolution", 0.5, ny(2026, 11, 4, 14)),
        warning("resolution", 0.8, ny(2026, 11, 4, 16, 24)),
        breach("resolution", ny(2026, 11, 5, 10)),
    ]


def test_a_hard_deadline_caps_the_targets_and_keeps_running_through_a_pause() -> None:
    hard = ny(2026, 11, 2, 13)
    opened, timers = START(case(hard_deadline=hard.isoformat()), OPENED)
    waiting = move(opened, lambda c: transitions.wait(c, "customer", "ann", ny(2026, 11, 2, 11)))
    paused, paused_timers, _ = UPDATE(opened, waiting, ny(2026, 11, 2, 11))

    # Resolution's warnings are fractions of the three open hours left before the hard deadline.
    assert timers[3:] == [
        warning("resolution", 0.5, ny(2026, 11, 2, 11, 30)),
        warning("resolution", 0.8, ny(2026, 11, 2, 12, 24)),
        breach("resolution", hard),
    ]
    assert paused.due_at == hard
    assert paused_timers == [breach("first_response", hard), breach("resolution", hard)]


# --- the handlers, fired by a sweep over the in-memory database -------------------------------------


class Desk:
    """An in-memory desk: the case service with the SLA hooks, the SLA handlers and a sweep on a manual clock."""

    def __init__(self) -> None:
        self.db = InMemoryDatabase()
        self.clock = ManualClock(OPENED.astimezone(UTC))
        self.hooks = make_hooks(ORG)
        self.told: list[tuple[str, str]] = []
        handlers = make_timer_handlers(ORG, lambda: self.hooks, tell=self.tell)
        self.sweeper = TimerSweeper(self.db, handlers, self.clock, worker="w1")

    def tell(self, uow: UnitOfWork, case: Case, message: str, now: datetime) -> None:
        self.told.append((case.id, message))

    def open(self, **detail: object) -> Case:
        rec = record("c1", OPENED, **detail)
        return in_transaction(self.db, lambda uow: open_case(uow, rec, self.hooks, OPENED))

    def act(self, at: datetime, action: str, *, sweep: bool = True, **params: str) -> Case:
        """Sweep up to ``at`` (unless the sweeper is down), then act on the case as ann."""
        if sweep:
            self.sweep_until(at)
        self.clock.set(at.astimezone(UTC))
        return in_transaction(self.db, lambda uow: act(uow, "c1", action, "ann", at, self.hooks, **params))

    def sweep_until(self, until: datetime, every: timedelta = timedelta(minutes=5)) -> None:
        while self.clock.now() + every <= until:
            self.clock.advance(seconds=every.total_seconds())
            self.sweeper.run_once()
        self.clock.set(until.astimezone(UTC))
        self.sweeper.run_once()

    def case(self) -> Case:
        with self.db.unit_of_work() as uow:
            return uow.cases.get("c1")

    def audit(self, *actions: str) -> list[tuple[datetime, str, object]]:
        return [(a.at, a.action, a.after) for a in self.db.tables.audit if a.action in actions]

    def escalations(self) -> list[tuple[datetime, int, str | None]]:
        changes = [c for c in self.db.tables.changes if c.kind == "escalated"]
        return [(c.at, c.after["escalation_level"], c.after["owner"]) for c in changes]


def breached(target: str, at: datetime) -> dict[str, str]:
    return {"target": target, "deadline": utc(at)}


def test_warnings_are_recorded_and_told_when_their_share_of_the_target_is_used() -> None:
    desk = Desk()
    desk.open()
    desk.sweep_until(ny(2026, 11, 2, 11, 40))

    half, most = (f"SLA warning: {p} % of first_response used" for p in (50, 80))
    assert desk.audit("sla.warning") == [
        (ny(2026, 11, 2, 11), "sla.warning", {"target": "first_response", "fraction": 0.5, "message": half}),
        (
            ny(2026, 11, 2, 11, 40),
            "sla.warning",
            {"target": "first_response", "fraction": 0.8, "message": most},
        ),
    ]
    assert desk.told == [("c1", half), ("c1", most)]


def test_a_breach_climbs_the_ladder_one_target_length_at_a_time_owner_then_lead_then_manager() -> None:
    desk = Desk()
    desk.open()
    desk.sweep_until(ny(2026, 11, 3, 12))

    assert desk.audit("sla.breached") == [
        (ny(2026, 11, 2, 12), "sla.breached", breached("first_response", ny(2026, 11, 2, 12))),
        (ny(2026, 11, 3, 10), "sla.breached", breached("resolution", ny(2026, 11, 3, 10))),
    ]
    # Level 1 leaves the owner (the team) and warns; 2 goes to the team lead, 3 to the manager.
    assert desk.escalations() == [
        (ny(2026, 11, 2, 12), 1, "team:support"),
        (ny(2026, 11, 2, 14), 2, "lee"),
        (ny(2026, 11, 2, 16), 3, "max"),
    ]
    assert desk.case().escalation_level == 3
    assert ("c1", "SLA breached: first_response was due 2026-11-02T17:00:00+00:00") in desk.told


def test_a_warning_made_moot_by_a_pause_does_nothing_and_fires_after_the_resume_instead() -> None:
    desk = Desk()
    desk.open()
    desk.act(ny(2026, 11, 2, 10, 30), "wait", on="customer")
    desk.sweep_until(ny(2026, 11, 2, 12, 30))
    assert desk.audit("sla.warning", "sla.breached") == []
    desk.act(ny(2026, 11, 2, 14), "resume")
    desk.sweep_until(ny(2026, 11, 2, 14, 30))

    assert [(at, action) for at, action, _ in desk.audit("sla.warning", "sla.breached")] == [
        (ny(2026, 11, 2, 14, 30), "sla.warning")
    ]


def test_a_breach_reached_before_a_pause_still_fires_after_it() -> None:
    desk = Desk()
    desk.open()
    desk.sweep_until(ny(2026, 11, 2, 11, 55))
    # The sweeper is down until after the pause at 12:02: the 12:00 breach is due but not yet fired.
    desk.act(ny(2026, 11, 2, 12, 2), "wait", sweep=False, on="customer")
    desk.sweep_until(ny(2026, 11, 2, 12, 10))

    assert desk.audit("sla.breached") == [
        (ny(2026, 11, 2, 12, 7), "sla.breached", breached("first_response", ny(2026, 11, 2, 12)))
    ]
    assert desk.case().escalation_level == 1


def test_a_first_response_in_time_silences_its_own_timers_but_not_the_resolutions() -> None:
    desk = Desk()
    desk.open()
    desk.act(ny(2026, 11, 2, 10, 45), "comment", note="Looking into it")
    desk.sweep_until(ny(2026, 11, 2, 14, 5))

    message = "SLA warning: 50 % of resolution used"
    assert [(at, after) for at, _, after in desk.audit("sla.warning", "sla.breached")] == [
        (ny(2026, 11, 2, 14), {"target": "resolution", "fraction": 0.5, "message": message})
    ]


def test_a_breach_timer_firing_for_a_resolved_case_records_the_breach_and_escalates_nothing() -> None:
    desk = Desk()
    desk.open()
    desk.act(ny(2026, 11, 2, 12, 1), "resolve", sweep=False, resolution="no_action")
    # The case service cancels a resolved case's timers; a stale one that fires anyway is handled too.
    with desk.db.unit_of_work() as uow:
        handler = make_timer_handlers(ORG, lambda: desk.hooks)["sla_breach"]
        handler(uow, breach("first_response", ny(2026, 11, 2, 12)), ny(2026, 11, 2, 12, 5))
        uow.commit()

    assert desk.audit("sla.breached") == [
        (ny(2026, 11, 2, 12, 5), "sla.breached", breached("first_response", ny(2026, 11, 2, 12)))
    ]
    assert (desk.escalations(), desk.case().status) == ([], CaseStatus.RESOLVED)


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
