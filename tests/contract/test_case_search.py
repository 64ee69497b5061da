"""What every backend promises about searching, counting and paging cases, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from opsdesk.domain import case_transitions as tr
from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.records import CaseFilter
from opsdesk.ports import Database
from tests.contract.case_records import SHOP, apply, at, get, ids, opened, record
from tests.contract.transactions import read, write

# Search and count


@pytest.fixture
def queue(any_db: Database) -> Database:
    """Seven cases across queues, owners, kinds and shops, with and without deadlines."""
    rows = [
        ("a", "refunds", "refund", SHOP, at(0), at(300), "ada"),
        ("b", "refunds", "refund", SHOP, at(1), at(100), "team:support"),
        ("c", "disputes", "dispute", SHOP, at(2), at(100), "ada"),
        ("d", "refunds", "refund", "beta.myshopify.com", at(3), None, None),
        ("e", "pricing", "discount", SHOP, at(-5), None, "bob"),
        ("f", "refunds", "refund", SHOP, at(4), at(50), "bob"),
        ("g", "refunds", "refund", SHOP, at(-10), at(10), "ada"),
    ]
    for n, (cid, q, kind, shop, opened_at, due, owner) in enumerate(rows):
        opened(any_db, record(cid, queue=q, kind=kind, shop=shop, opened_at=opened_at, order_id=n))
        if owner:
            apply(any_db, cid, lambda c, o=owner: tr.assign(c, o, "lead", at(5)))
        write(any_db, lambda uow, cid=cid, due=due: uow.cases.set_due(cid, due))
    apply(any_db, "g", lambda c: tr.resolve(c, "deny", "ada", at(6)))
    apply(any_db, "f", lambda c: tr.wait(c, "supplier", "bob", at(6)))
    return any_db


def test_search_lists_active_cases_due_first_then_undated_oldest_first(queue: Database) -> None:
    # b and c are due at the same time: the older first. d and e have no deadline: last, oldest first.
    assert ids(queue, CaseFilter()) == ["f", "b", "c", "a", "e", "d"]
    assert ids(queue, CaseFilter(), limit=2, offset=1) == ["b", "c"]
    assert ids(queue, CaseFilter(), limit=10, offset=6) == []


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (CaseFilter(queue="refunds"), ["f", "b", "a", "d"]),
        (CaseFilter(owner="ada"), ["c", "a"]),
        (CaseFilter(owner="team:support"), ["b"]),
        (CaseFilter(kind="dispute"), ["c"]),
        (CaseFilter(shop="beta.myshopify.com"), ["d"]),
        (CaseFilter(due_before=at(100)), ["f"]),
        (CaseFilter(due_before=at(101)), ["f", "b", "c"]),
        (CaseFilter(status=("waiting_supplier",)), ["f"]),
        (CaseFilter(status=("resolved", "open")), ["b", "d", "g"]),
        (CaseFilter(active_only=False, owner="ada"), ["c", "a", "g"]),
        (CaseFilter(queue="refunds", owner="ada", status=("assigned",)), ["a"]),
        (CaseFilter(queue="nowhere"), []),
    ],
)
def test_search_and_count_apply_every_filter(queue: Database, where: CaseFilter, expected: list[str]) -> None:
    assert ids(queue, where) == expected
    assert read(queue, lambda uow: uow.cases.count(where)) == len(expected)


def test_resolved_cases_list_the_latest_resolved_first_on_every_page(any_db: Database) -> None:
    # Opened in one order, resolved in another: the queue of resolved work reads from the latest resolution.
    for n, (cid, opened_at, resolved_at) in enumerate([("r1", at(0), at(30)), ("r2", at(1), at(10)),
                                                        ("r3", at(2), at(20)), ("r4", at(3), at(20))]):
        opened(any_db, record(cid, opened_at=opened_at, order_id=100 + n))
        apply(any_db, cid, lambda c, when=resolved_at: tr.resolve(c, "deny", "ada", when))
    apply(any_db, "r3", lambda c: tr.close(c, "ada", at(40)))  # closing keeps when it was resolved
    resolved = CaseFilter(status=("resolved", "closed"))
    assert ids(any_db, resolved) == ["r1", "r4", "r3", "r2"]  # r3 and r4 resolved together: the later id first
    assert [*ids(any_db, resolved, limit=3), *ids(any_db, resolved, limit=3, offset=3)] == ["r1", "r4", "r3", "r2"]
    assert ids(any_db, CaseFilter(status=("resolved",)), limit=2, offset=1) == ["r4", "r2"]


def test_search_returns_whole_cases(queue: Database) -> None:
    [first] = read(queue, lambda uow: uow.cases.search(CaseFilter(owner="bob", kind="refund")))
    assert first == get(queue, "f")
    assert (first.status, first.due_at, first.owner) == (CaseStatus.WAITING_SUPPLIER, at(50), "bob")


def test_every_page_of_the_queue_follows_one_order_across_statuses_ties_and_missing_deadlines(
    any_db: Database,
) -> None:
    rng = random.Random(5)
    statuses = ["open", "assigned", "in_progress", "waiting_customer", "waiting_supplier", "resolved", "closed"]
    rows = [(f"k{n:02d}", rng.choice(statuses), rng.choice(["refunds", "returns"]), at(rng.randrange(5)),
             rng.choice([None, at(100), at(200), at(rng.randrange(300))])) for n in range(60)]
    for cid, status, q, opened_at, due in rows:
        opened(any_db, record(cid, status=status, queue=q, opened_at=opened_at, order_id=int(cid[1:])))
        write(any_db, lambda uow, cid=cid, due=due: uow.cases.set_due(cid, due))
    far = datetime.max.replace(tzinfo=UTC)
    active = [r for r in rows if r[1] not in ("resolved", "closed")]
    ended = [r for r in rows if r[1] in ("resolved", "closed")]
    # Active cases by deadline, then undated oldest first; ended ones after them, the latest ended first.
    ordered = sorted(active, key=lambda r: (r[4] is None, r[4] or far, r[3], r[0]))
    ordered += sorted(ended, key=lambda r: (r[3], r[0]), reverse=True)
    for where, keep in [
        (CaseFilter(), lambda r: r[1] not in ("resolved", "closed")),
        (CaseFilter(queue="returns"), lambda r: r[2] == "returns" and r[1] not in ("resolved", "closed")),
        (CaseFilter(active_only=False), lambda r: True),
        (CaseFilter(status=("closed", "assigned")), lambda r: r[1] in ("closed", "assigned")),
    ]:
        expected = [r[0] for r in ordered if keep(r)]
        pages = [ids(any_db, where, limit=7, offset=o) for o in range(0, len(expected) + 7, 7)]
        assert [cid for page in pages for cid in page] == expected, where
