"""P5 (page): the dashboard's queue page with 100,000 open cases renders in p95 <= 100 ms server time.

The same fill as ``p5_case_queue.py`` (open cases over ten queues, 40 agents, five active statuses, as
many resolved and closed ones), except that every active case carries real SLA clocks on a business
calendar (weekdays 09:00-17:30 with US holidays), so each row's warning moment is computed as the page
does it, and every open case's order is stored (the page shows the order's number, read in one query).
Then, for 1,000 and 100,000 open cases, ``--requests`` times each, the server time (the ASGI app through
Starlette's TestClient, from the request entering the app to the last byte of the HTML) of:

- ``GET /queue?view=all``: every active case, due first (page 1 of 50 rows);
- ``GET /queue?view=all&queue=refunds``: one queue;
- ``GET /queue?view=mine``: one agent's cases (signed in as ``agent-07``);
- ``GET /queue/rows?view=all``: the fragment htmx polls every few seconds (the live updates' cost);
- the page page 1's Next link goes to (``view=all&page=2&cursor=…``): a page after the API's cursor.

With ``--postgres`` the same on PostgreSQL (after ``VACUUM ANALYZE``, as autovacuum would give it).
Every request is signed in with a real session cookie (its check is part of the time) and renders the
full Jinja template with countdowns. Prints p50/p95/max per size and the 100,000/1,000 ratio.
"""

from __future__ import annotations

import argparse
import html
import random
import re
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common
from benchmarks import p5_case_queue as api
from opsdesk import app as composition
from opsdesk.config import load_settings
from opsdesk.domain.access import SessionPolicy
from opsdesk.domain.events import LineItem, OrderId, OrderSnapshot, ShopDomain
from opsdesk.domain.money import Money
from opsdesk.domain.orders import OrderState
from opsdesk.services import sessions, users
from opsdesk.storage import bulk
from opsdesk.storage import tables as t
from opsdesk.storage.codec import encode_order
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app

NOW = api.NOW
TARGET_MS = 100.0
PROBES = {
    "all, due first": "/queue?view=all",
    "one queue": "/queue?view=all&queue=refunds",
    "my cases": "/queue?view=mine",
    "live rows fragment": "/queue/rows?view=all",
    "next page (cursor)": "/queue?view=all",  # followed: the address its Next link gives
}
NEXT_LINK = re.compile(r'<a href="(/queue\?[^"]+)" rel="next"')
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="open cases per run, comma-separated")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per probe (default 200)")
    parser.add_argument("--done-ratio", type=float, default=1.0, help="resolved/closed cases per open one")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--postgres-url", default=api.DEFAULT_POSTGRES, help=f"server (default {api.DEFAULT_POSTGRES})")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files and PostgreSQL schemas")
    parser.add_argument("--json", action="store_true", help="also print a P5_PAGE_RESULT {json} line")
    return parser.parse_args(argv)


def write_config(directory: Path) -> Path:
    """Queues, teams, agents and SLA policies on a business calendar, as the fill assumes."""
    teams: dict[str, Any] = {}
    for _, team, _ in api.QUEUES.values():
        teams.setdefault(team, {"members": [], "calendar": "office"})
    for n, agent in enumerate(api.AGENTS):
        teams[sorted(teams)[n % len(teams)]]["members"].append(agent)
    config = {
        "shops": [{"domain": f"shop-{n}.myshopify.com"} for n in (1, 2, 3)],
        "calendars": {"office": {"timezone": "America/New_York", "hours": {day: ["09:00-17:30"] for day in WEEKDAYS},
                                 "holidays": {"country": "US"}}},
        "sla_policies": {f"{q}-sla": {"calendar": "office", "targets": {"resolution": f"{h}h"}, "warn_at": [0.5, 0.8]}
                         for q, (_, _, h) in api.QUEUES.items()},
        "queues": {q: {"team": team, "sla": f"{q}-sla"} for q, (_, team, _) in api.QUEUES.items()},
        "teams": teams,
        "people": {a: {"name": a.replace("-", " ").title()} for a in api.AGENTS},
    }
    path = directory / "opsdesk.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def with_clocks(row: dict[str, Any], hours: int) -> dict[str, Any]:
    """The row with a running resolution clock (a waiting case's clock is paused since it started waiting)."""
    opened = row["opened_at"].isoformat()
    waiting = row["status"].startswith("waiting")
    clock = {"started_at": opened, "pauses": [], "paused_since": opened if waiting else None, "met_at": None,
             "hard_deadline": None, "deadline": row["due_at"].isoformat() if row["due_at"] else None}
    row["detail"] = orjson.dumps({"sla": {"policy": f"{row['queue']}-sla", "clocks": {"resolution": clock}},
                                  "hours": hours}).decode()
    return row


def order_row(row: dict[str, Any]) -> dict[str, Any]:
    """The case's order, stored as the pipeline stores one (so the page's order-number look-up is real)."""
    oid = OrderId(row["order_id"])
    snap = OrderSnapshot(
        id=oid, name=f"#{row['order_id'] % 1_000_000}", email=f"c{row['order_id'] % 1_000_000}@example.com",
        customer_id=7, currency="USD", total=Money(Decimal("80.00"), "USD"), subtotal=Money(Decimal("80.00"), "USD"),
        total_discounts=Money(Decimal("0"), "USD"), financial_status="paid", fulfillment_status="fulfilled",
        cancelled_at=None, created_at=row["opened_at"], updated_at=row["opened_at"], tags=(), source_name="web",
        line_items=(LineItem(oid, "SKU-1", 1, 1, 1, Decimal("80.00"), Decimal("0")),), discount_codes=(),
        shipping_country="US")
    state = OrderState(shop=ShopDomain(row["shop"]), order_id=oid, snapshot=snap, owner=row["owner"],
                       last_event_at=row["opened_at"], last_event="return.requested")
    return {"shop": row["shop"], "order_id": oid, "name": snap.name, "email": snap.email, "owner": row["owner"],
            "payment_status": "paid", "fulfilment_status": "fulfilled", "ship_by": None,
            "last_event_at": row["opened_at"], "state": encode_order(state)}


def fill(engine: Engine, n: int, done: int, seed: int) -> float:
    migrate(engine)
    rng = random.Random(seed)
    names, weights = list(api.QUEUES), [share for share, _, _ in api.QUEUES.values()]
    statuses, status_weights = [s for s, _ in api.ACTIVE], [w for _, w in api.ACTIVE]
    started = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    for i in range(n + done):
        queue = rng.choices(names, weights)[0]
        _, team, hours = api.QUEUES[queue]
        status = rng.choices(statuses, status_weights)[0] if i < n else rng.choice(["resolved", "closed"])
        opened = NOW - timedelta(seconds=rng.uniform(0, 14 * 86_400))
        chunk.append(with_clocks(api.row(i, queue, team, hours, status, opened, rng), hours))
        if len(chunk) == 5000 or i == n + done - 1:
            orders = [order_row(r) for r in chunk if r["resolved_at"] is None]
            with engine.begin() as conn:
                if engine.dialect.name == "sqlite":
                    bulk.write(conn, t.cases, chunk)
                    bulk.write(conn, t.orders, orders)
                else:  # plain multi-row inserts (an empty list would insert one row of defaults)
                    conn.execute(t.cases.insert(), chunk)
                    if orders:
                        conn.execute(t.orders.insert(), orders)
            chunk = []
    if engine.dialect.name != "sqlite":  # as autovacuum would (see p5_case_queue.py)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE cases"))
            conn.execute(text("VACUUM ANALYZE orders"))
    return time.perf_counter() - started


def session_cookie(db: SqlDatabase) -> str:
    with db.unit_of_work() as uow:
        user = users.add_user(uow, "agent-07", "bench-password-1", "Agent 07", {"*": "agent"}, "agent-07", now=NOW)
        token = sessions.start_session(uow, user, now=NOW, policy=SessionPolicy(idle_seconds=1800,
                                                                                absolute_seconds=43200))
        uow.commit()
    return token


def measure(directory: Path, backend: api.Backend, n: int, args: argparse.Namespace) -> dict[str, Any]:
    fill_s = fill(backend.engine, n, int(n * args.done_ratio), args.seed)
    settings = load_settings(str(write_config(directory)), backend.url)
    desk = composition.build(settings, clock=ManualClock(NOW), connectors={}, playbooks=[], create_schema=True)
    cookie = session_cookie(desk.db)  # type: ignore[arg-type]
    print(f"  {backend.name} {n:,} open cases: filled in {fill_s:.1f} s; load average {common.load_average()}")
    timer = api.ServerTimer(create_app(desk, background=False))
    result: dict[str, Any] = {"fill_seconds": round(fill_s, 1), "probes": {}}
    with TestClient(timer) as client:
        client.cookies.set("opsdesk_session", cookie)
        for name, first in PROBES.items():
            target = first
            if name.startswith("next page"):
                found_link = NEXT_LINK.search(client.get(first).text)
                assert found_link, "page 1 has no Next link"
                target = html.unescape(found_link.group(1))
            timer.samples.clear()
            rows = 0
            for _ in range(args.requests + 1):
                response = client.get(target)
                assert response.status_code == 200, response.text[:500]
                rows = response.text.count('<tr data-id="')
            found = {**api.percentiles(timer.samples[1:]), "rows": rows, "bytes": len(response.content)}
            result["probes"][name] = found
            print(f"    {name:20} p50 {found['p50']:7.2f}  p95 {found['p95']:7.2f}  max {found['max']:7.2f} ms"
                  f"  ({rows} rows, {found['bytes']:,} bytes)")
    desk.db.dispose()  # type: ignore[attr-defined]
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    directory = common.work_dir("p5-page")
    makers: list[tuple[str, Callable[[int], api.Backend]]] = [("sqlite", lambda n: api.sqlite_backend(directory, n))]
    if args.postgres:
        makers.append(("postgresql", lambda n: api.postgres_backend(args.postgres_url, n)))
    results: dict[str, dict[int, Any]] = {}
    for name, make in makers:
        common.heading(f"P5 (page): the queue page on {name}")
        for n in sizes:
            backend = make(n)
            try:
                results.setdefault(name, {})[n] = measure(directory, backend, n, args)
            finally:
                if not args.keep:
                    backend.drop()
    small, big = sizes[0], sizes[-1]
    common.heading(f"P5 (page) summary: p95 ms at {small:,} vs {big:,} open cases (target p95 <= {TARGET_MS:.0f} ms)")
    for name, by_size in results.items():
        for probe in PROBES:
            a, b = by_size[small]["probes"][probe]["p95"], by_size[big]["probes"][probe]["p95"]
            mark = "ok" if b <= TARGET_MS else "OVER TARGET"
            print(f"  {name:10} {probe:20} {a:8.2f} -> {b:8.2f} ms  x{b / a:5.2f}  {mark}")
    if args.json:
        print("P5_PAGE_RESULT " + orjson.dumps(results, option=orjson.OPT_NON_STR_KEYS).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
