"""Concurrent outbox workers on the real databases: every due action is leased to exactly one of them.

Each worker is a thread with units of work of its own, as the sender runs in production. PostgreSQL
lets claims run side by side (``FOR UPDATE SKIP LOCKED``); SQLite has one writer at a time
(``BEGIN IMMEDIATE``). Both must hand out each action once.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.records import OutboxAction
from opsdesk.storage.sql import SqlDatabase

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
WORKERS = 4
ACTIONS = 400
BATCH = 10


def action(n: int) -> OutboxAction:
    return OutboxAction(
        id=f"action-{n:04d}", decision_id=f"decision-{n}", shop="alpha.myshopify.com", order_id=n,
        kind="refund", provider="shopify", payload={"n": n}, idempotency_key=f"opsdesk-action-{n:04d}",
        created_at=T0 - timedelta(hours=1), next_attempt_at=T0 - timedelta(seconds=n),
    )


def add_actions(db: SqlDatabase, count: int) -> list[str]:
    actions = [action(n) for n in range(count)]
    with db.unit_of_work() as uow:
        uow.outbox.add_many(actions)
        uow.commit()
    return [a.id for a in actions]


def claim(db: SqlDatabase, worker: str) -> list[OutboxAction]:
    with db.unit_of_work() as uow:
        claimed = uow.outbox.claim_due(T0, BATCH, T0 + LEASE, worker)
        uow.commit()
    return claimed


def drain(db: SqlDatabase, worker: str, start: threading.Barrier) -> tuple[list[str], list[bool]]:
    """Claim batches until none is left, saving each as sent; returns the ids claimed and each save's result."""
    claimed: list[str] = []
    saved: list[bool] = []
    start.wait(timeout=30)
    while batch := claim(db, worker):
        claimed.extend(a.id for a in batch)
        with db.unit_of_work() as uow:
            saved.extend(uow.outbox.save(replace(a, status=ActionStatus.SENT, attempts=1), worker=worker)
                         for a in batch)
            uow.commit()
    return claimed, saved


def test_concurrent_workers_claim_every_due_action_exactly_once(sql_db: SqlDatabase) -> None:
    ids = add_actions(sql_db, ACTIONS)
    start = threading.Barrier(WORKERS)
    results: dict[str, tuple[list[str], list[bool]]] = {}
    errors: list[BaseException] = []

    def run(worker: str) -> None:
        try:
            results[worker] = drain(sql_db, worker, start)
        except BaseException as exc:  # the main thread reports it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"worker-{i}",)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sorted(results) == [f"worker-{i}" for i in range(WORKERS)]
    claims = Counter(i for claimed, _ in results.values() for i in claimed)
    assert {i: n for i, n in claims.items() if n > 1} == {}  # no action was given to two workers
    assert sorted(claims) == ids
    assert [ok for _, saved in results.values() for ok in saved] == [True] * ACTIONS
    with sql_db.unit_of_work() as uow:
        assert (uow.outbox.count("sent"), uow.outbox.count("pending")) == (ACTIONS, 0)


def claim_beside_an_open_claim(db: SqlDatabase, wait: float) -> tuple[list[str], list[str], bool]:
    """Claim one batch and, before committing it, another from a second thread.

    Returns both batches and whether the second finished while the first was still uncommitted.
    """
    second: list[str] = []
    with db.unit_of_work() as uow:
        first = [a.id for a in uow.outbox.claim_due(T0, BATCH, T0 + LEASE, "first")]
        thread = threading.Thread(target=lambda: second.extend(a.id for a in claim(db, "second")))
        thread.start()
        thread.join(timeout=wait)
        finished_beside = not thread.is_alive()
        uow.commit()
    thread.join(timeout=60)
    return first, second, finished_beside


@pytest.mark.postgres
def test_postgres_claims_skip_actions_locked_by_a_claim_not_yet_committed(pg_db: SqlDatabase) -> None:
    ids = add_actions(pg_db, 2 * BATCH)

    first, second, finished_beside = claim_beside_an_open_claim(pg_db, wait=10)

    assert finished_beside  # it skipped the locked rows instead of waiting for them
    assert sorted(first + second) == ids
    assert first == ids[BATCH:][::-1]  # the most overdue first
    assert second == ids[:BATCH][::-1]


def test_sqlite_claims_wait_for_the_claim_in_progress_and_take_the_rest(sqlite_db: SqlDatabase) -> None:
    ids = add_actions(sqlite_db, 2 * BATCH)

    first, second, finished_beside = claim_beside_an_open_claim(sqlite_db, wait=0.5)

    assert not finished_beside  # one writer at a time: the second claim waited for the first to commit
    assert sorted(first + second) == ids
    assert set(first).isdisjoint(second)
