"""O1: the outbox's claim and idle check with many pending actions, as a decision's order makes them wait (ADR 0042).

In process, as P4 and R4 are: opsdesk's SQL storage on a SQLite file under /tmp/opsdesk-bench (or a PostgreSQL
schema with ``--postgres URL``), filled with ``--decisions`` decisions (100,000: about a P6 day's refunds and
more) in one of three shapes, then ``claim_due(limit=50)`` and ``next_due_at()`` timed ``--repeats`` times each,
every claim rolled back so that each one sees the same table:

- independent: one action per decision, all due (every action at position 0: what a table held before 0013);
  decided one a second, a decision's actions at its time;
- pairs: a refund (position 0) and its email (position 1) per decision, all due: the emails wait;
- outage: the same pairs with every refund retrying in 5 minutes (Shopify down). With positions, each email is
  then postponed along with its refund, as the sender does on a retry (``postpone_after``, run here for each
  refund); without that, every email would be due and waiting, and the claim would read past all of them.

On a checkout without the position column (before ADR 0042) the same rows are written without it.

    .venv/bin/python benchmarks/o1_outbox_claim.py                     # 100,000 decisions, SQLite
    .venv/bin/python benchmarks/o1_outbox_claim.py --decisions 10000   # a quick look
    .venv/bin/python benchmarks/o1_outbox_claim.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/o1_outbox_claim.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from benchmarks import common
from opsdesk.domain.outbox import action_id
from opsdesk.domain.records import OutboxAction
from opsdesk.storage import tables as t
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase, create_sql_engine

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SHAPES = ("independent", "pairs", "outage")
POSITIONS = "position" in t.actions.c


def rows(shape: str, decisions: int) -> list[dict[str, Any]]:
    out = []
    for n in range(decisions):
        did, decided = (
            f"decision-{n:08d}",
            NOW - timedelta(seconds=decisions - n),
        )  # one a second, oldest first
        kinds = (
            [("refund", "shopify")] if shape == "independent" else [("refund", "shopify"), ("email", "smtp")]
        )
        for index, (kind, provider) in enumerate(kinds):
            retrying = shape == "outage" and kind == "refund"
            aid = action_id(did, index)
            row = {
                "id": aid,
                "decision_id": did,
                "shop": "s.myshopify.com",
                "order_id": n,
                "kind": kind,
                "provider": provider,
                "payload": "{}",
                "idempotency_key": f"opsdesk-{aid}",
                "status": "pending",
                "attempts": 1 if retrying else 0,
                "next_attempt_at": NOW + timedelta(minutes=5) if retrying else decided,
                "last_error": "",
                "history": "[]",
                "created_at": decided,
            }
            out.append({**row, "position": index} if POSITIONS else row)
    return out


def _postpone(db: SqlDatabase, filled: list[dict[str, Any]]) -> None:
    """What the sender writes when a refund is to be tried again: its emails are not due before it."""
    fields = ("id", "decision_id", "shop", "order_id", "kind", "provider", "idempotency_key", "created_at")
    with db.unit_of_work() as uow:
        for row in filled:
            if row["kind"] == "refund":
                refund = OutboxAction(
                    **{name: row[name] for name in fields},
                    payload={},
                    next_attempt_at=row["next_attempt_at"],
                    position=0,
                )
                uow.outbox.postpone_after(refund)
        uow.commit()


def timed(db: SqlDatabase, repeats: int, call: Callable[[Any], object]) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeats):
        with db.unit_of_work() as uow:  # rolled back: every claim sees the same table
            start = time.perf_counter()
            result = call(uow)
            times.append((time.perf_counter() - start) * 1000)
    return times, result


def run_shape(url: str, shape: str, decisions: int, repeats: int) -> dict[str, Any]:
    engine = (
        create_sql_engine(url, sqlite_synchronous="OFF")
        if url.startswith("sqlite")
        else create_sql_engine(url)
    )
    migrate(engine)
    db = SqlDatabase(engine)
    try:
        filled = rows(shape, decisions)
        with engine.begin() as conn:
            for start in range(0, len(filled), 10_000):
                conn.execute(insert(t.actions), filled[start : start + 10_000])
            if engine.dialect.name == "postgresql":  # as autovacuum would have by then
                conn.execute(text("ANALYZE actions"))
        if POSITIONS and shape == "outage":
            _postpone(db, filled)
        claim, claimed = timed(
            db, repeats, lambda uow: uow.outbox.claim_due(NOW, 50, NOW + timedelta(minutes=1), "w")
        )
        due, next_due = timed(db, repeats, lambda uow: uow.outbox.next_due_at())
        return {
            "shape": shape,
            "actions": len(filled),
            "claimed": len(claimed),  # type: ignore[arg-type]
            "claim_p50_ms": statistics.median(claim),
            "claim_p95_ms": _p95(claim),
            "next_due_p50_ms": statistics.median(due),
            "next_due": str(next_due),
        }
    finally:
        db.dispose()


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.95) - 1)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument(
        "--postgres", default="", help="a PostgreSQL URL; each shape gets a schema of its own"
    )
    args = parser.parse_args(argv)
    print(f"{common.machine_line()}; positions: {'yes (ADR 0042)' if POSITIONS else 'no (before ADR 0042)'}")
    directory = common.work_dir("o1")
    for shape in SHAPES:
        print(f"load average: {common.load_average()}")
        if args.postgres:
            url = _fresh_schema(args.postgres, f"o1_{shape}")
        else:
            path = directory / f"{shape}.db"
            common.remove_sqlite(path)
            url = common.sqlite_url(path)
        result = run_shape(url, shape, args.decisions, args.repeats)
        print("  ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()))
        if not args.postgres:
            common.remove_sqlite(path)
    directory.rmdir()


def _fresh_schema(url: str, schema: str) -> str:
    engine = create_sql_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{url}?options=-csearch_path%3D{schema}"


if __name__ == "__main__":
    main()
