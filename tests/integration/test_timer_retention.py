"""Timer retention (ADR 0022): fired and cancelled timers go two longest windows after they were due, read
along their due time, so that a round reads only the rows it deletes, whatever their ids.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsdesk.domain.records import Timer
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services.usage_retention import TIMER_RETENTION, TIMER_SUBJECT, TimerRetention
from opsdesk.testing import ManualClock
from tests.contract.transactions import read, write
from tests.integration.desk_harness import make_desk
from tests.integration.retention_harness import sweep_round
from tests.pipeline_harness import feed
from tests.samples import order_lifecycle

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)
KEEP = 2 * DAY
OLD, RECENT = NOW - KEEP - timedelta(seconds=1), NOW - KEEP + timedelta(seconds=1)


def timer(name: str, due: datetime) -> Timer:
    return Timer(name, "followup", f"order:{name}", due, {"n": 1})


def settle(uow: UnitOfWork, fired: tuple[str, ...] = (), failed: tuple[str, ...] = (),
           cancelled: tuple[str, ...] = ()) -> None:
    """Fire, fail and cancel these timers as a sweeper and a watcher would (the lease on the others the
    claim takes is over at once)."""
    for claimed in uow.timers.claim_due(NOW + DAY, 100, NOW - 30 * DAY, "w"):
        if claimed.id in fired or claimed.id in failed:
            uow.timers.finish(claimed.id, worker="w", at=NOW, error="boom" if claimed.id in failed else "")
    for name in cancelled:
        uow.timers.cancel(f"order:{name}")


def counts(db: Database) -> list[int]:
    return read(db, lambda uow: [uow.timers.count(s) for s in ("fired", "cancelled", "failed", "pending")])


def test_fired_and_cancelled_timers_go_two_longest_windows_after_they_were_due_and_nothing_else(
    any_db: Database,
) -> None:
    names = (("fired-old", OLD), ("fired-recent", RECENT), ("failed-old", OLD), ("cancelled-old", OLD),
             ("cancelled-recent", RECENT), ("pending-later", NOW + DAY))
    write(any_db, lambda uow: uow.timers.schedule([timer(name, due) for name, due in names]))
    write(any_db, lambda uow: settle(uow, fired=("fired-old", "fired-recent"), failed=("failed-old",),
                                     cancelled=("cancelled-old", "cancelled-recent")))
    assert counts(any_db) == [2, 2, 1, 1]
    retention = TimerRetention(KEEP, batch=2)

    firings = sweep_round(any_db, ManualClock(NOW), retention)

    assert firings == 2  # the two expired rows fill the first page; the second reads none and ends the round
    assert counts(any_db) == [1, 1, 1, 2]  # the recent ones, the failed one, the later one and the sweep
    assert read(any_db, lambda uow: uow.timers.pending(TIMER_SUBJECT)) == [
        Timer(TIMER_RETENTION, TIMER_RETENTION, TIMER_SUBJECT, NOW + retention.every, {})]


def test_the_next_round_reads_only_what_expired_since_even_a_timer_due_before_where_the_last_round_ended(
    any_db: Database,
) -> None:
    """Ids run against due times here (z-... due first); a timer overdue at the first round, held by another
    worker then, fires after it: the next round deletes it although it is due before every row the first read."""
    dues = {f"{chr(ord('z') - n)}-{n}": OLD - (10 - n) * timedelta(hours=1) for n in range(10)}
    kept = {f"k-{n}": OLD + n * timedelta(minutes=20) for n in range(1, 7)}  # fired, past the horizon in 20-120 min
    write(any_db, lambda uow: uow.timers.schedule([timer("m-overdue", OLD - 20 * timedelta(hours=1))]))
    write(any_db, lambda uow: uow.timers.claim_due(NOW, 1, NOW + 2 * DAY, "other"))
    write(any_db, lambda uow: uow.timers.schedule([timer(n, d) for n, d in {**dues, **kept}.items()]))
    write(any_db, lambda uow: settle(uow, fired=(*dues, *kept)))
    retention = TimerRetention(KEEP, batch=4)
    clock = ManualClock(NOW)

    assert sweep_round(any_db, clock, retention) == 3  # 10 expired rows: 4, 4, then 2 and the round ends
    assert counts(any_db) == [6, 0, 0, 2]
    write(any_db, lambda uow: uow.timers.finish("m-overdue", worker="other", at=NOW))
    clock.set(NOW + retention.every)  # three of the six kept ones expired meanwhile

    # One page: the overdue timer and the three that expired; the kept rows are not read again.
    assert sweep_round(any_db, clock, retention) == 2  # the first page is full (4), the second reads nothing
    assert counts(any_db) == [3, 0, 0, 1]
    assert read(any_db, lambda uow: uow.timers.prune(None, 100, clock.now() - KEEP)) == (None, 0, 0)


def test_a_round_started_by_the_sweep_that_paged_along_the_ids_starts_from_the_first_done_timer(
    any_db: Database,
) -> None:
    write(any_db, lambda uow: uow.timers.schedule([timer("a", OLD), timer("b", OLD),
          Timer(TIMER_RETENTION, TIMER_RETENTION, TIMER_SUBJECT, NOW, {"after": "b"})]))
    write(any_db, lambda uow: settle(uow, fired=("a", "b")))
    sweep_round(any_db, ManualClock(NOW), TimerRetention(KEEP))
    assert counts(any_db) == [0, 0, 0, 1]


def test_the_desk_deletes_the_timers_its_own_work_fired_once_past_the_horizon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The starter playbooks through the composition root: their longest window is 30 days, so 60 days; the
    four housekeeping sweeps stay pending."""
    clock = ManualClock(NOW)
    desk = make_desk(tmp_path, monkeypatch, clock=clock)
    feed(desk.db, [d for n in (1, 2, 3) for d in order_lifecycle(n, base=clock.now())], clock)
    desk.process_pending()
    sweeper = desk.sweeper("test", housekeeping=True)
    clock.advance(days=11)  # the orders' stuck-order timers (due ten days on) fire: the orders shipped
    while sweeper.run_once():
        pass
    assert read(desk.db, lambda uow: uow.timers.count("fired")) == 3

    clock.advance(days=59)  # due 60 days ago less a day: kept
    while sweeper.run_once():
        pass
    assert read(desk.db, lambda uow: uow.timers.count("fired")) == 3
    clock.advance(days=1, hours=1)
    while sweeper.run_once():
        pass
    assert read(desk.db, lambda uow: (uow.timers.count("fired"), uow.timers.count("pending"))) == (0, 4)
