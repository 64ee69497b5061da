"""What every backend promises about cases, checked on memory, SQLite and PostgreSQL alike.

Each step writes in one unit of work and reads back in another, so what is checked is what was
committed. Transitions come from the pure domain functions, as the services make them.
Searching and paging cases are in ``test_case_search``, the timers in ``test_timer_repository``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import update

from opsdesk.domain import case_transitions as tr
from opsdesk.domain.cases import Case, CaseChange, CaseStatus, Changed, stock_key
from opsdesk.domain.errors import Conflict, NotFound
from opsdesk.domain.records import CaseRecord
from opsdesk.ports import Database
from opsdesk.storage import tables as t
from opsdesk.storage.sql import SqlDatabase
from tests.contract.case_records import ORDER, SHOP, T0, apply, at, get, opened, record
from tests.contract.transactions import read, write

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
