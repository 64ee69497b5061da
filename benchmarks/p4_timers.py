"""P4: durable timers: a sweep costs the same with 1,000,000 pending timers as with 1,000; lateness p99 <= 1 s.

In-process (there is no command that only sweeps timers): opsdesk's SQL storage and its TimerSweeper on
a SQLite file under /tmp/opsdesk-bench (or PostgreSQL with --postgres, in a schema of its own, dropped
afterwards). Steps, each printed with the load average:

1. sweep cost: bulk-insert pending timers due over the next 30 days (1,000, then up to 1,000,000), and
   before each measured sweep add 100 due now; time the claim alone (a rolled-back claim of 100) and one
   whole sweep (claim + fire 100, each in its own transaction, with a handler that does nothing); print
   the claim's query plan (it must search the partial index ix_timers_due);
2. lateness: with the 1,000,000 still pending, the sweeper loop (poll 0.2 s) runs for 30 s in a thread
   while timers become due at random moments (default 50/s); lateness = fired_at - due_at from the table;
3. with --reliability: reliability test 10 at full size (1,000 cases over 30 simulated days, DST and
   Thanksgiving, the sweeper killed 10 times; tests/integration/test_sla_thirty_days.py).

    .venv/bin/python benchmarks/p4_timers.py                 # SQLite, 1,000 vs 1,000,000
    .venv/bin/python benchmarks/p4_timers.py --postgres      # PostgreSQL (OPSDESK_TEST_POSTGRES_URL)
    .venv/bin/python benchmarks/p4_timers.py --quick         # 1,000 vs 100,000, 10 s of lateness
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/p4_timers.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, Executable, make_url, select, text

from benchmarks import common
from opsdesk.clock import SystemClock
from opsdesk.domain.records import Timer
from opsdesk.engine.timers import TimerSweeper
from opsdesk.ports import UnitOfWork
from opsdesk.storage import tables as t
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase, create_sql_engine
from opsdesk.storage.timers import CLAIMABLE, NEXT_DUE

DUE_NOW = 100
LEASE = timedelta(seconds=30)
TARGET_LATENESS_P99 = 1.0
#: A sweep at the big size may cost this many times the small size's and still count as "the same". The
#: claim alone is printed too: it grows with the index's depth (log n), a millisecond or two at most.
SAME_COST = 1.5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,1000000", help="pending counts to sweep at (ascending)")
    parser.add_argument("--quick", action="store_true", help="--sizes 1000,100000 --duration 10")
    parser.add_argument("--repeats", type=int, default=15, help="measured sweeps per size (median printed)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of the lateness run")
    parser.add_argument("--rate", type=float, default=50.0, help="timers becoming due per second")
    parser.add_argument("--poll", type=float, default=0.2, help="the sweeper's poll interval, seconds")
    parser.add_argument("--synchronous", default="FULL", choices=common.SYNCHRONOUS)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("OPSDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--reliability", action="store_true", help="also reliability test 10, full size")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file / PostgreSQL schema")
    parser.add_argument("--json", action="store_true", help="also print a P4_RESULT {json} line")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.duration = "1000,100000", 10.0
    args.sizes = [int(n) for n in args.sizes.split(",")]
    if args.sizes != sorted(args.sizes) or args.sizes[0] < 1:
        parser.error("--sizes must be positive and ascending")
    return args


@contextmanager
def database(args: argparse.Namespace, name: str) -> Iterator[SqlDatabase]:
    """A fresh, migrated database: a SQLite file, or a PostgreSQL schema of its own."""
    if args.postgres:
        schema = f"p4_{name}_{uuid.uuid4().hex[:8]}"
        admin = create_sql_engine(args.postgres_url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(args.postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
        engine = create_sql_engine(url.render_as_string(hide_password=False))
        cleanup = f"schema {schema}"
    else:
        directory = common.work_dir(f"p4-{name}")
        path = directory / "timers.sqlite3"
        engine = create_sql_engine(common.sqlite_url(path), sqlite_synchronous=args.synchronous)
        cleanup = str(path)
    migrate(engine)
    db = SqlDatabase(engine)
    try:
        yield db
    finally:
        db.dispose()
        if args.keep:
            print(f"kept {cleanup}")
        elif args.postgres:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        else:
            common.remove_sqlite(path)
            directory.rmdir()


def spread(n: int, now: datetime, rng: random.Random, prefix: str) -> Iterator[list[Timer]]:
    """``n`` pending timers due at random from an hour to 30 days ahead, in chunks of 20,000."""
    for start in range(0, n, 20_000):
        yield [
            Timer(
                f"{prefix}{i}",
                "bench",
                f"case-{i % 100_000}",
                now + timedelta(seconds=rng.uniform(3600, 30 * 86400)),
            )
            for i in range(start, min(n, start + 20_000))
        ]


def add_pending(db: SqlDatabase, n: int, now: datetime, rng: random.Random, prefix: str) -> float:
    started = time.perf_counter()
    for chunk in spread(n, now, rng, prefix):
        with db.unit_of_work() as uow:
            uow.timers.schedule(chunk)
            uow.commit()
    if db.backend == "postgresql":
        with db.engine.begin() as conn:  # fresh statistics, as autovacuum would give them in time
            conn.execute(text("ANALYZE timers"))
    else:  # the bulk insert's WAL written back, so each size is swept from the same steady state
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()
    return time.perf_counter() - started


def add_due_now(db: SqlDatabase, now: datetime, tag: str) -> None:
    with db.unit_of_work() as uow:
        uow.timers.schedule(
            [Timer(f"due-{tag}-{i}", "bench", "due", now - timedelta(seconds=i)) for i in range(DUE_NOW)]
        )
        uow.commit()


def nothing(_uow: UnitOfWork, _timer: Timer, _now: datetime) -> None:
    return None


def sweep_costs(dbs: dict[int, SqlDatabase], repeats: int) -> dict[int, dict[str, float]]:
    """Median milliseconds of the claim alone and of a whole sweep of 100, per pending count.

    The sizes take turns, sweep by sweep, so that the shared machine's noise falls on each alike.
    """
    clock = SystemClock()
    sweepers = {
        n: TimerSweeper(db, {"bench": nothing}, clock, worker="p4", lease=LEASE) for n, db in dbs.items()
    }
    samples: dict[int, tuple[list[float], list[float]]] = {n: ([], []) for n in dbs}
    for r in range(repeats):
        for n, db in dbs.items():
            add_due_now(db, clock.now(), f"{r}")
            claim, sweep = sweep_once(db, sweepers[n], clock.now())
            samples[n][0].append(claim)
            samples[n][1].append(sweep)
    return {
        n: {"claim_ms": statistics.median(claims) * 1e3, "sweep_ms": statistics.median(sweeps) * 1e3}
        for n, (claims, sweeps) in samples.items()
    }


def sweep_once(db: SqlDatabase, sweeper: TimerSweeper, now: datetime) -> tuple[float, float]:
    """Seconds of a claim that is rolled back (a look at the query), then of a real sweep."""
    with db.unit_of_work() as uow:  # left without commit
        started = time.perf_counter()
        claimed = uow.timers.claim_due(now, DUE_NOW, now + LEASE, "probe")
        claim = time.perf_counter() - started
    started = time.perf_counter()
    swept = sweeper.run_once()
    sweep = time.perf_counter() - started
    if len(claimed) != DUE_NOW or swept != DUE_NOW:
        raise common.BenchError(f"expected {DUE_NOW} due timers, claimed {len(claimed)}, swept {swept}")
    return claim, sweep


def query_plan(engine: Engine, statement: Executable, name: str) -> list[str]:
    """A query's plan, as the database gives it (EXPLAIN QUERY PLAN / EXPLAIN of the generic plan)."""
    now = datetime.now(UTC)
    with engine.connect() as conn:
        compiled = statement.compile(conn)
        if conn.dialect.name == "sqlite":
            params = compiled.construct_params({"now": now, "limit": DUE_NOW})
            values = [_sqlite_value(params[key]) for key in compiled.positiontup or ()]
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(values)).all()
            return [str(row[-1]) for row in rows]
        # A prepared statement's generic plan: what PostgreSQL settles on after a few executions.
        names: list[str] = []
        sql = re.sub(r"%\((\w+)\)s", lambda m: f"${_position(names, m.group(1))}", str(compiled))
        conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql(f"PREPARE {name} AS {sql}")
        # EXECUTE takes no bound parameters of its own: the values go in as literals.
        values = ", ".join(f"'{now.isoformat()}'" if key.startswith("now") else str(DUE_NOW) for key in names)
        rows = conn.exec_driver_sql(f"EXPLAIN EXECUTE {name}({values})").all()
        return [str(row[0]) for row in rows]


def _position(names: list[str], name: str) -> int:
    if name not in names:
        names.append(name)
    return names.index(name) + 1


def _sqlite_value(value: Any) -> Any:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ") if isinstance(value, datetime) else value


def lateness(db: SqlDatabase, args: argparse.Namespace, rng: random.Random) -> dict[str, float]:
    """Run the sweeper loop while timers become due at random moments; lateness from the table."""
    clock, stop = SystemClock(), threading.Event()
    sweeper = TimerSweeper(db, {"stream": nothing, "bench": nothing}, clock, worker="p4-loop", lease=LEASE)
    thread = threading.Thread(target=sweeper.run, args=(stop, args.poll), daemon=True)
    thread.start()
    scheduled, ends = 0, time.monotonic() + args.duration
    while time.monotonic() < ends:
        now = clock.now()
        batch = [
            Timer(f"stream-{scheduled + i}", "stream", "s", now + timedelta(seconds=rng.uniform(0.2, 2.0)))
            for i in range(int(args.rate / 10) or 1)
        ]
        with db.unit_of_work() as uow:
            uow.timers.schedule(batch)
            uow.commit()
        scheduled += len(batch)
        time.sleep(0.1)
    time.sleep(2.0 + 2 * args.poll)  # the last ones come due and fire
    stop.set()
    thread.join(timeout=30)
    c = t.timers.c
    with db.engine.connect() as conn:
        rows = conn.execute(select(c.due_at, c.fired_at).where(c.kind == "stream", c.status == "fired")).all()
    late = sorted((fired - due).total_seconds() for due, fired in rows)
    if not late:
        raise common.BenchError("no stream timer fired")
    return {
        "scheduled": scheduled,
        "fired": len(late),
        "p50_s": late[len(late) // 2],
        "p99_s": late[int(len(late) * 0.99)],
        "max_s": late[-1],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    backend = "PostgreSQL" if args.postgres else f"SQLite (synchronous={args.synchronous})"
    common.heading(f"P4 timers on {backend}: sweep cost at {', '.join(f'{n:,}' for n in args.sizes)} pending")
    rng = random.Random(4)
    if not args.postgres:
        common.BENCH_DIR.mkdir(parents=True, exist_ok=True)
        print(common.commit_probe(common.BENCH_DIR), flush=True)
    with ExitStack() as stack:
        dbs = {n: stack.enter_context(database(args, str(n))) for n in args.sizes}  # one database per size
        for n, db in dbs.items():
            seconds = add_pending(db, n, datetime.now(UTC), rng, "p")
            print(
                f"{n:,} pending inserted in {seconds:.1f} s; load average {common.load_average()}", flush=True
            )
        costs = sweep_costs(dbs, args.repeats)
        for n, cost in costs.items():
            print(
                f"  {n:>9,} pending: claim of {DUE_NOW} {cost['claim_ms']:.2f} ms, sweep (claim + fire "
                f"{DUE_NOW}, a transaction each) {cost['sweep_ms']:.1f} ms (medians of {args.repeats})"
            )
        biggest = dbs[args.sizes[-1]]
        plans = {
            "claim": query_plan(biggest.engine, CLAIMABLE, "p4_claim"),
            "idle poll (read-only look before a claim)": query_plan(biggest.engine, NEXT_DUE, "p4_next_due"),
        }
        for name, plan in plans.items():
            print(f"{name} query plan:\n  " + "\n  ".join(plan))
        print(
            f"lateness: {args.duration:.0f} s, {args.rate:.0f} timers/s due at random moments, poll "
            f"{args.poll} s, {args.sizes[-1]:,} pending; load average {common.load_average()}",
            flush=True,
        )
        late = lateness(biggest, args, rng)
    return report(args, backend, costs, plans, late)


def report(
    args: argparse.Namespace,
    backend: str,
    costs: dict[int, dict[str, float]],
    plans: dict[str, list[str]],
    late: dict[str, float],
) -> dict[str, Any]:
    small, big = costs[args.sizes[0]], costs[args.sizes[-1]]
    same = big["sweep_ms"] <= SAME_COST * small["sweep_ms"]
    uses_index = all(any("ix_timers_due" in line for line in plan) for plan in plans.values())
    print(
        f"P4  sweep {small['sweep_ms']:.1f} ms at {args.sizes[0]:,} vs {big['sweep_ms']:.1f} ms at "
        f"{args.sizes[-1]:,} pending (claim {small['claim_ms']:.2f} vs {big['claim_ms']:.2f} ms): "
        f"{common.verdict(same and uses_index)} (sweep the same within {SAME_COST}x; plan uses ix_timers_due: "
        f"{uses_index})"
    )
    met = late["p99_s"] <= TARGET_LATENESS_P99
    print(
        f"P4  lateness p50 {late['p50_s']:.3f} s, p99 {late['p99_s']:.3f} s, max {late['max_s']:.3f} s "
        f"({late['fired']:,}/{late['scheduled']:,} fired): {common.verdict(met)} (target p99 <= "
        f"{TARGET_LATENESS_P99} s); load average {common.load_average()}",
        flush=True,
    )
    return {
        "backend": backend,
        "costs": {str(n): cost for n, cost in costs.items()},
        "plans": plans,
        "lateness": late,
        "same_cost": same,
        "uses_index": uses_index,
        "lateness_met": met,
        "load_average": common.load_average(),
    }


def reliability() -> str:
    """Reliability test 10 at full size (1,000 cases); the checks are the test's own."""
    from tests.integration.test_sla_thirty_days import check_thirty_days

    directory = common.work_dir("p4-reliability")
    print(
        f"reliability test 10, 1,000 cases over 30 simulated days; load average {common.load_average()}",
        flush=True,
    )
    started = time.perf_counter()
    try:
        summary = check_thirty_days(directory, cases=1000)
    finally:
        common.remove_sqlite(directory / "opsdesk.db")
        directory.rmdir()
    print(
        f"P4  reliability 10 (full size): {summary}; {time.perf_counter() - started:.0f} s; "
        f"load average {common.load_average()}"
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = run(args)
        if args.reliability:
            result["reliability"] = reliability()
    except common.BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        common.emit_json("P4_RESULT", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
