"""A unit of work keeps only what it commits, and instants come back as the same UTC instant, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from opsdesk.domain.events import OrderId
from opsdesk.domain.policies import Usage
from opsdesk.domain.records import ApiToken, AuditEntry
from opsdesk.ports import Database, UnitOfWork
from tests.contract.repository_samples import (
    SHOP,
    SNOWFLAKE_ID,
    T0,
    action,
    assert_utc,
    case,
    claim,
    decision,
    delivery,
    order_state,
)
from tests.contract.transactions import read, write

# Transactions and time


ORDER_FOR = {"kept": OrderId(1), "dropped": OrderId(2)}


def write_everything(uow: UnitOfWork, suffix: str) -> None:
    uow.deliveries.add([delivery(f"w-{suffix}")])
    uow.orders.put_many([order_state(SHOP, ORDER_FOR[suffix])])
    uow.decisions.add_many([decision(f"d-{suffix}")])
    uow.outbox.add_many([action(f"a-{suffix}")])
    uow.cases.open(case(f"c-{suffix}", order_id=ORDER_FOR[suffix]))
    uow.usage.put_many({f"u-{suffix}": Usage(1, Decimal(1))})
    uow.audit.record([AuditEntry(T0, "grace", "test", suffix)])
    uow.tokens.add(ApiToken(f"t-{suffix}", suffix, "agent", f"digest-{suffix}", T0))


def everything(uow: UnitOfWork) -> dict[str, int]:
    """How many records of each kind exist, over both suffixes."""
    return {
        "deliveries": uow.deliveries.count(), "orders": len(uow.orders.get_many((SHOP, i) for i in ORDER_FOR.values())),
        "decisions": len(uow.decisions.seen(["d-kept", "d-dropped"])), "actions": uow.outbox.count(),
        "cases": len(uow.cases.list_open()), "usage": len(uow.usage.get_many(["u-kept", "u-dropped"])),
        "audit": uow.audit.count(),
        "tokens": sum(uow.tokens.find_by_digest(f"digest-{s}") is not None for s in ORDER_FOR),
    }


def test_leaving_a_unit_of_work_without_commit_discards_what_it_wrote(any_db: Database) -> None:
    with any_db.unit_of_work() as uow:
        write_everything(uow, "dropped")
        assert everything(uow)["actions"] == 1  # visible inside its own unit of work

    assert read(any_db, everything) == dict.fromkeys(
        ("deliveries", "orders", "decisions", "actions", "cases", "usage", "audit", "tokens"), 0)


def test_an_error_inside_a_unit_of_work_discards_it(any_db: Database) -> None:
    def fail_halfway() -> None:
        with any_db.unit_of_work() as uow:
            write_everything(uow, "dropped")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_halfway()

    assert sum(read(any_db, everything).values()) == 0


def test_writes_after_a_commit_are_discarded_unless_committed_again(any_db: Database) -> None:
    with any_db.unit_of_work() as uow:
        write_everything(uow, "kept")
        uow.commit()
        write_everything(uow, "dropped")

    assert read(any_db, everything) == {"deliveries": 1, "orders": 1, "decisions": 1, "actions": 1, "cases": 1,
                                        "usage": 1, "audit": 1, "tokens": 1}


def test_timestamps_come_back_as_the_same_instant_in_utc(any_db: Database) -> None:
    plus_five_thirty = timezone(timedelta(hours=5, minutes=30))
    local = datetime(2026, 3, 2, 14, 45, 30, 999999, tzinfo=plus_five_thirty)  # 09:15:30.999999 UTC
    write(any_db, lambda uow: uow.deliveries.add([delivery("w1", received_at=local, triggered_at=T0)]))
    write(any_db, lambda uow: uow.outbox.add_many([action("a1", due=local, created_at=T0)]))
    write(any_db, lambda uow: uow.cases.open(case("c1", opened_at=local)))
    write(any_db, lambda uow: uow.decisions.add_many([decision("d1", decided_at=local)]))
    write(any_db, lambda uow: uow.tokens.add(ApiToken("t1", "ci", "admin", "d" * 64, local)))

    def stamps_of(uow: UnitOfWork) -> list[datetime | None]:
        [stored] = uow.deliveries.pending(1)
        token = uow.tokens.find_by_digest("d" * 64)
        assert token is not None
        return [stored.delivery.received_at, stored.delivery.triggered_at, uow.outbox.get("a1").next_attempt_at,
                uow.outbox.get("a1").created_at, uow.cases.list_open()[0].opened_at,
                uow.decisions.for_order(SHOP, SNOWFLAKE_ID)[0].decided_at, token.created_at]

    stamps = read(any_db, stamps_of)
    assert stamps == [local, T0, local, T0, local, local, local]
    for stamp in stamps:
        assert_utc(stamp)
    assert [s.microsecond for s in stamps if s] == [999999, 123456, 999999, 123456, 999999, 999999, 999999]
    # A claim compares instants, not wall-clock text: due at 09:15:30.999999 UTC, not one microsecond before.
    assert claim(any_db, "w1", datetime(2026, 3, 2, 9, 15, 30, 999998, tzinfo=UTC)) == []
    assert claim(any_db, "w1", datetime(2026, 3, 2, 10, 15, 30, 999999, tzinfo=timezone(timedelta(hours=1)))) \
        == ["a1"]
