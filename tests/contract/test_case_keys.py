"""Case keys (ADR 0029) on every backend: each stored case is numbered from the desk's sequence as it opens,
found by its key (``C-1042``) as by its id, and no number is ever given twice.

Each step writes in one unit of work and reads back in another, so what is checked is what was committed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsdesk.domain.errors import NotFound
from opsdesk.domain.records import CaseRecord
from opsdesk.ports import Database
from opsdesk.storage.sql import SqlDatabase
from tests.contract.transactions import read, write

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHOP, OTHER = "alpha.myshopify.com", "beta.myshopify.com"


def record(case_id: str, order_id: int, **changes: Any) -> CaseRecord:
    base = CaseRecord(id=case_id, shop=SHOP, kind="refund", queue="refunds", title=f"case {case_id}",
                      reason="refund over the cap", opened_at=T0, order_id=order_id)
    return replace(base, **changes)


def open_one(db: Database, case: CaseRecord) -> CaseRecord:
    return write(db, lambda uow: uow.cases.open(case))


def numbers(db: Database, *case_ids: str) -> list[int | None]:
    return [read(db, lambda uow, c=c: uow.cases.get(c).number) for c in case_ids]


def test_each_new_case_takes_the_next_number_and_a_joining_signal_takes_none(any_db: Database) -> None:
    first = open_one(any_db, record("address-alpha-1-3f2a9c01", 1))
    second = open_one(any_db, record("dbc59a0774fd2a5bc028b952a4863f61", 2))
    joined = open_one(any_db, record("a-repeated-signal-for-order-2", 2, opened_at=T0 + timedelta(hours=1)))
    third = open_one(any_db, record("stuck-alpha-3", 3))

    assert [(c.number, c.key) for c in (first, second, joined, third)] == [
        (1, "C-1"), (2, "C-2"), (2, "C-2"), (3, "C-3")]
    assert joined.id == second.id  # the signal joined the open case: no case, no number of its own
    assert numbers(any_db, first.id, second.id, third.id) == [1, 2, 3]


def test_a_case_is_found_by_its_key_in_either_case_as_by_its_id(any_db: Database) -> None:
    open_one(any_db, record("address-alpha-1-3f2a9c01", 1))
    open_one(any_db, record("dbc59a0774fd2a5bc028b952a4863f61", 2))

    by_id = read(any_db, lambda uow: uow.cases.get("dbc59a0774fd2a5bc028b952a4863f61"))
    assert read(any_db, lambda uow: uow.cases.get("C-2")) == by_id
    assert read(any_db, lambda uow: uow.cases.get("c-2")) == by_id
    assert (by_id.key, by_id.number) == ("C-2", 2)


def test_the_keys_of_many_cases_are_read_together_for_the_cases_found(any_db: Database) -> None:
    opened = [open_one(any_db, record(f"disc-{n:032x}", n)) for n in range(1, 4)]
    ids = [c.id for c in opened]

    found = read(any_db, lambda uow: uow.cases.keys([*ids, ids[0], "no-such-case"]))

    assert found == {ids[0]: "C-1", ids[1]: "C-2", ids[2]: "C-3"}
    assert read(any_db, lambda uow: uow.cases.keys([])) == {}


@pytest.mark.parametrize("ref", ["C-3", "C-0", "C-", "C2", "2", "C-2x", "C-" + "9" * 19, "C-" + "9" * 40])
def test_a_key_of_no_case_is_not_found(any_db: Database, ref: str) -> None:
    open_one(any_db, record("address-alpha-1-3f2a9c01", 1))
    open_one(any_db, record("dbc59a0774fd2a5bc028b952a4863f61", 2))
    with pytest.raises(NotFound, match=f"no case {ref}"):
        read(any_db, lambda uow: uow.cases.get(ref))


def test_an_id_that_reads_like_a_key_is_its_own_case_first(any_db: Database) -> None:
    """Ids are looked up before keys: no stored id is ever shadowed by another case's key."""
    open_one(any_db, record("dbc59a0774fd2a5bc028b952a4863f61", 1))
    open_one(any_db, record("C-1", 2))
    assert read(any_db, lambda uow: uow.cases.get("C-1")).id == "C-1"
    assert read(any_db, lambda uow: uow.cases.get("C-2")).id == "C-1"


def test_a_number_is_never_given_again_after_the_cases_holding_the_highest_are_erased(sql_db: SqlDatabase) -> None:
    open_one(sql_db, record("kept", 1, shop=OTHER))
    open_one(sql_db, record("erased-1", 2))
    open_one(sql_db, record("erased-2", 3))
    write(sql_db, lambda uow: uow.privacy.erase_shop(SHOP))  # shop/redact: every case of the shop goes

    later = open_one(sql_db, record("later", 4, shop=OTHER))
    assert later.key == "C-4"
    with pytest.raises(NotFound):
        read(sql_db, lambda uow: uow.cases.get("C-3"))


def test_cases_opened_at_once_by_many_writers_get_distinct_numbers_with_no_gap(sql_db: SqlDatabase) -> None:
    """Eight workers, each opening 25 cases, one transaction each, held open together: PostgreSQL's sequence
    hands each transaction its own number (a max()+1 would give two of them the same one)."""
    writers, each = 8, 25
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        start.wait()
        for i in range(each):
            try:
                with sql_db.unit_of_work() as uow:
                    uow.cases.open(record(f"w{n}-{i}", n * 1000 + i))
                    time.sleep(0.002)  # the transaction stays open while the others number theirs
                    uow.commit()
            except BaseException as exc:  # any failure fails the test, with its reason
                errors.append(exc)
                return

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    stored = numbers(sql_db, *(f"w{n}-{i}" for n in range(writers) for i in range(each)))
    assert sorted(n for n in stored if n is not None) == list(range(1, writers * each + 1))
