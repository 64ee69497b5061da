"""R4: the housekeeping sweeps on a SQLite file of realistic size: the first round, then the next one.

In-process, as P4 is (no command sweeps on its own): opsdesk's SQL storage and its TimerSweeper on a SQLite
file under /tmp/opsdesk-bench, a manual clock, the horizon of the starter playbooks (60 days). For each of
the three sweeps of ADR 0022 (timers, follow-up progress, discount windows) a fresh file is filled with
``--rows`` rows (200,000), then the sweep runs one round (fired until it waits for the next), and, the clock
an hour on, the next round. Printed per round: pages (firings), rows deleted, wall time, median page time.

- timers: 80% fired, 10% cancelled, 10% pending (due later), due evenly over the 69 days to 21 days ago;
- follow-ups: begun evenly over 90 days, the last message up to 4 days after the first; the follow-ups
  begun in the last 5 days and one in a thousand older ones still running (a pending ``followup`` timer);
- discount windows: 15-minute windows of one shop over 90 days, shop-wide and 22 codes' (198,720 rows for
  200,000); no open incident.

    .venv/bin/python benchmarks/r4_retention.py              # 200,000 rows each
    .venv/bin/python benchmarks/r4_retention.py --rows 20000 # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/r4_retention.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select

from benchmarks import common
from opsdesk.domain.discounts import GuardPolicy
from opsdesk.engine.timers import TimerSweeper
from opsdesk.services.deadlines import Handler
from opsdesk.services.discount_retention import DiscountWindowRetention
from opsdesk.services.followup_retention import FollowupRetention
from opsdesk.services.followups import subject
from opsdesk.services.usage_retention import TimerRetention
from opsdesk.storage import tables as t
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase, create_sql_engine
from opsdesk.testing import ManualClock

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
KEEP = 60 * DAY  # 2 x 30 days, the starter playbooks' longest window (ADR 0022)


def timer_rows(n: int) -> dict[Any, list[dict[str, Any]]]:
    def status(i: int) -> str:
        return "pending" if i % 10 == 0 else "cancelled" if i % 10 == 1 else "fired"

    rows = [{"id": f"followup:shop:{(i * 7919) % n:08d}", "kind": "followup", "subject": f"order:{i}",
             "due_at": NOW + DAY if status(i) == "pending" else NOW - 90 * DAY + i * (69 * DAY / n),
             "payload": "{}", "status": status(i), "attempts": 1} for i in range(n)]
    return {t.timers: rows}


def followup_rows(n: int) -> dict[Any, list[dict[str, Any]]]:
    rows, running = [], []
    for i in range(n):
        began = NOW - 90 * DAY + i * (90 * DAY / n)
        rows.append({"shop": "shop", "order_id": i, "sent": 1 + i % 5, "started_at": began,
                     "last_sent_at": began + (i % 5) * DAY})
        if began > NOW - 5 * DAY or i % 1000 == 0:
            running.append({"id": f"followup:shop:{i}", "kind": "followup", "subject": subject("shop", i),
                            "due_at": NOW + DAY, "payload": "{}", "status": "pending", "attempts": 0})
    return {t.followups: rows, t.timers: running}


def window_rows(n: int) -> dict[Any, list[dict[str, Any]]]:
    windows = 90 * 96  # 90 days of 15-minute windows; as many subjects as make up n rows (23 for 200,000)
    subjects = ["", *(f"code:SAVE{c}" for c in range(max(1, n // windows) - 1))]
    rows = [{"shop": "shop", "subject": s, "start": NOW - 90 * DAY + w * timedelta(minutes=15), "orders": 3,
             "new_customers": 1, "revenue": "90.00", "discount": "10.00", "first_at": None}
            for w in range(windows) for s in subjects]
    return {t.discount_windows: rows}


def count(db: SqlDatabase, table: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def round_of(db: SqlDatabase, clock: ManualClock, handlers: Mapping[str, Handler], first: Any,
             table: Any) -> str:
    sweeper = TimerSweeper(db, dict(handlers), clock, worker="bench", standing=(first,))
    before, pages, times = count(db, table), 0, []
    started = time.perf_counter()
    while True:
        page = time.perf_counter()
        if not sweeper.run_once():
            break
        times.append(time.perf_counter() - page)
        pages += 1
    wall = time.perf_counter() - started
    deleted = before - count(db, table)
    median = statistics.median(times) * 1000 if times else 0.0
    return f"{pages:>5} pages, {deleted:>7,} deleted of {before:>7,}, {wall:6.2f} s (median page {median:.1f} ms)"


def measure(name: str, rows: Callable[[int], dict[Any, list[dict[str, Any]]]], sweep: Any, table: Any,
            n: int, directory: Path) -> None:
    path = directory / f"r4-{name}.db"
    path.unlink(missing_ok=True)
    engine = create_sql_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.begin() as conn:
        for target, batch in rows(n).items():
            conn.execute(insert(target), batch)
    db = SqlDatabase(engine)
    clock = ManualClock(NOW)
    print(f"{name:<17} load {common.load_average()}")
    print(f"  first round: {round_of(db, clock, sweep.timer_handlers, sweep.first, table)}")
    clock.advance(hours=1)
    print(f"  next round:  {round_of(db, clock, sweep.timer_handlers, sweep.first, table)}")
    db.dispose()
    path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    directory = common.work_dir("r4")
    print(common.machine_line())
    measure("timers", timer_rows, TimerRetention(KEEP), t.timers, args.rows, directory)
    measure("follow-ups", followup_rows, FollowupRetention(KEEP), t.followups, args.rows, directory)
    policy = GuardPolicy(window=timedelta(minutes=15), baseline_windows=96)
    measure("discount windows", window_rows, DiscountWindowRetention(KEEP, policy), t.discount_windows, args.rows,
            directory)


if __name__ == "__main__":
    main()
