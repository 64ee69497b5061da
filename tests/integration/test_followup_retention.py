"""Follow-up progress retention (ADR 0022): an order's progress row goes once its follow-up ended and its last
message went two longest windows ago; the sweep pages along the rows' ids, which follow when each follow-up
began, and never reads the table from its start again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsdesk.domain.records import FollowupProgress, Timer
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services.followup_retention import FOLLOWUP_RETENTION, RETENTION_SUBJECT, FollowupRetention
from opsdesk.services.followups import FOLLOWUP, subject
from opsdesk.testing import ManualClock
from tests.contract.transactions import read, write
from tests.integration.fulfilment_harness import START, make_run, paid_order
from tests.integration.retention_harness import sweep_round
from tests.samples import SHOP, delivery, sample

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)
KEEP = 2 * DAY
HORIZON = NOW - KEEP


def progress(order_id: int, began_days_ago: float, last_days_ago: float, sent: int = 2) -> FollowupProgress:
    return FollowupProgress(SHOP, order_id, sent, NOW - began_days_ago * DAY, NOW - last_days_ago * DAY)


#: Stored in this order (ids 1-8): order id -> (began, last message, days ago; a follow-up timer pending?).
ROWS = {1: (9, 8, False), 2: (8, 8, True), 3: (7, 3, False), 4: (6, 1, False), 5: (5, 5, False),
        6: (4, 2.5, False), 7: (1, 1, False), 8: (0.5, 0.5, True)}


def store(uow: UnitOfWork) -> None:
    for order_id, (began, last, _) in ROWS.items():
        uow.followups.record(progress(order_id, began, last))
    uow.timers.schedule([Timer(f"{FOLLOWUP}:{SHOP}:{n}", FOLLOWUP, subject(SHOP, n), NOW + DAY, {})
                         for n, (_, _, running) in ROWS.items() if running])
    uow.timers.schedule([Timer("stuck:1", "stuck_order", subject(SHOP, 1), NOW + DAY, {})])  # not a follow-up


def kept(db: Database) -> list[int]:
    return [p.order_id for p in read(db, lambda uow: uow.followups.page(0, 100))]


def test_progress_goes_once_its_follow_up_ended_and_its_last_message_is_past_the_horizon(any_db: Database) -> None:
    write(any_db, store)
    retention = FollowupRetention(KEEP, batch=3)

    # Rows 1-3, then 4-6 (a full page each), then row 7, which began after the horizon: the round ends.
    assert sweep_round(any_db, ManualClock(NOW), retention) == 3
    # Gone: 1 (its stuck-order timer is no follow-up), 3, 5 and 6. Kept: 2 (running), 4 (a message a day ago),
    # 7 and 8 (begun since the horizon).
    assert kept(any_db) == [2, 4, 7, 8]
    # The next round starts before row 2, the first row left: every row below it is settled.
    [timer] = read(any_db, lambda uow: uow.timers.pending(RETENTION_SUBJECT))
    assert (timer.kind, timer.due_at, timer.payload) == (
        FOLLOWUP_RETENTION, NOW + retention.every, {"from": 1, "after": 1})


def test_the_next_round_reads_only_the_rows_left_and_those_begun_since(any_db: Database) -> None:
    write(any_db, store)
    retention = FollowupRetention(KEEP, batch=2)
    clock = ManualClock(NOW)
    sweep_round(any_db, clock, retention)
    write(any_db, lambda uow: uow.timers.cancel(subject(SHOP, 2)))  # order 2 shipped: its follow-up ended
    for n in range(9, 19):  # ten more follow-ups begin, after the horizon
        write(any_db, lambda uow, n=n: uow.followups.record(progress(n, 0.1, 0.1)))
    clock.set(NOW + 3 * retention.every)

    # Rows 2 and 4 (row 2 goes), then 7 and 8, which began after the horizon: two pages, not the eighteen rows.
    assert sweep_round(any_db, clock, retention) == 2
    assert kept(any_db) == [4, 7, 8, *range(9, 19)]
    [timer] = read(any_db, lambda uow: uow.timers.pending(RETENTION_SUBJECT))
    assert timer.payload == {"from": 2, "after": 2}


def test_a_message_sent_after_the_page_was_read_keeps_the_row(any_db: Database) -> None:
    write(any_db, lambda uow: uow.followups.record(progress(1, 9, 8)))
    [row] = read(any_db, lambda uow: uow.followups.page(0, 10))
    write(any_db, lambda uow: uow.followups.record(progress(1, 9, 0)))  # followed up again meanwhile

    assert write(any_db, lambda uow: uow.followups.remove([row.id], HORIZON)) == 0
    assert read(any_db, lambda uow: uow.followups.find(SHOP, 1)) == FollowupProgress(
        SHOP, 1, 2, NOW - 9 * DAY, NOW, row.id)


def test_ids_are_never_given_twice_so_a_new_row_never_lands_behind_the_cursor(any_db: Database) -> None:
    write(any_db, lambda uow: [uow.followups.record(progress(n, 9, 9)) for n in (1, 2)])
    sweep_round(any_db, ManualClock(NOW), FollowupRetention(KEEP))
    assert kept(any_db) == []
    write(any_db, lambda uow: uow.followups.record(progress(3, 0, 0)))
    assert [p.id for p in read(any_db, lambda uow: uow.followups.page(2, 10))] == [3]


# Through the composition root: late orders followed up, one ships, the sweep runs days later


@pytest.fixture
def smtp() -> FakeSmtp:
    with FakeSmtp() as fake:
        yield fake  # type: ignore[misc]


def test_the_desk_forgets_a_shipped_orders_progress_and_keeps_a_late_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp
) -> None:
    """No playbooks: the longest window is the per-customer one (a day), so progress is kept two days."""
    monitors = {"delayed_fulfilment": {"cadence_hours": 24, "case_after_hours": 240, "max_messages": 20,
                                       "per_customer": 5}, "stuck_orders": {"enabled": False}}
    run = make_run(tmp_path, monkeypatch, smtp=smtp, monitors=monitors)
    shipped, late = 4783296544821, 4783296544822
    run.feed(delivery("orders/paid", paid_order(shipped), "w-1"), delivery("orders/paid", paid_order(late), "w-2"))
    run.settle()
    run.advance(hours=48)  # both past their ship-by: a follow-up each
    assert [p.sent for p in read(run.desk.db, lambda uow: uow.followups.page(0, 10))] == [1, 1]
    fulfilment = sample("fulfillments/create")
    fulfilment.update(order_id=shipped, status="success", created_at=run.clock.now().isoformat())
    run.feed(delivery("fulfillments/create", fulfilment, "w-ship"))
    run.settle()

    housekeeping = run.desk.sweeper("hk", housekeeping=True)
    for _ in range(4):  # four days on: the shipped order's last message is past the horizon
        run.clock.advance(days=1)
        while housekeeping.run_once():
            pass
    rows = read(run.desk.db, lambda uow: uow.followups.page(0, 10))
    assert [(p.order_id, p.sent) for p in rows] == [(late, 5)]  # still late: followed up daily, kept
    assert read(run.desk.db, lambda uow: uow.timers.pending(RETENTION_SUBJECT))[0].due_at > run.clock.now()
    assert rows[0].started_at > START
