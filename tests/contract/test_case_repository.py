"""What every backend promises about cases and timers, checked on memory, SQLite and PostgreSQL alike.

Each step writes in one unit of work and reads back in another, so what is checked is what was
committed. Transitions come from the pure domain functions, as the services make them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import update

from opsdesk.domain import case_transitions as tr
from opsdesk.domain.cases import Case, CaseChange, CaseStatus, Changed, stock_key
from opsdesk.domain.errors import Conflict, NotFound
from opsdesk.domain.records import CaseFilter, CaseRecord, Timer
from opsdesk.ports import Database, UnitOfWork
from opsdesk.storage import tables as t
from opsdesk.storage.sql import SqlDatabase
from tests.contract.transactions import read, write

R = TypeVar("R")

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHOP = "alpha.myshopify.com"
ORDER = 820_982_911_946_154_508  # beyond float precision


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def record(case_id: str, **changes: Any) -> CaseRecord:
    base = CaseRecord(id=case_id, shop=SHOP, kind="refund", queue="refunds", title=f"case {case_id}",
                      reason="refund over the cap", opened_at=T0, order_id=ORDER, source="decision:d1",
                      detail={"amount": "60.00"})
    return replace(base, **changes)


def opened(db: Database, *records: CaseRecord) -> list[Case]:
    write(db, lambda uow: [uow.cases.open(r) for r in records])
    return [read(db, lambda uow, r=r: uow.cases.get(r.id)) for r in records]


def apply(db: Database, case_id: str, move: Callable[[Case], Changed]) -> tuple[bool, Case]:
    """Apply a transition to the stored case and save it against the version read."""

    def work(uow: UnitOfWork) -> tuple[bool, Case]:
        case = uow.cases.get(case_id)
        return uow.cases.save(move(case), expected_version=case.version), case

    return write(db, work)


def get(db: Database, case_id: str) -> Case:
    return read(db, lambda uow: uow.cases.get(case_id))


def ids(db: Database, where: CaseFilter, limit: int = 50, offset: int = 0) -> list[str]:
    return [c.id for c in read(db, lambda uow: uow.cases.search(where, limit, offset))]


# Get and save


def test_an_opened_case_comes_back_whole_at_version_one_without_owner_or_deadline(any_db: Database) -> None:
    [case] = opened(any_db, record("c1", priority="high"))
    assert case == Case(id="c1", shop=SHOP, kind="refund", queue="refunds", title="case c1",
                        reason="refund over the cap", opened_at=T0, status=CaseStatus.OPEN, owner=None,
                        priority="high", order_id=ORDER, source="decision:d1", version=1,
                        detail={"amount": "60.00"}, number=1)


def test_getting_an_unknown_case_raises_not_found(any_db: Database) -> None:
    with pytest.raises(NotFound, match="no case nope"):
        read(any_db, lambda uow: uow.cases.get("nope"))


def test_a_saved_transition_is_stored_whole_with_its_new_version(any_db: Database) -> None:
    opened(any_db, record("c1"))
    saved, _ = apply(any_db, "c1", lambda c: tr.claim(c, "ada", at(1)))
    assert saved is True
    apply(any_db, "c1", lambda c: tr.respond(c, "ada", at(2), "looking"))
    apply(any_db, "c1", lambda c: tr.resolve(c, "approve_refund", "ada", at(3)))

    case = get(any_db, "c1")
    assert (case.status, case.owner, case.version, case.updated_at) == (CaseStatus.RESOLVED, "ada", 4, at(3))
    assert (case.first_response_at, case.resolved_at, case.resolution) == (at(2), at(3), "approve_refund")


def test_a_save_against_a_stale_version_writes_nothing(any_db: Database) -> None:
    [case] = opened(any_db, record("c1"))
    assert write(any_db, lambda uow: uow.cases.save(tr.claim(case, "ada", at(1)), expected_version=1))
    assert write(any_db, lambda uow: uow.cases.save(tr.claim(case, "bob", at(2)), expected_version=1)) is False

    assert (get(any_db, "c1").owner, get(any_db, "c1").version) == ("ada", 2)
    assert [c.actor for c in read(any_db, lambda uow: uow.cases.timeline("c1"))] == ["ada"]


def test_detail_and_escalation_level_are_saved_as_json_ready_data(any_db: Database) -> None:
    opened(any_db, record("c1"))

    def escalate(c: Case) -> Changed:
        changed = tr.escalate(c, 2, "team:leads", at(5), "breach")
        return replace(changed, case=replace(changed.case, detail={**c.detail, "sla": {"paused": [1, 2]}}))

    apply(any_db, "c1", escalate)
    case = get(any_db, "c1")
    assert (case.escalation_level, case.owner) == (2, "team:leads")
    assert case.detail == {"amount": "60.00", "sla": {"paused": [1, 2]}}


# One open case per (order, kind)


def test_a_resolved_case_frees_its_order_and_kind_and_cannot_reopen_while_another_is_open(
    any_db: Database,
) -> None:
    opened(any_db, record("c1"))
    assert write(any_db, lambda uow: uow.cases.open(record("c2"))).id == "c1"  # joined, not opened
    apply(any_db, "c1", lambda c: tr.resolve(c, "deny", "ada", at(1)))

    fresh = write(any_db, lambda uow: uow.cases.open(record("c2", opened_at=at(2))))
    assert fresh.id == "c2"
    with pytest.raises(Conflict, match="another refund case is open"):
        apply(any_db, "c1", lambda c: tr.reopen(c, "ada", at(3)))
    assert get(any_db, "c1").status is CaseStatus.RESOLVED

    apply(any_db, "c2", lambda c: tr.resolve(c, "no_action", "ada", at(4)))
    apply(any_db, "c1", lambda c: tr.reopen(c, "ada", at(5)))
    assert get(any_db, "c1").status is CaseStatus.OPEN
    assert write(any_db, lambda uow: uow.cases.open(record("c3", opened_at=at(6)))).id == "c1"


def stock(case_id: str, item: int = 7, location: int = 9, **changes: Any) -> CaseRecord:
    detail = {"stock": {"inventory_item_id": item, "location_id": location, "available": -1}}
    return record(case_id, **{"kind": "inventory", "queue": "inventory", "order_id": None, "detail": detail, **changes})


def test_a_stock_case_joins_the_open_case_of_its_item_at_its_location(any_db: Database) -> None:
    opened(any_db, stock("s1"))
    assert write(any_db, lambda uow: uow.cases.open(stock("s2"))).id == "s1"
    assert write(any_db, lambda uow: uow.cases.open(stock("s3", location=10))).id == "s3"
    assert write(any_db, lambda uow: uow.cases.open(stock("s4", item=8))).id == "s4"
    apply(any_db, "s1", lambda c: tr.resolve(c, "no_action", "ada", at(1)))
    assert write(any_db, lambda uow: uow.cases.open(stock("s5", opened_at=at(2)))).id == "s5"


def test_the_active_cases_about_an_items_stock_are_found_at_every_location(any_db: Database) -> None:
    """``holding(stock_key(...))``: the item's active stock cases at each location, whatever their kind; not another
    item's whose id begins with the same digits, nor one that has ended."""
    opened(any_db, stock("s1"), stock("s2", location=10), stock("s3", item=77), stock("s4", location=11))
    opened(any_db, stock("s5", location=12, kind="incident", queue="ops"))
    apply(any_db, "s4", lambda c: tr.resolve(c, "no_action", "ada", at(1)))

    def held(item: int) -> list[str]:
        return [c.id for c in read(any_db, lambda uow: uow.cases.holding(stock_key(SHOP, item)))]

    assert held(7) == ["s1", "s2", "s5"]
    assert held(77) == ["s3"]
    assert held(8) == []


def test_an_active_case_stored_without_its_open_key_stays_workable_beside_the_one_holding_it(
    sql_db: SqlDatabase,
) -> None:
    """A stock case opened by an opsdesk before stock cases had a key holds none; the next fall opens a case that
    takes the key, and the older one is still worked, resolved and closed without a conflict."""
    opened(sql_db, stock("old"))
    with sql_db.engine.begin() as conn:
        conn.execute(update(t.cases).where(t.cases.c.id == "old").values(open_key=None))
    assert write(sql_db, lambda uow: uow.cases.open(stock("new", opened_at=at(1)))).id == "new"

    assert apply(sql_db, "old", lambda c: tr.claim(c, "ada", at(2)))[0]
    assert apply(sql_db, "old", lambda c: tr.resolve(c, "no_action", "ada", at(3)))[0]
    with pytest.raises(Conflict, match="another inventory case is open"):
        apply(sql_db, "old", lambda c: tr.reopen(c, "ada", at(4)))
    assert apply(sql_db, "new", lambda c: tr.claim(c, "bob", at(5)))[0]


# Timeline


def test_the_timeline_lists_every_saved_change_in_order_with_before_and_after(any_db: Database) -> None:
    opened(any_db, record("c1"), record("other", order_id=1))
    apply(any_db, "c1", lambda c: tr.claim(c, "ada", at(1)))
    apply(any_db, "other", lambda c: tr.claim(c, "bob", at(1)))
    apply(any_db, "c1", lambda c: tr.wait(c, "customer", "ada", at(2), "asked for photos"))

    assert read(any_db, lambda uow: uow.cases.timeline("c1")) == [
        CaseChange("c1", at(1), "ada", "claimed", {"owner": None, "status": "open"},
                   {"owner": "ada", "status": "assigned"}),
        CaseChange("c1", at(2), "ada", "waiting", {"status": "assigned"}, {"status": "waiting_customer"},
                   "asked for photos"),
    ]
    assert read(any_db, lambda uow: uow.cases.timeline("nope")) == []


# Deadlines


def test_set_due_records_the_deadline_and_a_save_leaves_it_alone_until_the_case_ends(any_db: Database) -> None:
    opened(any_db, record("c1"))
    write(any_db, lambda uow: uow.cases.set_due("c1", at(60)))
    assert get(any_db, "c1").due_at == at(60)

    def claim_with_a_deadline(c: Case) -> Changed:
        changed = tr.claim(c, "ada", at(1))
        return replace(changed, case=replace(changed.case, due_at=at(999)))

    apply(any_db, "c1", claim_with_a_deadline)
    assert get(any_db, "c1").due_at == at(60)  # only set_due moves the deadline

    apply(any_db, "c1", lambda c: tr.resolve(c, "deny", "ada", at(2)))
    assert get(any_db, "c1").due_at is None
    write(any_db, lambda uow: uow.cases.set_due("c1", None))
    assert get(any_db, "c1").due_at is None


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


# Timers


def timer(timer_id: str, due: datetime, subject: str = "c1", kind: str = "sla_breach") -> Timer:
    return Timer(id=timer_id, kind=kind, subject=subject, due_at=due, payload={"target": "resolution"})


def claim(db: Database, worker: str, now: datetime, limit: int = 10) -> list[str]:
    claimed = write(db, lambda uow: uow.timers.claim_due(now, limit, now + timedelta(minutes=1), worker))
    return [x.id for x in claimed]


def finish(db: Database, timer_id: str, worker: str, **kw: Any) -> bool:
    return write(db, lambda uow: uow.timers.finish(timer_id, worker=worker, at=at(100), **kw))


def test_scheduled_timers_are_pending_per_subject_in_due_order(any_db: Database) -> None:
    timers = [timer("t2", at(20)), timer("t1", at(10), kind="sla_warning"), timer("x", at(5), subject="c2")]
    write(any_db, lambda uow: uow.timers.schedule(timers))
    assert read(any_db, lambda uow: uow.timers.pending("c1")) == [timers[1], timers[0]]
    assert read(any_db, lambda uow: (uow.timers.count(), uow.timers.count("pending"))) == (3, 3)


def test_pending_of_many_subjects_is_pending_of_each_in_one_read(any_db: Database) -> None:
    timers = [timer("t2", at(20)), timer("t1", at(10), kind="sla_warning"), timer("x", at(5), subject="c2"),
              timer("y", at(1), subject="c3")]
    write(any_db, lambda uow: uow.timers.schedule(timers))
    write(any_db, lambda uow: uow.timers.cancel("c3"))
    assert read(any_db, lambda uow: uow.timers.pending_many(["c1", "c2", "c3", "c4", "c1"])) == {
        "c1": [timers[1], timers[0]],
        "c2": [timers[2]],
    }
    assert read(any_db, lambda uow: uow.timers.pending_many([])) == {}


def test_scheduling_an_id_again_moves_it_and_rearms_a_cancelled_one(any_db: Database) -> None:
    write(any_db, lambda uow: uow.timers.schedule([timer("t1", at(10)), timer("t2", at(20))]))
    write(any_db, lambda uow: uow.timers.cancel("c1", ["sla_breach"]))
    write(any_db, lambda uow: uow.timers.schedule([timer("t1", at(30)), timer("t2", at(40))]))
    assert [(x.id, x.due_at, x.status) for x in read(any_db, lambda uow: uow.timers.pending("c1"))] == [
        ("t1", at(30), "pending"),
        ("t2", at(40), "pending"),
    ]
    assert read(any_db, lambda uow: uow.timers.count()) == 2


def test_cancel_takes_out_pending_timers_of_a_subject_by_kind_or_all(any_db: Database) -> None:
    timers = [timer("w", at(1), kind="sla_warning"), timer("b", at(2)), timer("r", at(3), kind="return_timer"),
              timer("other", at(1), subject="c2")]
    write(any_db, lambda uow: uow.timers.schedule(timers))
    assert write(any_db, lambda uow: uow.timers.cancel("c1", ["sla_warning", "sla_breach"])) == 2
    assert write(any_db, lambda uow: uow.timers.cancel("c1", ["sla_warning"])) == 0
    assert [x.id for x in read(any_db, lambda uow: uow.timers.pending("c1"))] == ["r"]
    assert write(any_db, lambda uow: uow.timers.cancel("c1")) == 1
    assert read(any_db, lambda uow: uow.timers.pending("c1")) == []
    assert read(any_db, lambda uow: (uow.timers.count("cancelled"), uow.timers.count("pending"))) == (3, 1)


def still_pending(db: Database, prefix: str) -> set[tuple[str, str, str]]:
    """The pending timers whose subject starts with ``prefix``: (id, subject, kind), the prefix left out."""
    found = read(db, lambda uow: uow.timers.pending_many([f"{prefix}{n}" for n in range(700)]))
    return {(x.id.removeprefix(prefix), x.subject.removeprefix(prefix), x.kind)
            for timers in found.values() for x in timers}


@pytest.mark.parametrize("kinds", [["stuck_order"], ["stuck_order", "followup"], []])
def test_cancelling_many_subjects_at_once_ends_what_cancelling_each_would(any_db: Database, kinds: list[str]) -> None:
    """Two copies of the same timers (prefixes ``a`` and ``b``): one cancelled a subject at a time, the other
    at once; more than one chunk of subjects (500), some named twice, some without a timer."""
    def copy(prefix: str) -> list[Timer]:
        return [timer(f"{prefix}{n}:{kind}", at(n % 7), subject=f"{prefix}{n}", kind=kind)
                for n in range(620) for kind in ("stuck_order", "followup", "sla_breach")[: 1 + n % 3]]

    write(any_db, lambda uow: uow.timers.schedule(copy("a") + copy("b")))
    write(any_db, lambda uow: [uow.timers.cancel(s) for s in ("a6", "a7", "b6", "b7")])  # some ended before
    chosen = [*(n for n in range(700) if n % 5), 3, 6, 9]  # 560 subjects, three named twice

    counts = write(any_db, lambda uow: [uow.timers.cancel(f"a{n}", kinds) for n in chosen])
    cancelled = write(any_db, lambda uow: uow.timers.cancel_many([f"b{n}" for n in chosen], kinds))

    assert cancelled == {f"b{n}" for n, count in zip(chosen, counts, strict=True) if count}
    assert cancelled and still_pending(any_db, "a") == still_pending(any_db, "b")
    assert read(any_db, lambda uow: uow.timers.count("cancelled")) % 2 == 0  # as many in each copy
    assert write(any_db, lambda uow: uow.timers.cancel_many([f"b{n}" for n in chosen], kinds)) == set()
    assert write(any_db, lambda uow: uow.timers.cancel_many([])) == set()


def test_claiming_leases_due_timers_in_due_order_to_one_worker(any_db: Database) -> None:
    write(any_db, lambda uow: uow.timers.schedule([timer(f"t{i}", at(i)) for i in (3, 1, 2, 9)]))
    assert claim(any_db, "w1", at(5), limit=2) == ["t1", "t2"]
    assert claim(any_db, "w2", at(5)) == ["t3"]
    assert claim(any_db, "w2", at(5.5)) == []  # leased until at(6) and at(6.5)
    assert claim(any_db, "w2", at(7)) == ["t1", "t2", "t3"]  # the leases ran out
    assert finish(any_db, "t1", "w1") is False  # the first worker lost it
    assert finish(any_db, "t1", "w2") is True


def test_finishing_fires_retries_or_fails_a_timer(any_db: Database) -> None:
    write(any_db, lambda uow: uow.timers.schedule([timer("ok", at(1)), timer("again", at(1)),
                                                   timer("bad", at(1))]))
    assert claim(any_db, "w", at(2)) == ["again", "bad", "ok"]
    assert finish(any_db, "ok", "w") is True
    assert finish(any_db, "again", "w", error="handler broke", retry_at=at(30)) is True
    assert finish(any_db, "bad", "w", error="no such case") is True
    assert finish(any_db, "ok", "w") is False  # fired once

    assert read(any_db, lambda uow: [uow.timers.count(s) for s in ("fired", "pending", "failed")]) == [1, 1, 1]
    [retry] = read(any_db, lambda uow: uow.timers.pending("c1"))
    assert (retry.id, retry.due_at, retry.attempts, retry.last_error) == ("again", at(30), 1, "handler broke")
    assert claim(any_db, "w", at(29)) == []
    assert claim(any_db, "w", at(30)) == ["again"]
    assert finish(any_db, "again", "other-worker") is False


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
