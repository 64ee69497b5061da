"""A person's digest is one timer row that every notification in its window adds to (ADR 0058, amended).

It used to be read, then upserted, where each notification was made, in the middle of the transaction: two
transactions read the same items, each wrote back its own, and the later one overwrote the earlier (the person
was never told of a case); and holding the row mid-transaction, one deadlocked against another's timer writes.
Here two connections on the real PostgreSQL take those steps in lockstep. Likewise the timer sweep, which marks a
digest fired when it fires it, beside a transaction that adds to that digest at commit.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from opsdesk.domain.org import Org, Person
from opsdesk.domain.records import Timer
from opsdesk.engine.timers import TimerSweeper
from opsdesk.ports import UnitOfWork
from opsdesk.services.notify import DIGEST, Notifier
from opsdesk.storage.sql import SqlDatabase
from opsdesk.testing import ManualClock
from tests.security.test_write_lock_order import TIMER, run_in_lockstep, schedule, wait_for_waiters

T0 = datetime(2026, 7, 1, 9, 1, tzinfo=UTC)
ANA = Person("ana", "Ana", "ana@shop.example")
NOTIFIER = Notifier(Org(people={ANA.id: ANA}))


def tell(uow: UnitOfWork, who: str) -> None:
    NOTIFIER.notify(uow, ANA.id, f"Case {who}", "body", T0)


def digest(db: SqlDatabase) -> tuple[list[str], int]:
    with db.unit_of_work(read_only=True) as uow:
        [timer] = uow.timers.pending(f"person:{ANA.id}")
    return sorted(i["subject"] for i in timer.payload["items"]), timer.payload["total"]


@pytest.mark.postgres
def test_two_transactions_adding_to_one_digest_lose_neither_notification(pg_db: SqlDatabase) -> None:
    """The first adds to the digest and waits; the second adds while the first is open, then both commit."""
    with pg_db.unit_of_work() as uow:
        tell(uow, "seed")
        uow.commit()
    first_added, second_done, go = threading.Event(), threading.Event(), threading.Event()
    failures: list[str] = []

    def transaction(who: str, added: threading.Event, commit: threading.Event) -> None:
        try:
            with pg_db.unit_of_work() as uow:
                tell(uow, who)
                added.set()
                commit.wait(10)
                uow.commit()
        except Exception as exc:  # whatever ends a transaction is the finding
            failures.append(f"{who}: {type(exc).__name__}: {exc}")

    now = threading.Event()
    now.set()
    threads = [threading.Thread(target=transaction, args=("first", first_added, go)),
               threading.Thread(target=transaction, args=("second", second_done, now))]
    threads[0].start()
    first_added.wait(10)
    threads[1].start()
    while not second_done.wait(0.02):  # the second either added (and committed) or waits on the first's row
        try:
            wait_for_waiters(pg_db, 1)
            break
        except AssertionError:
            continue
    go.set()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert digest(pg_db) == (["Case first", "Case second", "Case seed"], 3)


@pytest.mark.postgres
def test_notifying_then_writing_a_timer_beside_writing_it_then_notifying_does_not_deadlock(
    pg_db: SqlDatabase,
) -> None:
    with pg_db.unit_of_work() as uow:  # the digest and the timer both transactions write
        tell(uow, "seed")
        schedule(uow, "setup")
        uow.commit()

    failures = run_in_lockstep(pg_db, (tell, schedule), (schedule, tell))

    assert failures == []
    assert digest(pg_db) == (["Case pipeline", "Case seed", "Case sweep"], 3)
    with pg_db.unit_of_work(read_only=True) as uow:
        assert [t.id for t in uow.timers.pending(TIMER.subject)] == [TIMER.id]


def test_a_notification_added_and_read_back_in_one_transaction_is_in_the_digest(sql_db: SqlDatabase) -> None:
    with sql_db.unit_of_work() as uow:
        tell(uow, "one")
        tell(uow, "two")
        held = uow.timers.pending(f"person:{ANA.id}")
        uow.commit()

    assert [(t.id, t.due_at, [i["subject"] for i in t.payload["items"]], t.payload["total"]) for t in held] == [
        (f"digest:ana:{T0.replace(minute=0).isoformat()}", T0 + timedelta(minutes=4), ["Case one", "Case two"], 2)
    ]
    assert digest(sql_db) == (["Case one", "Case two"], 2)



@pytest.mark.postgres
def test_a_sweep_firing_a_digest_and_a_timer_together_beside_a_transaction_adding_to_it_does_not_deadlock(
    pg_db: SqlDatabase,
) -> None:
    """The sweep (timers fired together, as the simulator does) fires Ana's digest, then a timer whose handler
    writes a timer the other transaction holds; that one then adds to the digest at commit."""
    with pg_db.unit_of_work() as uow:
        tell(uow, "seed")  # the digest, due at 09:05
        schedule(uow, "setup")  # the timer both write
        uow.timers.schedule([Timer("case-1:breach", "test.write", "case-1", T0 + timedelta(minutes=5))])
        uow.commit()
    handlers = {DIGEST: NOTIFIER.send_digest, "test.write": lambda uow, timer, now: schedule(uow, "sweep")}
    sweeper = TimerSweeper(pg_db, handlers, ManualClock(T0 + timedelta(minutes=10)), worker="w", together=True)
    holding, commit = threading.Event(), threading.Event()
    failures: list[str] = []

    def pipeline() -> None:
        try:
            with pg_db.unit_of_work() as uow:
                schedule(uow, "pipeline")
                holding.set()
                commit.wait(10)
                tell(uow, "pipeline")
                uow.commit()
        except Exception as exc:  # whatever ends a transaction is the finding
            failures.append(f"pipeline: {type(exc).__name__}: {exc}")

    def sweep() -> None:
        try:
            sweeper.run_once()
        except Exception as exc:
            failures.append(f"sweep: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=pipeline), threading.Thread(target=sweep)]
    threads[0].start()
    holding.wait(10)
    threads[1].start()
    wait_for_waiters(pg_db, 1)  # the sweep waits for the timer the pipeline holds
    commit.set()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert (sweeper.stats.fired, sweeper.stats.lost, sweeper.stats.failed) == (2, 0, 0)
    with pg_db.engine.connect() as conn:
        [sent] = conn.execute(text("SELECT payload FROM actions WHERE kind = 'email'")).scalars()
    assert "Case seed" in sent and "Case pipeline" not in sent
    assert digest(pg_db) == (["Case pipeline"], 1)  # added after the digest went: the next one tells it
