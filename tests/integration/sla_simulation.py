"""Thirty simulated days of SLA cases on a New York business calendar: the plans, the steps, and a sweeper that
is killed mid-batch with its leases held (tests/integration/test_sla_thirty_days.py checks what it did).
"""

from __future__ import annotations

import heapq
import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select

from opsdesk.calendars import build_calendar
from opsdesk.domain.org import Org, Queue, Team
from opsdesk.domain.records import CaseRecord, Timer
from opsdesk.domain.sla import SlaClock, SlaPolicy, escalation_level
from opsdesk.engine.timers import Handler, TimerSweeper, make_timer_handlers
from opsdesk.ports import UnitOfWork
from opsdesk.services.cases import act, open_case
from opsdesk.storage import tables as t
from opsdesk.storage.codec import loads
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase, create_sql_engine
from opsdesk.testing import ManualClock
from tests.sla_harness import in_transaction, make_hooks, ny

STEP = timedelta(minutes=5)
LEASE = timedelta(seconds=30)
START = ny(2026, 10, 29)
END = START + timedelta(days=30)
CASES = 100
KILLS = 10
BATCH = 100
LUNCH = ["09:00-12:00", "13:00-17:00"]
CALENDAR = build_calendar(
    "America/New_York",
    dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), LUNCH),
    "US",
    None,
    range(2026, 2028),
)
H = timedelta(hours=1)
POLICIES = {
    "standard": SlaPolicy("standard", CALENDAR, {"first_response": 2 * H, "resolution": 6 * H}),
    "urgent": SlaPolicy("urgent", CALENDAR, {"first_response": H, "resolution": 4 * H}),
}
ORG = Org(
    teams={"support": Team("support", ("ann", "bob"), lead="lee", manager="max")},
    queues={"support": Queue("support", "support", sla="standard", sla_by_priority={"high": "urgent"})},
    sla_policies=POLICIES,
)


class Killed(BaseException):
    """The sweeper's process died (after its handler's work, before the commit)."""


@dataclass
class Plan:
    """One case and what happens to it, as the test itself logs it."""

    id: str
    opened: datetime
    priority: str
    events: list[tuple[datetime, str]] = field(default_factory=list)

    @property
    def policy(self) -> SlaPolicy:
        return POLICIES["urgent" if self.priority == "high" else "standard"]

    def first(self, *actions: str) -> datetime | None:
        return min((at for at, action in self.events if action in actions), default=None)

    def clock(self) -> SlaClock:
        """The clock as the test's own log has it (never met: the met time is compared separately)."""
        wait, back = self.first("wait"), self.first("resume")
        if wait is None:
            return SlaClock(self.opened)
        if back is None:
            return SlaClock(self.opened, paused_since=wait)
        return SlaClock(self.opened, pauses=((wait, back),))

    def level(self, at: datetime) -> int:
        """How far up the ladder the case should be at ``at``: the highest level of its targets."""
        return max(
            escalation_level(self.policy, target, replace(self.clock(), met_at=self.met(target)), at)
            for target in self.policy.targets
        )

    def met(self, target: str) -> datetime | None:
        return self.first("respond", "resolve") if target == "first_response" else self.first("resolve")


def plans(rng: random.Random, cases: int = CASES) -> list[Plan]:
    """Cases opened at random seconds (nights and weekends too); two pinned on the hard days."""
    found = [
        Plan("dst", ny(2026, 10, 30, 16), "normal"),
        Plan("thanksgiving", ny(2026, 11, 25, 15, 30), "normal"),
    ]
    for i in range(cases - len(found)):
        opened = START + timedelta(seconds=rng.randrange(27 * 24 * 3600))
        found.append(Plan(f"c{i:03}", opened, "high" if rng.random() < 0.2 else "normal"))
    for plan in found[2:]:
        plan.events = events(rng, plan.opened)
    return found


def events(rng: random.Random, opened: datetime) -> list[tuple[datetime, str]]:
    def after(at: datetime, low: float, high: float) -> datetime:
        return at + timedelta(seconds=rng.randrange(int(low * 3600), int(high * 3600)))

    found: list[tuple[datetime, str]] = []
    if rng.random() < 0.35:
        wait = after(opened, 0.25, 24)
        found += [(wait, "wait"), (after(wait, 0.5, 72), "resume")]
    if rng.random() < 0.7:
        found.append((after(opened, 0.2, 6), "respond"))
    if rng.random() < 0.6:
        found.append((after(max([opened, *(at for at, _ in found)]), 0.5, 96), "resolve"))
    return sorted((at, action) for at, action in found if at < END)


#: The plan's events as the case service's actions, with their parameters.
ACTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "wait": ("wait", {"on": "customer"}),
    "resume": ("resume", {}),
    "respond": ("comment", {"note": "Looking into it"}),
    "resolve": ("resolve", {"resolution": "no_action"}),
}


class Simulation:
    """The desk on a SQLite file, a sweep every step, the events of the plans applied after it."""

    def __init__(self, tmp_path: Path, plans: list[Plan]) -> None:
        engine = create_sql_engine(f"sqlite:///{tmp_path / 'opsdesk.db'}", sqlite_synchronous="NORMAL")
        migrate(engine)
        self.db = SqlDatabase(engine)
        self.plans = plans
        self.clock = ManualClock(START.astimezone(UTC))
        self.hooks = make_hooks(ORG)
        handlers = make_timer_handlers(ORG, lambda: self.hooks)
        self.handlers = {kind: self._killable(handler) for kind, handler in handlers.items()}
        self.kill_armed = False
        self.kills = 0
        self.workers = 0
        self.sweeper = self._new_sweeper()

    def run(self) -> None:
        """Sweeps every step and the plans' events at their own moments; a sweep goes first on a tie."""
        moments: list[tuple[datetime, int, str, str]] = [(at, 0, "", "sweep") for at in steps()]
        for plan in self.plans:
            moments += [(plan.opened, 1, plan.id, "open"), *((at, 1, plan.id, a) for at, a in plan.events)]
        heapq.heapify(moments)
        by_id = {plan.id: plan for plan in self.plans}
        while moments:
            at, _, case_id, action = heapq.heappop(moments)
            self.clock.set(at)
            if action != "sweep":
                self._apply(by_id[case_id], action, at)
                continue
            # Killed mid-batch: armed only when at least two timers are due, so some are left leased.
            self.kill_armed = self.kills < KILLS and at >= self._next_kill() and self._due(at) >= 2
            if self._sweep():
                # A new sweeper; its first sweep that can see the abandoned rows comes one lease later.
                self.sweeper = self._new_sweeper()
                heapq.heappush(moments, (at + LEASE + timedelta(microseconds=1), 0, "", "sweep"))

    def _next_kill(self) -> datetime:
        return START + (self.kills + 1) * (END - START) / (KILLS + 1)

    def _sweep(self) -> bool:
        try:
            while self.sweeper.run_once() == BATCH:
                pass
        except Killed:
            self.kills += 1
            return True
        return False

    def _new_sweeper(self) -> TimerSweeper:
        self.workers += 1
        return TimerSweeper(
            self.db, self.handlers, self.clock, worker=f"w{self.workers}", lease=LEASE, batch=BATCH
        )

    def _killable(self, handler: Handler) -> Handler:
        def fire(uow: UnitOfWork, timer: Timer, now: datetime) -> None:
            handler(uow, timer, now)
            if self.kill_armed:
                self.kill_armed = False
                raise Killed

        return fire

    def _due(self, at: datetime) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.execute(DUE, {"at": at}).scalar_one())

    def _apply(self, plan: Plan, action: str, at: datetime) -> None:
        if action == "open":
            rec = CaseRecord(
                plan.id, "shop.example", "refund", "support", "Refund", "asked", at, priority=plan.priority
            )
            in_transaction(self.db, lambda uow: open_case(uow, rec, self.hooks, at))
        else:
            name, params = ACTIONS[action]
            # Whoever holds the case works it (the ladder hands a breached one to the team's lead, ADR 0039).
            in_transaction(
                self.db,
                lambda uow: act(uow, plan.id, name, uow.cases.get(plan.id).person or "ann", at, self.hooks, **params),
            )

    def audit(self, action: str) -> list[tuple[str, datetime, dict[str, Any]]]:
        a = t.audit.c
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                select(a.subject, a.at, a.after).where(a.action == action).order_by(a.id)
            ).all()
        return [(subject.removeprefix("case:"), at, loads(after)) for subject, at, after in rows]

    def escalations(self) -> dict[str, list[int]]:
        c = t.case_changes.c
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(c.case_id, c.after).where(c.kind == "escalated").order_by(c.id)).all()
        found: dict[str, list[int]] = defaultdict(list)
        for case_id, after in rows:
            found[case_id].append(loads(after)["escalation_level"])
        return found

    def levels(self) -> dict[str, int]:
        with self.db.unit_of_work() as uow:
            return {plan.id: uow.cases.get(plan.id).escalation_level for plan in self.plans}


DUE = select(func.count()).where(t.timers.c.status == "pending", t.timers.c.due_at <= bindparam("at"))


def steps() -> list[datetime]:
    return [START + i * STEP for i in range((END - START) // STEP + 1)]
