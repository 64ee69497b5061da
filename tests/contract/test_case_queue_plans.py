"""The queue's page of ended cases (latest ended first, ADR 0052) reads the ended-cases index on both databases.

The index is on an expression (``coalesce(resolved_at, opened_at)``, migration 0014), which alembic cannot
compare with the declared tables, and which a database uses only when the query's expression is the same: so the
plan is checked. Without it, a page of resolved cases sorted every resolved case of the desk's history
(benchmarks/p5_case_queue.py, 50,000 resolved: PostgreSQL p95 192 ms, a parallel sequential scan).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text

from opsdesk.domain.queue_cursor import DUE, ENDED, UNDATED, QueueMark
from opsdesk.domain.records import CaseFilter
from opsdesk.storage.sql import SqlDatabase


def _statements(db: SqlDatabase, where: CaseFilter, after: QueueMark | None = None) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.unit_of_work(read_only=True) as uow:
            uow.cases.search(where, 50, 0, after)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return seen


def _plan(db: SqlDatabase, statement: str, parameters: Any) -> str:
    with db.engine.connect() as conn:
        if db.backend == "postgresql":  # a few rows: let the plan say whether the index can give the order
            conn.execute(text("SET enable_seqscan = off"))
            conn.execute(text("SET enable_sort = off"))
        raw = conn.connection.cursor()
        raw.execute(("EXPLAIN QUERY PLAN " if db.backend == "sqlite" else "EXPLAIN ") + statement, parameters)
        plan = " | ".join(str(row[-1] if db.backend == "sqlite" else row[0]) for row in raw.fetchall())
        raw.close()
    return plan


def test_a_page_of_resolved_cases_reads_the_ended_index_in_its_order(sql_db: SqlDatabase) -> None:
    statements = _statements(sql_db, CaseFilter(status=("resolved",)))
    assert len(statements) == 1, statements
    plan = _plan(sql_db, *statements[0])
    assert "ix_cases_ended" in plan, plan
    assert "TEMP B-TREE" not in plan.upper() and "Sort" not in plan, plan  # read in order, not sorted


AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("where", "index"), [
    (CaseFilter(status=("resolved",), queue="refunds"), "ix_cases_ended_queue"),
    (CaseFilter(status=("resolved",), owner="ada"), "ix_cases_ended_owner"),
], ids=["queue", "owner"])
def test_a_page_of_a_queues_or_an_owners_ended_cases_reads_its_own_index_in_order(
    sql_db: SqlDatabase, where: CaseFilter, index: str
) -> None:
    """Migration 0015: the queue's (or owner's) resolved cases, not every resolved case read to find them, nor
    all of the queue's sorted for one page."""
    for after in (None, QueueMark(ENDED, (AT, "c-1"))):
        [statement] = _statements(sql_db, where, after)
        plan = _plan(sql_db, *statement)
        assert index in plan, plan
        assert "TEMP B-TREE" not in plan.upper() and "Sort" not in plan, plan


#: Per run of the queue, a mark in it, the index that serves it, and what says the scan starts at the mark.
MARKS = [
    (QueueMark(DUE, (AT, AT, "c-1")), "ix_cases_due", {"sqlite": "due_at>?", "postgresql": "due_at >= "}),
    (QueueMark(UNDATED, (AT, "c-1")), "ix_cases_status", {"sqlite": "opened_at>?", "postgresql": "opened_at >= "}),
    (QueueMark(ENDED, (AT, "c-1")), "ix_cases_ended", {"sqlite": "<expr><?", "postgresql": "COALESCE(resolved_at"}),
]


@pytest.mark.parametrize(("mark", "index", "start"), MARKS, ids=["due", "undated", "ended"])
def test_a_page_after_a_cursor_starts_in_its_runs_index_at_the_mark(
    sql_db: SqlDatabase, mark: QueueMark, index: str, start: dict[str, str]
) -> None:
    """ADR 0059: the page after a cursor reads the index of the mark's run from the mark, as the first page reads
    it from its start: no more sorting than the first page (only ties in the run's first column, as there)."""
    statements = _statements(sql_db, CaseFilter(status=("open", "resolved")), mark)
    assert len(statements) == 3 - mark.run, statements  # the mark's run, and the runs after it (on an empty table)
    plan = _plan(sql_db, *statements[0])
    assert index in plan and start[sql_db.backend] in plan, plan
    if sql_db.backend == "sqlite":
        assert "TEMP B-TREE FOR ORDER BY" not in plan.upper(), plan  # at most the right part, as the first page
    else:
        assert "Index Cond" in plan and not re.search(r"(?<!Incremental )Sort  \(", plan), plan


@pytest.mark.parametrize(("where", "index"), [
    (CaseFilter(status=("open",), queue="refunds"), "ix_cases_queue"),
    (CaseFilter(status=("open",), owner="ada"), "ix_cases_owner"),
], ids=["queue", "owner"])
def test_the_dashboards_next_page_of_a_queue_or_my_cases_starts_in_its_index_at_the_mark(
    sql_db: SqlDatabase, where: CaseFilter, index: str
) -> None:
    """The dashboard's queue pages by the same cursor (ADR 0052 amended in session 14): its one-queue and my-cases
    views after a mark read their own ``(queue|owner, status, due_at)`` index from the mark, not the whole run."""
    start = {"sqlite": "due_at>?", "postgresql": "due_at >= "}[sql_db.backend]
    [statement, *_] = _statements(sql_db, where, QueueMark(DUE, (AT, AT, "c-1")))
    plan = _plan(sql_db, *statement)
    assert index in plan and start in plan, plan
    if sql_db.backend == "sqlite":
        assert "TEMP B-TREE FOR ORDER BY" not in plan.upper(), plan
    else:
        assert "Index Cond" in plan and not re.search(r"(?<!Incremental )Sort  \(", plan), plan
