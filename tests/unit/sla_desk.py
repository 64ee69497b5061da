"""A New York support policy, a case opened under it, its SLA timers, and an in-memory desk that sweeps them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from opsdesk.domain.cases import Case, Changed
from opsdesk.domain.records import Timer
from opsdesk.engine.timers import TimerSweeper, make_timer_handlers
from opsdesk.ports import UnitOfWork
from opsdesk.services.cases import act, open_case
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
