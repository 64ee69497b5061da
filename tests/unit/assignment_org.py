"""An organisation of people, shifts, skills and an on-call rota, and the steps the assignment tests take on it."""

from __future__ import annotations

from datetime import UTC, datetime, time

from opsdesk.domain.calendar import BusinessCalendar
from opsdesk.domain.cases import Case
from opsdesk.domain.org import Org, Person, Queue, Team
from opsdesk.domain.records import AuditEntry, CaseRecord, Timer
from opsdesk.engine.timers import TimerSweeper
from opsdesk.services.assignment import make_on_changed, make_owner_for, timer_handlers
from opsdesk.services.cases import CaseHooks, act, open_case
from opsdesk.services.notify import Notifier
from opsdesk.testing import InMemoryDatabase, ManualClock

DAYS = BusinessCalendar("UTC", {d: ((time(9), time(17)),) for d in range(5)})
NIGHTS = BusinessCalendar("UTC", {d: ((time(17), time(23)),) for d in range(5)})
PEOPLE = [
    Person("ana", "Ana", "ana@x.example", frozenset({"refunds", "fr"}), DAYS),
    Person("ben", "Ben", "ben@x.example", frozenset({"refunds"}), DAYS),
    Person("cy", "Cy", "cy@x.example", frozenset({"fr"}), DAYS),
    Person("dee", "Dee", "dee@x.example", frozenset({"refunds", "fr"}), DAYS, active=False),
    Person("eve", "Eve", "eve@x.example", frozenset({"refunds"}), NIGHTS),
    Person("lea", "Lea", "lea@x.example"),
]
ORG = Org(
    people={p.id: p for p in PEOPLE},
    teams={
        "support": Team("support", ("ana", "ben", "cy", "dee", "eve"), lead="lea", on_call=("ben", "ana")),
        "nights": Team("nights", ("eve",)),
    },
    queues={
        "refunds": Queue("refunds", "support", skills=frozenset({"refunds"})),
        "french": Queue("french", "support", skills=frozenset({"refunds", "fr"})),
        "general": Queue("general", "support", assignment="round_robin"),
        "disputes": Queue("disputes", "nights"),
    },
    order_rules=(("order.total > 500", "team:vip"), ("'wholesale' in order.tags", "ben")),
)
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SATURDAY_10 = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
NOTIFIER = Notifier(ORG)


def hooks() -> CaseHooks:
    return CaseHooks(owner_for=make_owner_for(ORG), on_changed=make_on_changed(ORG, NOTIFIER))


def record(case_id: str, queue: str, at: datetime = MONDAY_10) -> CaseRecord:
    return CaseRecord(case_id, "demo.myshopify.com", "refund", queue, f"Refund {case_id}", "over the cap", at)


def open_cases(db: InMemoryDatabase, queue: str, count: int, at: datetime = MONDAY_10, prefix: str = "c") -> list[str]:
    """Open ``count`` cases in ``queue``, one transaction each; returns their owners."""
    owners = []
    for i in range(count):
        with db.unit_of_work() as uow:
            owners.append(open_case(uow, record(f"{prefix}{i}", queue, at), hooks(), at).owner or "")
            uow.commit()
    return owners


def give(db: InMemoryDatabase, owner: str, count: int, status: str = "active") -> None:
    """Put ``count`` cases of another queue in ``owner``'s hands (resolved ones when asked)."""
    for i in range(count):
        with db.unit_of_work() as uow:
            case_id = f"load-{owner}-{status}-{i}"
            open_case(uow, record(case_id, "elsewhere"), CaseHooks(), MONDAY_10)
            act(uow, case_id, "assign", "lea", MONDAY_10, CaseHooks(), owner=owner)
            if status == "resolved":
                act(uow, case_id, "resolve", owner, MONDAY_10, CaseHooks(), resolution="no_action")
            uow.commit()


def sweep(db: InMemoryDatabase, now: datetime) -> int:
    """Fire what is due at ``now`` through the timer sweeper; returns how many timers fired."""
    sweeper = TimerSweeper(db, timer_handlers(ORG, hooks, NOTIFIER), ManualClock(now), worker="sweeper")
    sweeper.run_once()
    assert (sweeper.stats.failed, sweeper.stats.retried, sweeper.stats.lost) == (0, 0, 0)
    return sweeper.stats.fired


def case(db: InMemoryDatabase, case_id: str) -> Case:
    with db.unit_of_work() as uow:
        return uow.cases.get(case_id)


def pending(db: InMemoryDatabase, subject: str) -> list[Timer]:
    with db.unit_of_work() as uow:
        return uow.timers.pending(subject)


def told(db: InMemoryDatabase, person: str) -> list[str]:
    """The subjects of the notifications held for ``person``, oldest first."""
    entries: list[AuditEntry] = [
        e for e in db.tables.audit if e.action == "notification.held" and e.subject == f"person:{person}"
    ]
    return [s for e in entries for s in (e.after or {})["subjects"]]
