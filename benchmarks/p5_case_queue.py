"""P5: the case queue with 100,000 open cases answers in p95 <= 100 ms server time (reference: 1,000).

For each size the script fills a fresh database (SQLite; PostgreSQL too with ``--postgres``) with open
cases spread over queues, owners, statuses and deadlines as a busy desk has them (plus as many resolved
and closed ones, ``--done-ratio``), then times, ``--requests`` times each:

- the repository: ``uow.cases.search`` (one page of 50) and ``uow.cases.count`` for the three common
  filters: every active case by deadline, one queue, one owner;
- the endpoint: ``GET /api/v1/cases`` with the same filters, served in process (the ASGI app through
  Starlette's TestClient), timed from the request entering the app to the last byte of the response:
  bearer-token check, count, search and JSON included.

It prints p50/p95 per size, the 100,000/1,000 ratio, and the plan of every query (``EXPLAIN QUERY PLAN``
on SQLite, ``EXPLAIN`` on PostgreSQL) with a note when a plan scans the table or sorts every row.
PostgreSQL gets ``VACUUM ANALYZE`` after the fill, as autovacuum would give it; SQLite gets nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from starlette.types import ASGIApp, Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common
from opsdesk import app as composition
from opsdesk.config import load_settings
from opsdesk.domain.records import CaseFilter
from opsdesk.services import tokens
from opsdesk.storage import bulk
from opsdesk.storage import tables as t
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase, create_sql_engine
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TARGET_MS = 100.0
QUEUES = {  # queue: (share of cases, team, SLA hours)
    "refunds": (0.34, "support", 24), "returns": (0.18, "support", 4), "fulfilment": (0.14, "warehouse", 8),
    "disputes": (0.08, "finance", 4), "warehouse": (0.07, "warehouse", 2), "pricing": (0.05, "pricing", 1),
    "inventory": (0.05, "warehouse", 4), "risk": (0.04, "risk", 2), "payments": (0.03, "finance", 4),
    "automation": (0.02, "ops", 1),
}
AGENTS = [f"agent-{n:02d}" for n in range(40)]
ACTIVE = [("open", 0.25), ("assigned", 0.35), ("in_progress", 0.28), ("waiting_customer", 0.09),
          ("waiting_supplier", 0.03)]
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SHOPS = 3


@dataclass(frozen=True)
class Probe:
    name: str
    where: CaseFilter
    query: dict[str, str]


PROBES = [
    Probe("active by due", CaseFilter(), {}),
    Probe("one queue", CaseFilter(queue="refunds"), {"queue": "refunds"}),
    Probe("one owner", CaseFilter(owner="agent-07"), {"owner": "agent-07"}),
    # Resolved work is looked at from the latest (ADR 0052): as many resolved cases as the fill's share of them.
    Probe("resolved, latest first", CaseFilter(status=("resolved",)), {"status": "resolved"}),
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="open cases per run, comma-separated")
    parser.add_argument("--requests", type=int, default=200, help="timed calls per probe (default 200)")
    parser.add_argument("--done-ratio", type=float, default=1.0, help="resolved/closed cases per open one")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help=f"server (default {DEFAULT_POSTGRES})")
    parser.add_argument("--analyze", action="store_true", help="ANALYZE SQLite after filling (PostgreSQL: always)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files and PostgreSQL schemas")
    parser.add_argument("--json", action="store_true", help="also print a P5_RESULT {json} line")
    return parser.parse_args(argv)


# Filling


def case_rows(n: int, done: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """``n`` active and ``done`` resolved/closed cases, opened over the last 14 days."""
    names, weights = list(QUEUES), [share for share, _, _ in QUEUES.values()]
    statuses, status_weights = [s for s, _ in ACTIVE], [w for _, w in ACTIVE]
    for i in range(n + done):
        queue = rng.choices(names, weights)[0]
        _, team, hours = QUEUES[queue]
        status = rng.choices(statuses, status_weights)[0] if i < n else rng.choice(["resolved", "closed"])
        opened = NOW - timedelta(seconds=rng.uniform(0, 14 * 86_400))
        yield row(i, queue, team, hours, status, opened, rng)


def row(i: int, queue: str, team: str, hours: int, status: str, opened: datetime, rng: random.Random) -> dict:
    active = status not in ("resolved", "closed")
    person = status != "open" or rng.random() < 0.2
    due = opened + timedelta(hours=hours * rng.uniform(0.5, 3)) if active and "waiting" not in status else None
    return {
        "id": uuid.UUID(int=rng.getrandbits(128)).hex, "shop": f"shop-{i % SHOPS + 1}.myshopify.com",
        "kind": "refund" if queue == "refunds" else "order", "queue": queue, "title": f"case {i} in {queue}",
        "reason": "rule escalated it", "order_id": 5_000_000_000_000_000_000 + i, "source": f"decision:{i}",
        "priority": rng.choice(["normal"] * 8 + ["high", "low"]), "status": status,
        "detail": orjson.dumps({"sla": {"policy": f"{queue}-sla", "targets": {"resolution": hours}}}).decode(),
        "opened_at": opened, "owner": rng.choice(AGENTS) if person else f"team:{team}", "version": 2,
        "updated_at": opened, "first_response_at": None, "resolved_at": None if active else NOW,
        "resolution": None if active else "no_action", "escalation_level": 0, "due_at": due,
        "open_key": f"shop|{i}|{queue}" if active else None,
    }


def fill(engine: Engine, n: int, done: int, seed: int, analyze: bool) -> float:
    started = time.perf_counter()
    rows = case_rows(n, done, random.Random(seed))
    while chunk := [r for _, r in zip(range(5000), rows, strict=False)]:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                bulk.write(conn, t.cases, chunk)
            else:  # a plain multi-row insert: the repositories' upsert path counts rows, not needed here
                conn.execute(t.cases.insert(), chunk)
    # PostgreSQL's autovacuum analyzes a table after a bulk load like this one; without statistics the
    # planner takes 100,000 rows for a handful. opsdesk never runs ANALYZE on SQLite (``--analyze`` does).
    if analyze or engine.dialect.name != "sqlite":
        statement = "ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE cases"
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(statement))
    return time.perf_counter() - started


# Measuring


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": round(statistics.median(ordered), 2), "p95": round(ordered[int(0.95 * len(ordered)) - 1], 2),
            "max": round(ordered[-1], 2)}


def timed(calls: int, work: Callable[[], Any]) -> list[float]:
    work()  # warm the caches and the code path once
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def repository_times(db: SqlDatabase, probe: Probe, calls: int) -> dict[str, dict[str, float]]:
    def search() -> None:
        with db.unit_of_work(read_only=True) as uow:
            uow.cases.search(probe.where, 50, 0)

    def count() -> None:
        with db.unit_of_work(read_only=True) as uow:
            uow.cases.count(probe.where)

    return {"search": percentiles(timed(calls, search)), "count": percentiles(timed(calls, count))}


class ServerTimer:
    """ASGI middleware: the time from a request entering the app to the last byte of its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.samples = app, []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.samples.append((time.perf_counter() - started) * 1000)

        await self.app(scope, receive, timed_send)


def endpoint_times(url: str, config: Path, probe: Probe, calls: int, token: str) -> dict[str, float]:
    settings = load_settings(str(config), url)
    desk = composition.build(settings, clock=ManualClock(NOW), connectors={}, playbooks=[], create_schema=False)
    timer = ServerTimer(create_app(desk, background=False))
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(timer) as client:
        for _ in range(calls + 1):
            response = client.get("/api/v1/cases", params=probe.query, headers=headers)
            assert response.status_code == 200, response.text
    desk.db.dispose()  # type: ignore[attr-defined]  # the SQL database of the composition root
    return percentiles(timer.samples[1:])


# Plans


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (with parameters) run on ``engine`` inside the block."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM cases" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def plans(db: SqlDatabase, probe: Probe) -> list[str]:
    with captured(db.engine) as seen, db.unit_of_work(read_only=True) as uow:
        uow.cases.count(probe.where)
        uow.cases.search(probe.where, 50, 0)
    out = []
    prefix = "EXPLAIN QUERY PLAN " if db.backend == "sqlite" else "EXPLAIN "
    # The count, then the first of the search's per-status statements (the others differ only in status).
    with db.engine.connect() as conn:
        for statement, parameters in seen[:2]:
            raw = conn.connection.cursor()
            raw.execute(prefix + statement, parameters)
            lines = [str(r[-1] if db.backend == "sqlite" else r[0]) for r in raw.fetchall()]
            out.append(("count: " if "count(" in statement else "search (per status): ") + " | ".join(lines))
            raw.close()
    return out


def verdict(plan: str) -> str:
    lowered = plan.lower()
    if ("scan cases" in lowered and "using" not in lowered) or "seq scan on cases" in lowered:
        return "FULL SCAN"
    full_sort = "temp b-tree for order by" in lowered or "->  sort " in lowered or lowered.startswith("sort")
    if plan.startswith("search") and full_sort and "right part" not in lowered:
        return "index + sort of every match"
    return "index order" if plan.startswith("search") else "index"


# Runs


@dataclass
class Backend:
    name: str
    url: str
    engine: Engine
    drop: Callable[[], None]


def sqlite_backend(directory: Path, n: int) -> Backend:
    path = directory / f"p5-{n}.db"
    url = common.sqlite_url(path)
    engine = create_sql_engine(url, sqlite_synchronous="NORMAL")

    def drop() -> None:
        engine.dispose()
        common.remove_sqlite(path)

    return Backend("sqlite", url, engine, drop)


def postgres_backend(server: str, n: int) -> Backend:
    schema = f"opsdesk_p5_{n}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in server else "?"
    url = f"{server}{sep}options=-csearch_path%3D{schema}"
    engine = create_sql_engine(url)

    def drop() -> None:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return Backend("postgresql", url, engine, drop)


def measure(backend: Backend, n: int, args: argparse.Namespace) -> dict[str, Any]:
    migrate(backend.engine)
    fill_s = fill(backend.engine, n, int(n * args.done_ratio), args.seed, args.analyze)
    db = SqlDatabase(backend.engine)
    with db.unit_of_work() as uow:
        token = tokens.create_token(uow, "bench", "viewer", NOW)
        uow.commit()
    print(f"  {backend.name} {n:,} open cases: filled in {fill_s:.1f} s; load average {common.load_average()}")
    result: dict[str, Any] = {"fill_seconds": round(fill_s, 1), "probes": {}}
    for probe in PROBES:
        found = {**repository_times(db, probe, args.requests),
                 "endpoint": endpoint_times(backend.url, args.config, probe, args.requests, token),
                 "plans": plans(db, probe)}
        result["probes"][probe.name] = found
        print(f"    {probe.name:14} search p50 {found['search']['p50']:7.2f} p95 {found['search']['p95']:7.2f} | "
              f"count p50 {found['count']['p50']:7.2f} p95 {found['count']['p95']:7.2f} | "
              f"GET p50 {found['endpoint']['p50']:7.2f} p95 {found['endpoint']['p95']:7.2f} ms")
        for plan in found["plans"]:
            print(f"      [{verdict(plan)}] {plan}")
    return result


def compare(results: dict[str, dict[int, Any]], sizes: list[int]) -> None:
    small, big = sizes[0], sizes[-1]
    common.heading(f"P5 summary: p95 ms at {small:,} vs {big:,} open cases (target p95 <= {TARGET_MS:.0f} ms)")
    for backend, by_size in results.items():
        for probe in PROBES:
            for part in ("search", "count", "endpoint"):
                a = by_size[small]["probes"][probe.name][part]["p95"]
                b = by_size[big]["probes"][probe.name][part]["p95"]
                mark = "ok" if part != "endpoint" or b <= TARGET_MS else "OVER TARGET"
                print(f"  {backend:10} {probe.name:14} {part:8} {a:8.2f} -> {b:8.2f} ms  x{b / a:6.1f}  {mark}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in args.sizes.split(",")]
    directory = common.work_dir("p5")
    # The fill's shops: a token's role holds in the shops the desk serves, none without them (ADR 0047).
    args.config = common.write_config(directory, shops=SHOPS, synchronous="NORMAL")
    results: dict[str, dict[int, Any]] = {}
    makers: list[tuple[str, Callable[[int], Backend]]] = [("sqlite", lambda n: sqlite_backend(directory, n))]
    if args.postgres:
        makers.append(("postgresql", lambda n: postgres_backend(args.postgres_url, n)))
    for name, make in makers:
        common.heading(f"P5 on {name}")
        for n in sizes:
            backend = make(n)
            try:
                results.setdefault(name, {})[n] = measure(backend, n, args)
            finally:
                if not args.keep:
                    backend.drop()
    compare(results, sizes)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    if args.json:
        print("P5_RESULT " + orjson.dumps(results, option=orjson.OPT_NON_STR_KEYS).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
