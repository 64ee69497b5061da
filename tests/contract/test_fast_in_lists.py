"""``IN`` lists of the statements run on SQLite's driver (storage/fast.py): rounded up, same answers.

A batch's lists have a new length nearly every time; each length used to compile its own shape. They are
now run rounded up (the last value repeated), which must change no answer, count or row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from opsdesk.domain.records import DecisionRecord, RawDelivery
from opsdesk.storage import decisions
from opsdesk.storage.sql import SqlDatabase
from tests.contract.transactions import read, write

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def decision(n: int) -> DecisionRecord:
    return DecisionRecord(f"d{n}", "alpha.myshopify.com", None, None, "order.created", f"k{n}", "p", "r", "1",
                          "ignore", "", {}, T0)


def test_lists_of_any_length_give_exact_answers_on_both_backends(sql_db: SqlDatabase) -> None:
    write(sql_db, lambda uow: uow.decisions.add_many([decision(n) for n in range(60)]))
    for length in (1, 15, 16, 17, 31, 33, 59):
        wanted = [f"d{n}" for n in range(length)] + ["missing"]
        assert read(sql_db, lambda uow, ids=wanted: uow.decisions.seen(ids)) == {f"d{n}" for n in range(length)}

    raws = [RawDelivery("alpha.myshopify.com", f"w{n}", "orders/updated", b"{}", T0) for n in range(40)]
    write(sql_db, lambda uow: uow.deliveries.add(raws))
    ids = [s.id for s in read(sql_db, lambda uow: uow.deliveries.pending(100))]
    write(sql_db, lambda uow: uow.deliveries.mark_processed(ids[:19], "ignored"))
    assert read(sql_db, lambda uow: uow.deliveries.count("ignored")) == 19
    assert read(sql_db, lambda uow: uow.deliveries.claim_pending(ids)) == set(ids[19:])


def test_a_statement_keeps_a_few_shapes_however_many_lengths_it_runs_with(sqlite_db: SqlDatabase) -> None:
    statement = decisions._DECIDED
    statement._shapes.clear()
    for length in range(17, 65):  # 48 lengths
        read(sqlite_db, lambda uow, ids=[f"d{n}" for n in range(length)]: uow.decisions.seen(ids))
    assert len(statement._shapes) == 3  # 32, 48 and 64
