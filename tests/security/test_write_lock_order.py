"""Transactions take their locks in one order, so they never deadlock (ADR 0058), on PostgreSQL.

A transaction used to lock the head where it recorded its entry, in the middle of its writes: the pipeline
opened a case (head locked), then scheduled the next case's timers; a timer sweep or an outbox outcome
scheduled a timer first, then recorded. Each held what the other wanted, and PostgreSQL killed one with
``deadlock detected`` (retried after a pause as "database unavailable"). Here two connections take those
steps in that order, in lockstep, so the old order deadlocks every time. Likewise two batches upserting the
same timers listed in other orders.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from opsdesk.domain.errors import DataRefused
from opsdesk.domain.privacy import PrivacySubject
from opsdesk.domain.records import AuditEntry, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services.audit import verify_audit
from opsdesk.storage.sql import SqlDatabase

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
TIMER = Timer("case-1:warning", "sla.warning", "case-1", T0 + timedelta(hours=4))
Step = Callable[[UnitOfWork, str], None]


def record(uow: UnitOfWork, who: str) -> None:
    uow.audit.record([AuditEntry(T0, who, "case.open", f"case:{who}", None, {"by": who})])


def schedule(uow: UnitOfWork, who: str) -> None:
    uow.timers.schedule([TIMER])


def cancel(uow: UnitOfWork, who: str) -> None:
    uow.timers.cancel(TIMER.subject, [TIMER.kind])


def run_in_lockstep(db: SqlDatabase, first: tuple[Step, Step], second: tuple[Step, Step]) -> list[str]:
    """Each transaction takes its first step, waits for the other's, then takes its second and commits."""
    both_started = threading.Barrier(2, timeout=10)
    failures: list[str] = []

    def transaction(who: str, steps: tuple[Step, Step]) -> None:
        try:
            with db.unit_of_work() as uow:
                steps[0](uow, who)
                both_started.wait()
                steps[1](uow, who)
                uow.commit()
        except Exception as exc:  # whatever ends a transaction is the finding
            failures.append(f"{who}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=transaction, args=(who, steps))
               for who, steps in (("pipeline", first), ("sweep", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a transaction is still waiting after 30 s"
    return failures


@pytest.mark.postgres
@pytest.mark.parametrize(("write", "pending"), [(schedule, [TIMER.id]), (cancel, [])], ids=["schedule", "cancel"])
def test_recording_then_writing_beside_writing_then_recording_does_not_deadlock(
    pg_db: SqlDatabase, write: Step, pending: list[str]
) -> None:
    with pg_db.unit_of_work() as uow:  # the row both write: scheduled again, or cancelled
        schedule(uow, "setup")
        uow.commit()

    failures = run_in_lockstep(pg_db, (record, write), (write, record))

    assert failures == []
    with pg_db.unit_of_work(read_only=True) as uow:
        report = verify_audit(uow)
        actors = [row.actor for row in uow.audit.chain(0, 10)]
        timers = uow.timers.pending(TIMER.subject)
    assert (report.ok, report.checked, sorted(actors)) == (True, 2, ["pipeline", "sweep"])
    assert [t.id for t in timers] == pending


def test_a_search_for_a_customers_rows_finds_the_audit_entries_its_own_transaction_recorded(
    sql_db: SqlDatabase,
) -> None:
    """Entries are chained at commit; an erasure in the same transaction (timers fired together) must still
    find and redact them."""
    shop, email = "demo-store.myshopify.com", "jane@example.com"
    with sql_db.unit_of_work() as uow:
        uow.audit.record([AuditEntry(T0, "automation", "case.open", "case:c-1", None, {"email": email})])
        uow.audit.record([AuditEntry(T0, "automation", "order.held", f"order:{shop}:1001", None, None)])
        found = uow.privacy.rows(PrivacySubject(shop, email=email), [email])
        shop_rows = uow.privacy.shop_audit(shop)
        uow.commit()

    assert [(row.table, row.key, row.values["after"]) for row in found] == [("audit", (1,), f'{{"email":"{email}"}}')]
    assert [(row.table, row.key) for row in shop_rows] == [("audit", (2,))]


def waiting_on_locks(db: SqlDatabase) -> int:
    """How many of this test's connections wait for a lock (the schema's connections share a name)."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                 "AND application_name = current_setting('application_name')")
    with db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def wait_for_waiters(db: SqlDatabase, count: int) -> None:
    """Poll until ``count`` connections wait: the lockstep waits for the server to say so, not a guessed time."""
    deadline = time.monotonic() + 10
    while waiting_on_locks(db) < count:
        assert time.monotonic() < deadline, "the other transaction never started waiting"
        time.sleep(0.02)


@pytest.mark.postgres
def test_two_batches_scheduling_the_same_timers_in_other_orders_do_not_deadlock(pg_db: SqlDatabase) -> None:
    """Two workers' batches upsert the timers of the orders they share (one statement each), listed in the
    orders their batches met them. A third transaction holds one timer so that they start in lockstep."""
    a, b = (Timer(f"stuck_order:shop:{n}", "stuck_order", f"order:shop:{n}", T0) for n in (1, 2))
    with pg_db.unit_of_work() as uow:
        uow.timers.schedule([a, b])
        uow.commit()
    failures: list[str] = []

    def batch(timers: list[Timer]) -> None:
        try:
            with pg_db.unit_of_work() as uow:
                uow.timers.schedule(timers)
                uow.commit()
        except Exception as exc:  # whatever ends a transaction is the finding
            failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=batch, args=([b, a],)), threading.Thread(target=batch, args=([a, b],))]
    with pg_db.engine.begin() as holder:
        holder.execute(text("SELECT id FROM timers WHERE id = :id FOR UPDATE"), {"id": b.id})
        for waiting, thread in enumerate(threads, start=1):  # the first to wait for the held timer gets it first
            thread.start()
            wait_for_waiters(pg_db, waiting)
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    with pg_db.unit_of_work(read_only=True) as uow:
        assert sorted(t.id for t in uow.timers.pending("order:shop:1") + uow.timers.pending("order:shop:2")) == [
            a.id, b.id]


@pytest.mark.postgres
@pytest.mark.parametrize(("subject", "refusal"), [
    ("x" * 256, "value too long for type character varying(255)"),
    ("case:\x00", "PostgreSQL text fields cannot contain NUL"),
], ids=["too-long", "nul"])
def test_an_entry_postgresql_would_refuse_is_refused_where_it_is_recorded_not_at_commit(
    pg_db: SqlDatabase, subject: str, refusal: str
) -> None:
    """The outbox blames a refused write on the outcome being written (ADR 0030), so it must come from there."""
    expected = f"^refused by the database: {re.escape(refusal)}"
    with pg_db.unit_of_work() as uow, pytest.raises(DataRefused, match=expected):
        uow.audit.record([AuditEntry(T0, "automation", "case.open", subject)])
