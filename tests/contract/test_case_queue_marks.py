"""Pages after a mark (ADR 0059) on memory, SQLite and PostgreSQL: followed from the first page, they are the queue
in its one order, across statuses, ties and missing deadlines; and what opens or ends before the mark moves
nothing after it."""

from __future__ import annotations

import random

from opsdesk.domain import case_transitions as tr
from opsdesk.domain.queue_cursor import queue_mark
from opsdesk.domain.records import CaseFilter
from opsdesk.ports import Database
from tests.contract.case_records import at, opened, record
from tests.contract.transactions import read, write

STATUSES = ["open", "assigned", "in_progress", "waiting_customer", "waiting_supplier", "resolved", "closed"]


def walk(db: Database, where: CaseFilter, limit: int) -> list[str]:
    """Every case of ``where``, page after page, each page after the last case of the one before."""
    seen: list[str] = []
    page = read(db, lambda uow: uow.cases.search(where, limit))
    while page:
        seen += [c.id for c in page]
        mark = queue_mark(page[-1])
        page = read(db, lambda uow, mark=mark: uow.cases.search(where, limit, 0, mark))
    return seen


def test_pages_after_marks_are_the_queue_in_its_order(any_db: Database) -> None:
    rng = random.Random(7)
    for n in range(60):
        cid, due = f"k{n:02d}", rng.choice([None, at(100), at(200), at(rng.randrange(300))])
        opened(any_db, record(cid, status=rng.choice(STATUSES), queue=rng.choice(["refunds", "returns"]),
                              opened_at=at(rng.randrange(5)), order_id=n))
        write(any_db, lambda uow, cid=cid, due=due: uow.cases.set_due(cid, due))
    for where in (
        CaseFilter(),
        CaseFilter(queue="returns"),
        CaseFilter(active_only=False),
        CaseFilter(status=("closed", "assigned")),
    ):
        whole = [c.id for c in read(any_db, lambda uow, where=where: uow.cases.search(where, 100))]
        assert walk(any_db, where, 7) == whole, where
        assert walk(any_db, where, 1) == whole, where


def test_what_opens_or_ends_before_the_mark_moves_nothing_after_it(any_db: Database) -> None:
    for n in range(6):
        opened(any_db, record(f"c{n}", opened_at=at(n), order_id=n))
        write(any_db, lambda uow, n=n: uow.cases.set_due(f"c{n}", at(100 + n)))
    first = read(any_db, lambda uow: uow.cases.search(CaseFilter(), 3))
    assert [c.id for c in first] == ["c0", "c1", "c2"]
    write(any_db, lambda uow: uow.cases.save(tr.resolve(uow.cases.get("c1"), "deny", "ada", at(10)), 1))
    for n in (98, 99):  # two open, due before every other one
        opened(any_db, record(f"new{n}", opened_at=at(9), order_id=n))
        write(any_db, lambda uow, n=n: uow.cases.set_due(f"new{n}", at(50)))
    after = read(any_db, lambda uow: uow.cases.search(CaseFilter(), 3, 0, queue_mark(first[-1])))
    assert [c.id for c in after] == ["c3", "c4", "c5"]
    by_offset = read(any_db, lambda uow: uow.cases.search(CaseFilter(), 3, 3))
    assert [c.id for c in by_offset] == ["c2", "c3", "c4"]  # shifted by one: c2 again
