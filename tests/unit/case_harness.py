"""The case service's tests' in-memory database, recording hooks, case records and the steps they take."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsdesk.domain.cases import Case, CaseChange
from opsdesk.domain.records import AuditEntry, CaseRecord, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services.cases import CaseHooks, act, open_case
from opsdesk.testing import InMemoryDatabase
from tests.samples import SHOP

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
ORDER = 5_000_000_000_000_000_001


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def record(case_id: str = "c1", **changes: Any) -> CaseRecord:
    base = CaseRecord(id=case_id, shop=SHOP, kind="refund", queue="refunds", title="refund request",
                      reason="over the cap", opened_at=T0, order_id=ORDER, source="decision:d1",
                      detail={"amount": "60.00"})
    return replace(base, **changes)


def breach(case: Case, due: datetime) -> Timer:
    return Timer(id=f"{case.id}:breach", kind="sla_breach", subject=case.id, due_at=due)


@dataclass
class Hooks:
    """Hooks that record what they saw: owners by rule, a 24-hour clock that pauses while waiting."""

    seen: list[tuple[Case, Case, CaseChange]] = field(default_factory=list)

    def owner_for(self, _uow: UnitOfWork, case: Case, _now: datetime) -> str:
        return "ada" if case.queue == "refunds" else "team:ops"

    def sla_start(self, case: Case, now: datetime) -> tuple[Case, list[Timer]]:
        return replace(case, due_at=now + DAY, detail={**case.detail, "sla": {"since": now.isoformat()}}), [
            breach(case, now + DAY)
        ]

    def sla_update(self, before: Case, after: Case, now: datetime) -> tuple[Case, list[Timer], list[str]]:
        if after.status.waiting and not before.status.waiting:
            return replace(after, due_at=None), [], ["sla_breach"]
        if before.status.waiting and not after.status.waiting:
            return replace(after, due_at=now + DAY), [breach(after, now + DAY)], []
        return after, [], []

    def on_changed(self, _uow: UnitOfWork, before: Case, after: Case, change: CaseChange, _now: datetime) -> None:
        self.seen.append((before, after, change))

    def hooks(self) -> CaseHooks:
        return CaseHooks(self.owner_for, self.sla_start, self.sla_update, self.on_changed)


@pytest.fixture
def db() -> InMemoryDatabase:
    return InMemoryDatabase()


@pytest.fixture
def hooks() -> Hooks:
    return Hooks()


def run(db: InMemoryDatabase, work: Any) -> Any:
    with db.unit_of_work() as uow:
        result = work(uow)
        uow.commit()
    return result


def opened(db: InMemoryDatabase, hooks: Hooks, *records: CaseRecord) -> Case:
    return [run(db, lambda uow, r=r: open_case(uow, r, hooks.hooks(), T0)) for r in records][-1]


def do(db: InMemoryDatabase, hooks: Hooks, action: str, actor: str, now: datetime, **params: Any) -> Case:
    return run(db, lambda uow: act(uow, "c1", action, actor, now, hooks.hooks(), **params))


def audit(db: InMemoryDatabase) -> list[AuditEntry]:
    return list(db.tables.audit)


def timers(db: InMemoryDatabase) -> list[tuple[str, str]]:
    return sorted((x.id, x.status) for x in db.tables.timers.values())
