"""The timer sweep on real databases (a SQLite file, PostgreSQL): each timer fires once, whatever happens.

A handler records an audit row inside the sweep's transaction, so "fired once" is what the database
kept, not what a Python list saw: the effects of a sweep that died or lost its lease are rolled back.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from opsdesk.domain.records import AuditEntry, Timer
from opsdesk.engine.timers import Handler, TimerSweeper
from opsdesk.ports import UnitOfWork
from opsdesk.storage import tables as t
from opsdesk.storage.sql import SqlDatabase
from opsdesk.testing import ManualClock

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


class Killed(BaseException):
    """The process died here (like ``kill -9``): nothing after this line runs, nothing is committed."""


def record_firing(uow: UnitOfWork, timer: Timer, now: datetime) -> None:
    uow.audit.record([AuditEntry(now, "sweeper", "fired", timer.id)])


def schedule(db: SqlDatabase, timers: list[Timer]) -> None:
    with db.unit_of_work() as uow:
        uow.timers.schedule(timers)
        uow.commit()


def due(n: int, kind: str = "test", at: datetime = T0) -> list[Timer]:
    """``n`` timers due by ``at``, in id order."""
    return [Timer(f"t{i:04}", kind, f"s{i % 7}", at - timedelta(seconds=n - i)) for i in range(n)]


def fired(db: SqlDatabase) -> Counter[str]:
    with db.engine.connect() as conn:
        return Counter(conn.execute(select(t.audit.c.subject).where(t.audit.c.action == "fired")).scalars())


def statuses(db: SqlDatabase) -> Counter[str]:
    with db.engine.connect() as conn:
        return Counter(conn.execute(select(t.timers.c.status)).scalars())


def sweeper(
    db: SqlDatabase, clock: ManualClock, worker: str, handler: Handler = record_firing, **kw: object
) -> TimerSweeper:
    return TimerSweeper(db, {"test": handler}, clock, worker=worker, lease=LEASE, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "together"])
def test_two_sweepers_in_threads_fire_each_of_500_due_timers_exactly_once(
    sql_db: SqlDatabase, together: bool
) -> None:
    schedule(sql_db, due(500))
    clock = ManualClock(T0)
    sweepers = [sweeper(sql_db, clock, f"w{i}", batch=25, together=together) for i in range(2)]
    errors: list[BaseException] = []

    def drain(s: TimerSweeper) -> None:
        try:
            while s.run_once():
                pass
        except BaseException as exc:  # re-raised in the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(s,)) for s in sweepers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    counts = fired(sql_db)
    assert (len(counts), set(counts.values())) == (500, {1})
    assert statuses(sql_db) == {"fired": 500}
    assert sum(s.stats.fired for s in sweepers) == 500
    assert sum(s.stats.lost for s in sweepers) == 0  # no two sweepers ever held the same timer


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "together"])
def test_a_handler_that_raises_does_not_block_the_others_and_is_retried_then_given_up(
    sql_db: SqlDatabase, together: bool
) -> None:
    schedule(sql_db, [*due(5), Timer("broken", "test", "s", T0 - timedelta(minutes=1))])
    clock = ManualClock(T0)

    def handler(uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        record_firing(uow, timer, now)  # written, then rolled back with the failure
        if timer.id == "broken":
            raise ValueError("no such order")

    s = sweeper(sql_db, clock, "w1", handler, retry=timedelta(minutes=1), attempts=3, together=together)
    s.run_once()
    assert (set(fired(sql_db)), statuses(sql_db)) == (
        {f"t{i:04}" for i in range(5)},
        {"fired": 5, "pending": 1},
    )
    for _ in range(2):
        clock.advance(seconds=61)
        assert s.run_once() == 1

    assert statuses(sql_db) == {"fired": 5, "failed": 1}
    assert "broken" not in fired(sql_db)
    with sql_db.engine.connect() as conn:
        row = conn.execute(select(t.timers).where(t.timers.c.id == "broken")).mappings().one()
    assert (row["attempts"], row["last_error"]) == (3, "ValueError: no such order")
    assert (s.stats.fired, s.stats.retried, s.stats.failed) == (5, 2, 1)


def dies_on_the_second(uow: UnitOfWork, timer: Timer, now: datetime) -> None:
    """A handler that does its work for every timer, then dies on the second: after the work, before the commit."""
    record_firing(uow, timer, now)
    if timer.id == "t0001":
        raise Killed


def test_a_sweeper_killed_after_its_handler_did_the_work_fires_the_timer_once_after_the_lease(
    sql_db: SqlDatabase,
) -> None:
    schedule(sql_db, due(3))
    clock = ManualClock(T0)

    with pytest.raises(Killed):
        sweeper(sql_db, clock, "w1", dies_on_the_second).run_once()
    # t0000 had committed; the killed t0001 and the never-reached t0002 are still leased to w1.
    assert fired(sql_db) == {"t0000": 1}
    successor = sweeper(sql_db, clock, "w2")
    clock.advance(seconds=29)
    assert successor.run_once() == 0
    clock.advance(seconds=2)
    assert successor.run_once() == 2

    assert fired(sql_db) == {"t0000": 1, "t0001": 1, "t0002": 1}
    assert statuses(sql_db) == {"fired": 3}


class CountingDatabase:
    """A database that counts the transactions opened on it (read-only ones apart)."""

    def __init__(self, db: SqlDatabase) -> None:
        self.db, self.writes = db, 0

    def unit_of_work(self, read_only: bool = False) -> Any:
        self.writes += not read_only
        return self.db.unit_of_work(read_only=read_only)


def test_a_sweeper_firing_together_fires_a_claimed_batch_in_one_transaction(sql_db: SqlDatabase) -> None:
    schedule(sql_db, due(10))
    db = CountingDatabase(sql_db)
    s = sweeper(db, ManualClock(T0), "w1", together=True)  # type: ignore[arg-type]
    assert s.run_once() == 10
    assert db.writes == 2  # the claim, then the batch: not one transaction per timer
    assert (len(fired(sql_db)), set(fired(sql_db).values()), statuses(sql_db)) == (10, {1}, {"fired": 10})
    assert (s.stats.fired, s.stats.lost) == (10, 0)


def test_a_sweeper_firing_together_killed_half_way_leaves_the_whole_batch_to_the_lease(
    sql_db: SqlDatabase,
) -> None:
    schedule(sql_db, due(3))
    clock = ManualClock(T0)

    with pytest.raises(Killed):
        sweeper(sql_db, clock, "w1", dies_on_the_second, together=True).run_once()
    assert fired(sql_db) == {}  # the batch's one transaction never committed
    clock.advance(seconds=31)
    assert sweeper(sql_db, clock, "w2", together=True).run_once() == 3
    assert (fired(sql_db), statuses(sql_db)) == ({"t0000": 1, "t0001": 1, "t0002": 1}, {"fired": 3})


def test_timers_claimed_by_a_sweeper_that_vanished_are_fired_by_the_next_once_the_lease_expires(
    sql_db: SqlDatabase,
) -> None:
    schedule(sql_db, due(4))
    clock = ManualClock(T0)
    with sql_db.unit_of_work() as uow:
        assert len(uow.timers.claim_due(T0, 10, T0 + LEASE, "ghost")) == 4
        uow.commit()
    s = sweeper(sql_db, clock, "w1")
    assert s.run_once() == 0
    clock.advance(seconds=31)
    assert s.run_once() == 4
    assert set(fired(sql_db).values()) == {1} and len(fired(sql_db)) == 4


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "together"])
def test_a_timer_moved_while_claimed_is_not_fired_by_the_stale_claim_but_at_its_new_time(
    sql_db: SqlDatabase, together: bool
) -> None:
    schedule(sql_db, due(2))
    clock = ManualClock(T0)
    later = T0 + timedelta(hours=1)

    def moves_the_other(uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        record_firing(uow, timer, now)
        if timer.id == "t0000":
            uow.timers.schedule([Timer("t0001", "test", "s1", later)])

    s = sweeper(sql_db, clock, "w1", moves_the_other, together=together)
    assert s.run_once() == 2
    assert (fired(sql_db), s.stats.lost) == ({"t0000": 1}, 1)
    clock.set(later)
    s.run_once()
    assert fired(sql_db) == {"t0000": 1, "t0001": 1}


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "together"])
def test_a_handler_may_re_arm_its_own_timer(sql_db: SqlDatabase, together: bool) -> None:
    schedule(sql_db, due(1))
    clock = ManualClock(T0)

    def re_arms_once(uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        record_firing(uow, timer, now)
        if now == T0:
            uow.timers.schedule([Timer(timer.id, "test", timer.subject, T0 + timedelta(minutes=5))])

    s = sweeper(sql_db, clock, "w1", re_arms_once, together=together)
    s.run_once()
    assert statuses(sql_db) == {"pending": 1}
    clock.advance(minutes=5)
    s.run_once()
    assert (fired(sql_db), statuses(sql_db)) == ({"t0000": 2}, {"fired": 1})


def test_an_idle_sweep_does_not_wait_for_sqlites_write_lock(sqlite_db: SqlDatabase) -> None:
    schedule(sqlite_db, [Timer("later", "test", "s", T0 + timedelta(hours=1))])
    writer = sqlite3.connect(str(sqlite_db.engine.url.database), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # intake holding the write lock for a while
    try:
        started = time.perf_counter()
        assert sweeper(sqlite_db, ManualClock(T0), "w1").run_once() == 0
        assert time.perf_counter() - started < 2.0  # the busy timeout is 4 s; the rest is room for a loaded machine
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_sweep_told_a_timer_is_due_claims_at_once_and_fires_only_what_is_due(sql_db: SqlDatabase) -> None:
    schedule(sql_db, [*due(2), Timer("later", "test", "s", T0 + timedelta(hours=1))])
    s = sweeper(sql_db, ManualClock(T0), "w1")
    assert s.run_once(seen_due=True) == 2
    assert s.run_once(seen_due=True) == 0  # wrongly told: the claim finds nothing and fires nothing
    assert (fired(sql_db), statuses(sql_db)) == ({"t0000": 1, "t0001": 1}, {"fired": 2, "pending": 1})


def test_a_timer_scheduled_again_under_another_subject_is_found_by_the_new_one_only(sql_db: SqlDatabase) -> None:
    schedule(sql_db, due(2))
    schedule(sql_db, [Timer("t0000", "test", "s-new", T0), Timer("t0001", "test", "s1", T0)])

    with sql_db.unit_of_work(read_only=True) as uow:
        found = {subject: [x.id for x in uow.timers.pending(subject)] for subject in ("s0", "s1", "s-new")}
    assert found == {"s0": [], "s1": ["t0001"], "s-new": ["t0000"]}


def test_a_fired_timer_scheduled_again_for_the_same_time_fires_again(sql_db: SqlDatabase) -> None:
    schedule(sql_db, due(1))
    schedule(sql_db, due(1))  # the same timer again, unchanged: still one pending timer
    clock = ManualClock(T0)
    s = sweeper(sql_db, clock, "w1")
    assert (s.run_once(), statuses(sql_db)) == (1, {"fired": 1})

    schedule(sql_db, due(1))
    assert statuses(sql_db) == {"pending": 1}
    s.run_once()
    assert fired(sql_db) == {"t0000": 2}
