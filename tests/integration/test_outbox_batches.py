"""The outbox sender records a batch's outcomes in one transaction, keeping each action's guarantees.

A failing outcome hook loses no other action's outcome (the failing one keeps its lease and is sent again,
with the same key, when it ends); an action whose lease another worker took is not recorded; outcomes are
not held longer than half a lease. Real SQLite file, a manual clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from opsdesk.domain.outbox import ActionStatus, SendResult
from opsdesk.domain.records import OutboxAction
from opsdesk.engine.outbox import OutboxSender
from opsdesk.ports import UnitOfWork
from opsdesk.services import monitors
from opsdesk.storage import tables as t
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase, SqlUnitOfWork, create_sql_engine
from opsdesk.testing import ManualClock, RecordingConnector
from tests.integration._servers import START, refund_action

LEASE = timedelta(seconds=60)
WINDOW = timedelta(hours=1)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlDatabase]:
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'outbox.db'}", sqlite_synchronous="OFF")
    migrate(engine)
    database = SqlDatabase(engine)
    yield database
    database.dispose()


class CountingDatabase:
    """Counts the write transactions the sender opens."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db, self.writes = db, 0

    def unit_of_work(self, *, read_only: bool = False) -> SqlUnitOfWork:
        self.writes += not read_only
        return self._db.unit_of_work(read_only=read_only)

    def ping(self) -> None:
        self._db.ping()

    def checkpoint(self) -> None:
        self._db.checkpoint()


class HookError(Exception):
    pass


class CountingHook:
    """An outcome hook that counts each recorded outcome in the database; raises for the actions in ``fail``."""

    def __init__(self) -> None:
        self.fail: set[str] = set()

    def __call__(self, uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool:
        if action.id in self.fail:
            raise HookError(action.id)
        monitors.count(uow, f"test|{action.id}", now, WINDOW)
        return False


def seed(db: SqlDatabase, count: int) -> list[OutboxAction]:
    actions = [refund_action(n) for n in range(1, count + 1)]
    with db.unit_of_work() as uow:
        uow.outbox.add_many(actions)
        uow.commit()
    return actions


def get(db: SqlDatabase, action: OutboxAction) -> OutboxAction:
    with db.unit_of_work(read_only=True) as uow:
        return uow.outbox.get(action.id)


def hook_counts(db: SqlDatabase, actions: list[OutboxAction]) -> list[int]:
    with db.unit_of_work(read_only=True) as uow:
        return monitors.read(uow, [f"test|{a.id}" for a in actions], START, WINDOW)


def test_a_batch_is_claimed_in_one_transaction_and_recorded_in_one_more(db: SqlDatabase) -> None:
    actions = seed(db, 10)
    counting, shopify = CountingDatabase(db), RecordingConnector("shopify")
    hook = CountingHook()
    sender = OutboxSender(counting, {"shopify": shopify}, ManualClock(START), worker="w",
                          outcome_hooks={"refund": hook})

    assert sender.run_once() == 10

    assert counting.writes == 2
    assert [get(db, a).status for a in actions] == [ActionStatus.SENT] * 10
    assert hook_counts(db, actions) == [1] * 10
    assert sender.stats.sent == 10


def test_a_sender_told_an_action_is_due_claims_at_once_and_sends_only_what_is_due(db: SqlDatabase) -> None:
    due = seed(db, 2)
    with db.unit_of_work() as uow:
        uow.outbox.add_many([refund_action(3, at=START + timedelta(hours=1))])
        uow.commit()
    counting, shopify = CountingDatabase(db), RecordingConnector("shopify")
    sender = OutboxSender(counting, {"shopify": shopify}, ManualClock(START), worker="w")

    assert sender.run_once(seen_due=True) == 2
    assert sender.run_once(seen_due=True) == 0  # wrongly told: the claim finds nothing and sends nothing

    assert counting.writes == 3  # the batch's claim and its outcomes, then the empty claim
    assert sorted(a.id for a in shopify.sent) == sorted(a.id for a in due)


def test_a_failing_hook_loses_no_other_outcome_and_its_action_is_sent_again_with_the_same_key(
        db: SqlDatabase) -> None:
    actions = seed(db, 5)
    clock, shopify, hook = ManualClock(START), RecordingConnector("shopify"), CountingHook()
    sender = OutboxSender(db, {"shopify": shopify}, clock, worker="w", lease=LEASE, outcome_hooks={"refund": hook})
    hook.fail = {actions[1].id, actions[3].id}

    with pytest.raises(HookError):
        sender.run_once()

    # The others are recorded, their hooks counted once although the transaction was written three times.
    statuses = [get(db, a).status for a in actions]
    assert statuses == [ActionStatus.SENT, ActionStatus.PENDING, ActionStatus.SENT, ActionStatus.PENDING,
                        ActionStatus.SENT]
    assert hook_counts(db, actions) == [1, 0, 1, 0, 1]
    assert sender.run_once() == 0  # the two failing ones keep their lease
    hook.fail = set()
    clock.advance(seconds=LEASE.total_seconds() + 1)

    assert sender.run_once() == 2

    assert [get(db, a).status for a in actions] == [ActionStatus.SENT] * 5
    assert hook_counts(db, actions) == [1] * 5
    sends = Counter(a.idempotency_key for a in shopify.sent)
    assert [sends[a.idempotency_key] for a in actions] == [1, 2, 1, 2, 1]


def test_an_action_whose_lease_another_worker_took_is_not_recorded_but_the_others_are(db: SqlDatabase) -> None:
    actions = seed(db, 3)
    hook = CountingHook()

    class Stolen(RecordingConnector):
        """Another worker takes the second action's lease while it is being sent."""

        def send(self, action: OutboxAction) -> SendResult:
            if action.id == actions[1].id:
                with db.engine.begin() as conn:
                    conn.execute(update(t.actions).where(t.actions.c.id == action.id).values(lease_owner="other"))
            return super().send(action)

    sender = OutboxSender(db, {"shopify": Stolen("shopify")}, ManualClock(START), worker="w",
                          outcome_hooks={"refund": hook})

    assert sender.run_once() == 3

    assert [get(db, a).status for a in actions] == [ActionStatus.SENT, ActionStatus.PENDING, ActionStatus.SENT]
    assert hook_counts(db, actions) == [1, 0, 1]


def test_outcomes_are_written_once_half_the_lease_has_passed(db: SqlDatabase) -> None:
    actions = seed(db, 5)
    clock = ManualClock(START)

    class Slow(RecordingConnector):
        def send(self, action: OutboxAction) -> SendResult:
            clock.advance(seconds=20)
            return super().send(action)

    counting = CountingDatabase(db)
    written: list[list[Any]] = []

    def hook(uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool:
        written.append([action.id, clock.now()])
        return False

    slow = Slow("shopify")
    sender = OutboxSender(counting, {"shopify": slow}, clock, worker="w", lease=LEASE,
                          outcome_hooks={"refund": hook})

    assert sender.run_once() == 5

    # Sent at 0-20, 20-40 | 40-60, 60-80 | 80-100 s: written at 40, 80 and 100 s (30 s is half the lease).
    assert counting.writes == 4
    at = {aid: (when - START).total_seconds() for aid, when in written}
    assert [at[a.id] for a in slow.sent] == [40, 40, 80, 80, 100]
    assert [get(db, a).status for a in actions] == [ActionStatus.SENT] * 5
