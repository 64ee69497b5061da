"""Reliability test 9, quick size: 8 agents race to claim each of 200 cases on SQLite and PostgreSQL.

Every agent is a thread with units of work of its own, as API workers are. Exactly one claim per case
may win; every other agent must get a ``Conflict`` naming the winner, and only the winner's claim may
reach the timeline and the audit log. The full size (1,000 cases) runs with ``-m slow``.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from opsdesk.domain.errors import Conflict
from opsdesk.domain.records import CaseRecord
from opsdesk.services.cases import CaseHooks, act, open_case
from opsdesk.storage import tables as t
from opsdesk.storage.sql import SqlDatabase

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENTS = [f"agent-{n}" for n in range(8)]
HOOKS = CaseHooks()


def seed(db: SqlDatabase, count: int) -> list[str]:
    records = [
        CaseRecord(id=f"case-{n:04d}", shop="alpha.myshopify.com", kind="refund", queue="refunds",
                   title=f"refund {n}", reason="over the cap", opened_at=T0, order_id=n)
        for n in range(count)
    ]
    with db.unit_of_work() as uow:
        for r in records:
            open_case(uow, r, HOOKS, T0)
        uow.commit()
    return [r.id for r in records]


def race(db: SqlDatabase, case_ids: list[str]) -> tuple[dict[str, list[str]], list[tuple[str, str, Conflict]]]:
    """Every agent claims every case (each in its own order); returns the winners and the conflicts."""
    wins: dict[str, list[str]] = defaultdict(list)
    conflicts: list[tuple[str, str, Conflict]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(len(AGENTS))

    def agent(name: str, order: list[str]) -> None:
        start.wait()
        for case_id in order:
            try:
                with db.unit_of_work() as uow:
                    act(uow, case_id, "claim", name, T0 + timedelta(minutes=1), HOOKS)
                    uow.commit()
            except Conflict as exc:
                with lock:
                    conflicts.append((case_id, name, exc))
            except BaseException as exc:  # anything else fails the test, with its reason
                with lock:
                    errors.append(exc)
                return
            else:
                with lock:
                    wins[case_id].append(name)

    rng = random.Random(9)
    # Half the agents walk the cases in the same order (head-on collisions), half shuffled.
    orders = [case_ids if n % 2 == 0 else rng.sample(case_ids, len(case_ids)) for n in range(len(AGENTS))]
    threads = [threading.Thread(target=agent, args=(a, o)) for a, o in zip(AGENTS, orders, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return wins, conflicts


def changes_by_kind(db: SqlDatabase) -> Counter[str]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(t.case_changes.c.kind, func.count()).group_by(t.case_changes.c.kind))
        return Counter(dict(rows.all()))


def audit_by_action(db: SqlDatabase) -> Counter[str]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(t.audit.c.action, func.count()).group_by(t.audit.c.action))
        return Counter(dict(rows.all()))


def check_race(db: SqlDatabase, count: int) -> None:
    case_ids = seed(db, count)
    wins, conflicts = race(db, case_ids)

    assert {case_id: len(names) for case_id, names in wins.items()} == dict.fromkeys(case_ids, 1)
    winner = {case_id: names[0] for case_id, names in wins.items()}
    with db.unit_of_work(read_only=True) as uow:
        keys = {case_id: uow.cases.get(case_id).key for case_id in case_ids}  # what people call them
    assert len(conflicts) == count * (len(AGENTS) - 1)
    for case_id, loser, exc in conflicts:
        assert loser != winner[case_id]
        assert exc.holder == winner[case_id], (case_id, loser, str(exc))
        assert str(exc) == f"case {keys[case_id]} is already claimed by {winner[case_id]}"

    with db.unit_of_work() as uow:
        for case_id in case_ids:
            assert uow.cases.get(case_id).owner == winner[case_id]
            claims = [c for c in uow.cases.timeline(case_id) if c.kind == "claimed"]
            assert [c.actor for c in claims] == [winner[case_id]]
    assert changes_by_kind(db) == Counter({"opened": count, "claimed": count})
    assert audit_by_action(db) == Counter({"case.opened": count, "case.claimed": count})


def test_eight_agents_claiming_200_cases_leave_exactly_one_winner_per_case(sql_db: SqlDatabase) -> None:
    check_race(sql_db, 200)


@pytest.mark.slow
def test_eight_agents_claiming_1000_cases_leave_exactly_one_winner_per_case(sql_db: SqlDatabase) -> None:
    check_race(sql_db, 1000)
