"""The two repository queries the dashboard added, on every backend: order look-up and decisions per day."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from opsdesk.ports import Database
from tests.contract.repository_samples import (
    MAX_ID,
    OTHER_SHOP,
    SHOP,
    SNOWFLAKE_ID,
    T0,
    at,
    decision,
    order_state,
    snapshot,
)
from tests.contract.transactions import read, write


def test_orders_are_found_by_number_id_or_email_newest_first(any_db: Database) -> None:
    older = replace(order_state(OTHER_SHOP, SNOWFLAKE_ID), last_event_at=at(-7_200))
    other = replace(order_state(SHOP, MAX_ID), snapshot=replace(snapshot(MAX_ID), name="#1002",
                                                                 email="bo@example.com"))
    write(any_db, lambda uow: uow.orders.put_many([order_state(SHOP, SNOWFLAKE_ID), older, other]))

    def found(term: str) -> list[tuple[str, int]]:
        return read(any_db, lambda uow: [(s.shop, s.order_id) for s in uow.orders.search(term, 10)])

    both = [(SHOP, SNOWFLAKE_ID), (OTHER_SHOP, SNOWFLAKE_ID)]
    assert found("#1001") == both
    assert found("1001") == both
    assert found("ada@example.com") == both
    assert found(str(SNOWFLAKE_ID)) == both
    assert found(" #1002 ") == [(SHOP, MAX_ID)]
    assert found(str(MAX_ID)) == [(SHOP, MAX_ID)]
    assert found("nobody@example.com") == []
    assert found("") == []
    assert read(any_db, lambda uow: len(uow.orders.search("#1001", 1))) == 1
    assert read(any_db, lambda uow: uow.orders.search("#1002", 1)[0]) == other


def test_decisions_are_counted_per_utc_day_and_outcome_since_a_time(any_db: Database) -> None:
    day = timedelta(days=1)
    write(any_db, lambda uow: uow.decisions.add_many([
        decision("a", decided_at=T0),
        decision("b", decided_at=T0 + timedelta(hours=1)),
        decision("c", decided_at=T0, outcome="escalate"),
        decision("d", decided_at=T0 + day, outcome="ignore"),
        decision("e", decided_at=T0 - day),  # before the window
    ]))
    counts = read(any_db, lambda uow: uow.decisions.outcomes_by_day(T0 - timedelta(hours=1)))
    assert counts == {
        T0.date().isoformat(): {"automate": 2, "escalate": 1},
        (T0 + day).date().isoformat(): {"ignore": 1},
    }
    assert read(any_db, lambda uow: uow.decisions.outcomes_by_day(T0 + 2 * day)) == {}
