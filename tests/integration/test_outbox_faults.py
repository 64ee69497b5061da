"""Reliability tests 6 and 7 at quick size: the outbox sender, a real SQLite file, the fake Shopify server.

The sender schedules on a manual clock, so a ten-minute outage and every backoff pass in simulated time;
the provider calls themselves are real HTTP requests, with real timeouts and resets.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.domain.outbox import ActionStatus, BreakerState, RetryPolicy
from opsdesk.domain.records import OutboxAction
from opsdesk.engine.outbox import OutboxSender
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase, SqlUnitOfWork, create_sql_engine
from opsdesk.testing import ManualClock
from tests.integration._servers import START, TOKEN, refund_action
from tests.samples import SHOP

ACTIONS, LATE = 200, 50  # LATE of them fall due during the outage
OUTAGE = (100, 700)  # simulated seconds after START
FAULTS = ("500", "429:5", "hang:1", "reset", "slow:0.2")  # slow: applied, but the answer comes too late
MAX_ATTEMPTS = 4
BREAKER_THRESHOLD, COOL_DOWN = 5, 30


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlDatabase]:
    """A SQLite file; a crash is simulated in-process here, so commits need not wait for the disk."""
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'outbox.db'}", sqlite_synchronous="OFF")
    migrate(engine)
    database = SqlDatabase(engine)
    yield database
    database.dispose()


@pytest.fixture
def fake() -> Iterator[FakeShopifyAdmin]:
    with FakeShopifyAdmin(access_tokens={TOKEN}, seed=7) as server:
        yield server


@pytest.fixture
def shopify(fake: FakeShopifyAdmin) -> Iterator[ShopifyAdmin]:
    # A short timeout keeps the hangs cheap; a slow answer on a busy machine is one more retry, not an error.
    with ShopifyAdmin(fake.url_for, lambda shop: TOKEN, timeout=0.1) as connector:
        yield connector


def add_actions(db: SqlDatabase, actions: list[OutboxAction]) -> None:
    with db.unit_of_work() as uow:
        uow.outbox.add_many(actions)
        uow.commit()


def drain(sender: OutboxSender) -> None:
    while sender.run_once(limit=50):
        pass


# -- 7: provider faults, then an outage ------------------------------------------------------------------


def test_faults_and_an_outage_lose_nothing_duplicate_nothing_and_exhausted_actions_become_cases(
        db: SqlDatabase, fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    clock = ManualClock(START)
    late_at = START + timedelta(seconds=OUTAGE[0] + 20)
    # The refunds name their gateway, so each attempt is one call and 30 % of calls is 30 % of attempts.
    actions = [refund_action(n, gateway="shopify_payments") for n in range(1, ACTIONS - LATE + 1)]
    actions += [refund_action(n, at=late_at, gateway="shopify_payments")
                for n in range(ACTIONS - LATE + 1, ACTIONS + 1)]
    add_actions(db, actions)
    sender = OutboxSender(db, {"shopify": shopify}, clock, worker="worker-1",
                          policy=RetryPolicy(max_attempts=MAX_ATTEMPTS), rng=random.Random(3))
    fake.chaos(0.3, FAULTS, seed=11)

    breaker_opened, outage_calls = run_through_outage(db, sender, fake, clock)

    time.sleep(0.3)  # let answers the client gave up on ("slow") finish applying
    final = {a.id: get(db, a.id) for a in actions}
    assert {a.status for a in final.values()} <= {ActionStatus.SENT, ActionStatus.FAILED}
    assert_one_effect_per_sent_action(final.values(), fake)
    assert_retry_after_honoured(final.values())
    assert breaker_opened
    # Without the breaker every action due in the outage (LATE at least) would be tried, and retried.
    assert outage_calls <= BREAKER_THRESHOLD + (OUTAGE[1] - OUTAGE[0]) // COOL_DOWN + 1 < LATE
    assert_failed_actions_became_cases(db, final.values())
    assert {c.fault for c in fake.calls} >= {"", "outage", *FAULTS}


def run_through_outage(db: SqlDatabase, sender: OutboxSender, fake: FakeShopifyAdmin,
                       clock: ManualClock) -> tuple[bool, int]:
    """Step one simulated second at a time until nothing is pending: (breaker opened, calls in the outage)."""
    opened, calls_before = False, 0
    for second in range(3600):
        if second == OUTAGE[0]:
            fake.outage(True)
            calls_before = len(fake.calls)
        if second == OUTAGE[1]:
            fake.outage(False)
            outage_calls = len(fake.calls) - calls_before
        drain(sender)
        opened = opened or (OUTAGE[0] <= second < OUTAGE[1]
                            and sender.breaker("shopify").state is BreakerState.OPEN)
        if second > OUTAGE[1] and pending(db) == 0:
            return opened, outage_calls
        clock.advance(seconds=1)
    raise AssertionError(f"{pending(db)} actions still pending after an hour")


def assert_one_effect_per_sent_action(actions: Any, fake: FakeShopifyAdmin) -> None:
    """Each order has one refund action: a sent one refunded once under its key, a failed one at most once."""
    keys: dict[int | None, list[str]] = {}
    for effect in fake.effects:
        keys.setdefault(effect.order_id, []).append(effect.key)
    for action in actions:
        made = keys.get(action.order_id, [])
        once = [action.idempotency_key]
        allowed = [once] if action.status is ActionStatus.SENT else [[], once]
        assert made in allowed, (action.id, action.status, made)


def assert_retry_after_honoured(actions: Any) -> None:
    """No attempt came before the previous one's delay ran out; a 429's delay was at least its Retry-After."""
    throttled = 0
    for action in actions:
        for before, after in zip(action.history, action.history[1:], strict=False):
            wait = timedelta(seconds=before["retry_in"])
            assert _at(after) >= _at(before) + wait, (action.id, before, after)
        for entry in action.history:
            if entry["outcome"] == "retry" and entry["error"] == "HTTP 429":
                throttled += 1
                assert entry["retry_in"] >= 5, (action.id, entry)
    assert throttled > 0, "no 429 was seen: the check proves nothing"


def assert_failed_actions_became_cases(db: SqlDatabase, actions: Any) -> None:
    failed = [a for a in actions if a.status is ActionStatus.FAILED]
    assert failed, "no action exhausted its retries: the check proves nothing"
    with db.unit_of_work() as uow:
        for action in failed:
            assert action.attempts == MAX_ATTEMPTS
            cases = [c for c in uow.cases.for_order(SHOP, action.order_id) if c.kind == "automation_failure"]
            assert [c.source for c in cases] == [f"action:{action.id}"]


# -- 6: a crash after the provider said 200, before our commit --------------------------------------------


class WorkerCrashed(Exception):
    """The worker process died here."""


class CrashBeforeRecordingSent:
    """A database whose worker dies the first time it is about to commit each action as sent.

    The sender records a batch's outcomes in one transaction, so a crash before that commit loses the
    outcomes of every action of the batch: all of them are sent again.
    """

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db
        self.crashed: set[str] = set()

    def unit_of_work(self, *, read_only: bool = False) -> _CrashingUnitOfWork:
        return _CrashingUnitOfWork(self._db.unit_of_work(read_only=read_only), self.crashed)

    def ping(self) -> None:
        self._db.ping()


class _CrashingUnitOfWork:
    def __init__(self, inner: SqlUnitOfWork, crashed: set[str]) -> None:
        self._inner, self._crashed = inner, crashed
        self._sent: set[str] = set()  # recorded as sent in this transaction

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._inner.__exit__(exc_type, exc, tb)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def outbox(self) -> Any:
        return _RecordingOutbox(self._inner.outbox, self._sent)

    def commit(self) -> None:
        first_time = self._sent - self._crashed
        if first_time:
            self._crashed.update(first_time)
            raise WorkerCrashed(sorted(first_time))
        self._inner.commit()


class _RecordingOutbox:
    def __init__(self, inner: Any, sent: set[str]) -> None:
        self._inner, self._sent = inner, sent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def save(self, action: OutboxAction, *, worker: str) -> bool:
        saved = bool(self._inner.save(action, worker=worker))
        if saved and action.status is ActionStatus.SENT:
            self._sent.add(action.id)
        return saved


def test_a_crash_between_the_providers_200_and_our_commit_resends_the_same_key_with_one_effect(
        db: SqlDatabase, fake: FakeShopifyAdmin) -> None:
    clock = ManualClock(START)
    actions = [refund_action(n) for n in range(1, 21)]
    add_actions(db, actions)
    crashing = CrashBeforeRecordingSent(db)
    lease = timedelta(seconds=60)

    restarts = 0
    with ShopifyAdmin(fake.url_for, lambda shop: TOKEN, timeout=5) as shopify:
        for _ in range(100):
            # Each round is a fresh worker process; a crash leaves its leases to expire.
            sender = OutboxSender(crashing, {"shopify": shopify}, clock, worker=f"worker-{restarts}", lease=lease)
            try:
                drain(sender)
            except WorkerCrashed:
                restarts += 1
                clock.advance(seconds=lease.total_seconds() + 1)
            if not pending(db):
                break
            clock.advance(seconds=1)

    # One batch holds all 20: one crash loses all their outcomes, and each is sent once more.
    assert restarts == 1
    assert crashing.crashed == {action.id for action in actions}
    for action in actions:
        assert get(db, action.id).status is ActionStatus.SENT
        assert [e.key for e in fake.effects if e.order_id == action.order_id] == [action.idempotency_key]
        sends = [c for c in fake.calls if c.operation == "refundCreate" and c.key == action.idempotency_key]
        assert [c.idempotent_key for c in sends] == [action.idempotency_key] * 2


# -- helpers ----------------------------------------------------------------------------------------


def pending(db: SqlDatabase) -> int:
    with db.unit_of_work() as uow:
        return uow.outbox.count(ActionStatus.PENDING.value)


def get(db: SqlDatabase, action_id: str) -> OutboxAction:
    with db.unit_of_work() as uow:
        return uow.outbox.get(action_id)


def _at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["at"])

