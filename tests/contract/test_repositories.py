"""What every storage backend promises, checked by behaviour on memory, SQLite and PostgreSQL alike.

Each test writes in one unit of work and reads back in another, so what is checked is what was
committed, not what a repository object happens to remember.
Here orders, decisions, cases, usage, audit and tokens; deliveries, the outbox and the unit of work have
their own files (``test_delivery_repository``, ``test_outbox_repository``, ``test_unit_of_work``).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from opsdesk.domain.events import OrderId
from opsdesk.domain.orders import OrderState, Versioned
from opsdesk.domain.policies import Usage
from opsdesk.domain.records import ApiToken, AuditEntry
from opsdesk.ports import Database, UnitOfWork
from tests.contract.repository_samples import (
    MAX_ID,
    OTHER_SHOP,
    SHOP,
    SNOWFLAKE_ID,
    T0,
    assert_utc,
    at,
    case,
    decision,
    order_state,
)
from tests.contract.transactions import read, write

# Orders


def test_order_states_round_trip_exactly(any_db: Database) -> None:
    full = order_state(SHOP, SNOWFLAKE_ID)
    bare = OrderState(shop=SHOP, order_id=MAX_ID)
    write(any_db, lambda uow: uow.orders.put_many([full, bare]))

    got = read(any_db, lambda uow: uow.orders.get_many([(SHOP, SNOWFLAKE_ID), (SHOP, MAX_ID), (SHOP, OrderId(1))]))
    assert got == {(SHOP, SNOWFLAKE_ID): full, (SHOP, MAX_ID): bare}
    assert read(any_db, lambda uow: uow.orders.find(SHOP, SNOWFLAKE_ID)) == full
    assert read(any_db, lambda uow: uow.orders.find(OTHER_SHOP, SNOWFLAKE_ID)) is None

    back = got[(SHOP, SNOWFLAKE_ID)]
    assert back.snapshot is not None
    # Equal Decimals can differ in their digits ("1250.00" == "1250"); money must keep them.
    assert [str(v.amount) for v in back.refunds.values()] == ["10.10", "5.00"]
    assert [str(li.price) for li in back.snapshot.line_items] == ["600.00", "50.005"]
    assert str(back.snapshot.subtotal.amount) == "1250.00"
    assert back.refunded == Decimal("15.10")
    assert_utc(back.ship_by)
    assert_utc(back.last_event_at)


def test_orders_with_64_bit_ids_are_told_apart_and_found_in_every_shop(any_db: Database) -> None:
    neighbour = OrderId(SNOWFLAKE_ID + 1)  # the same number once rounded through a float
    states = [order_state(OTHER_SHOP, SNOWFLAKE_ID, owner="b"), order_state(SHOP, SNOWFLAKE_ID, owner="a"),
              order_state(SHOP, neighbour, owner="n"), order_state(SHOP, MAX_ID, owner="max")]
    write(any_db, lambda uow: uow.orders.put_many(states))

    assert read(any_db, lambda uow: uow.orders.find_by_id(SNOWFLAKE_ID)) == [states[1], states[0]]
    assert read(any_db, lambda uow: uow.orders.find_by_id(neighbour)) == [states[2]]
    assert read(any_db, lambda uow: uow.orders.find_by_id(MAX_ID)) == [states[3]]
    assert read(any_db, lambda uow: uow.orders.find_by_id(OrderId(SNOWFLAKE_ID - 1))) == []
    found = read(any_db, lambda uow: uow.orders.find(SHOP, MAX_ID))
    assert found is not None
    assert found.order_id == 9_223_372_036_854_775_807
    assert found.snapshot is not None
    assert found.snapshot.line_items[0].id == 9_223_372_036_854_775_807


def test_putting_an_order_again_replaces_the_stored_state(any_db: Database) -> None:
    before = order_state(SHOP, SNOWFLAKE_ID)
    write(any_db, lambda uow: uow.orders.put_many([before]))
    after = replace(before, owner=None, ship_by=None, last_event="dispute.updated", last_event_at=at(5),
                    snapshot=None, disputes={42: Versioned("won", at(5), Decimal("1234.50"))}, refunds={})
    write(any_db, lambda uow: uow.orders.put_many([after]))

    assert read(any_db, lambda uow: uow.orders.find_by_id(SNOWFLAKE_ID)) == [after]


def test_an_order_is_found_by_its_new_name_and_email_once_they_change(any_db: Database) -> None:
    kept, renamed = order_state(SHOP, SNOWFLAKE_ID), order_state(SHOP, MAX_ID)
    write(any_db, lambda uow: uow.orders.put_many([kept, renamed]))
    assert renamed.snapshot is not None
    new_snapshot = replace(renamed.snapshot, name="#2002", email="grace@example.com")
    later = [replace(kept, last_event_at=at(5)), replace(renamed, snapshot=new_snapshot, last_event_at=at(5))]
    write(any_db, lambda uow: uow.orders.put_many(later))

    assert read(any_db, lambda uow: uow.orders.search("grace@example.com")) == [later[1]]
    assert read(any_db, lambda uow: uow.orders.search("#2002")) == [later[1]]
    assert read(any_db, lambda uow: uow.orders.search("ada@example.com")) == [later[0]]
    assert read(any_db, lambda uow: uow.orders.search("#1001")) == [later[0]]


# Decisions


def test_decisions_are_recorded_once_and_listed_per_order_in_time_order(any_db: Database) -> None:
    late, early, tied = decision("d-late", decided_at=at(30)), decision("d-early", decided_at=at(-30)), \
        decision("d-0", decided_at=at(30))
    elsewhere = [decision("d-other-order", order_id=SNOWFLAKE_ID + 1),
                 decision("d-other-shop", shop=OTHER_SHOP), decision("d-no-order", order_id=None)]
    write(any_db, lambda uow: uow.decisions.add_many([late, early, *elsewhere]))
    write(any_db, lambda uow: uow.decisions.add_many([replace(late, reason="second copy"), tied]))

    assert read(any_db, lambda uow: uow.decisions.for_order(SHOP, SNOWFLAKE_ID)) == [early, tied, late]
    assert read(any_db, lambda uow: uow.decisions.seen(["d-late", "d-no-order", "d-unknown"])) == \
        {"d-late", "d-no-order"}
    assert read(any_db, lambda uow: uow.decisions.seen([])) == set()


def test_decision_inputs_come_back_as_json(any_db: Database) -> None:
    recorded = decision("d-json", inputs={
        "event": {"amount": Decimal("12.30"), "occurred_at": T0, "ids": (MAX_ID, 1)},
        "order": {"known": True, "tags": ["vip"], "owner": None, "total": 12.5},
    })
    write(any_db, lambda uow: uow.decisions.add_many([recorded]))

    [back] = read(any_db, lambda uow: uow.decisions.for_order(SHOP, SNOWFLAKE_ID))
    assert back.inputs == {
        "event": {"amount": "12.30", "occurred_at": "2026-03-02T09:15:30.123456+00:00", "ids": [MAX_ID, 1]},
        "order": {"known": True, "tags": ["vip"], "owner": None, "total": 12.5},
    }


# Cases


def test_a_second_open_case_of_the_same_kind_for_an_order_joins_the_first(any_db: Database) -> None:
    first = case("c1", opened_at=at(1), number=1)  # each stored case numbered as it opens (ADR 0029)
    assert write(any_db, lambda uow: uow.cases.open(replace(first, number=None))) == first
    assert write(any_db, lambda uow: uow.cases.open(case("c2", opened_at=at(2), reason="again"))) == first
    assert write(any_db, lambda uow: uow.cases.open(first)) == first

    others = [case("c3", kind="dispute", opened_at=at(3), number=2),
              case("c4", shop=OTHER_SHOP, opened_at=at(4), number=3),
              case("c5", order_id=SNOWFLAKE_ID + 1, opened_at=at(5), number=4)]  # c2 joined c1: no number
    assert write(any_db, lambda uow: [uow.cases.open(replace(c, number=None)) for c in others]) == others

    assert read(any_db, lambda uow: uow.cases.for_order(SHOP, SNOWFLAKE_ID)) == [first, others[0]]
    assert read(any_db, lambda uow: uow.cases.list_open()) == [first, *others]


def test_the_cases_of_many_orders_of_a_shop_are_read_at_once_by_order(any_db: Database) -> None:
    first, second = case("c1", opened_at=at(1)), case("c2", kind="dispute", opened_at=at(2))
    other = case("c3", order_id=SNOWFLAKE_ID + 1, opened_at=at(3))
    elsewhere = case("c4", shop=OTHER_SHOP, order_id=SNOWFLAKE_ID + 2, opened_at=at(4))
    opened = write(any_db, lambda uow: [uow.cases.open(c) for c in [second, first, other, elsewhere]])
    second, first, other, elsewhere = opened
    assert [c.number for c in opened] == [1, 2, 3, 4]

    found = read(any_db, lambda uow: uow.cases.for_orders(SHOP, [SNOWFLAKE_ID, SNOWFLAKE_ID + 1,
                                                                 SNOWFLAKE_ID + 2, 7]))

    assert found == {SNOWFLAKE_ID: [first, second], SNOWFLAKE_ID + 1: [other]}
    assert read(any_db, lambda uow: uow.cases.for_orders(SHOP, [])) == {}


def test_cases_without_an_order_are_never_joined(any_db: Database) -> None:
    loose = [case("c1", order_id=None, opened_at=at(1)), case("c2", order_id=None, opened_at=at(2))]
    stored = [replace(c, number=n) for n, c in enumerate(loose, 1)]
    assert write(any_db, lambda uow: [uow.cases.open(c) for c in loose]) == stored
    assert read(any_db, lambda uow: uow.cases.list_open()) == stored


def test_open_cases_are_listed_oldest_first_up_to_the_limit_without_closed_ones(any_db: Database) -> None:
    cases = [case(f"c{i}", order_id=i, opened_at=at(-i), number=i) for i in range(1, 6)]
    closed = case("closed", order_id=99, status="closed", opened_at=at(-100), number=6)
    write(any_db, lambda uow: [uow.cases.open(replace(c, number=None)) for c in [*cases, closed]])

    assert read(any_db, lambda uow: uow.cases.list_open(limit=3)) == [cases[4], cases[3], cases[2]]
    assert read(any_db, lambda uow: uow.cases.list_open()) == cases[::-1]
    assert read(any_db, lambda uow: uow.cases.for_order(SHOP, 99)) == [closed]


def test_a_closed_case_does_not_take_the_place_of_an_open_one(any_db: Database) -> None:
    closed = case("old", status="closed", opened_at=at(-100))
    fresh = case("new", number=2)
    write(any_db, lambda uow: uow.cases.open(closed))

    assert write(any_db, lambda uow: uow.cases.open(fresh)) == fresh
    assert read(any_db, lambda uow: uow.cases.list_open()) == [fresh]


# Usage, audit, tokens


def test_usage_is_stored_with_exact_decimals_and_replaced_on_put(any_db: Database) -> None:
    first = {"rule|shop|a|1": Usage(1, Decimal("0.10")), "rule|shop|b|1": Usage(3, Decimal("1234567890123.4500"))}
    write(any_db, lambda uow: uow.usage.put_many(first))
    write(any_db, lambda uow: uow.usage.put_many({"rule|shop|a|1": Usage(2, Decimal("20.20"))}))
    write(any_db, lambda uow: uow.usage.put_many({}))

    got = read(any_db, lambda uow: uow.usage.get_many(["rule|shop|a|1", "rule|shop|b|1", "missing"]))
    assert got == {"rule|shop|a|1": Usage(2, Decimal("20.20")), "rule|shop|b|1": first["rule|shop|b|1"]}
    assert {k: str(u.amount) for k, u in got.items()} == {"rule|shop|a|1": "20.20",
                                                          "rule|shop|b|1": "1234567890123.4500"}
    assert read(any_db, lambda uow: uow.usage.get_many([])) == {}


USAGE_KEYS = ["monitor|carrier|ups|attempts|1772409600", "refunds|customer|c1@example.com|1771200000",
              "refunds|customer|9000001|1771200000", "followup|alpha.myshopify.com|820982911946154508",
              "reconcile:mark:alpha.myshopify.com", "r|shop|a-b|-", "r|shop|a|b|1", "Z|shop|x|1", "é|shop|x|1"]


def test_usage_keys_are_read_page_by_page_each_once(any_db: Database) -> None:
    write(any_db, lambda uow: uow.usage.put_many({k: Usage(n, Decimal(n)) for n, k in enumerate(USAGE_KEYS)}))

    pages, after = [], ""
    while page := read(any_db, lambda uow, after=after: uow.usage.keys(after, 4)):
        pages.append(page)
        after = page[-1]

    assert [len(p) for p in pages] == [4, 4, 1]
    keys = [k for p in pages for k in p]
    assert sorted(keys) == sorted(USAGE_KEYS)  # each once, in the order of the database's collation
    assert read(any_db, lambda uow: uow.usage.keys(keys[-1], 4)) == []


def test_removing_usage_deletes_only_the_named_rows_and_counts_those_that_were_there(any_db: Database) -> None:
    many = {f"monitor|email|messages|{n}": Usage(n) for n in range(600)}  # more than one statement's worth
    write(any_db, lambda uow: uow.usage.put_many({**many, **{k: Usage(1) for k in USAGE_KEYS}}))

    gone = [*many, USAGE_KEYS[0], USAGE_KEYS[0], "never-stored"]
    assert write(any_db, lambda uow: uow.usage.remove(gone)) == 601
    assert write(any_db, lambda uow: uow.usage.remove([])) == 0

    assert sorted(read(any_db, lambda uow: uow.usage.keys("", 1000))) == sorted(USAGE_KEYS[1:])
    assert read(any_db, lambda uow: uow.usage.get_many(many)) == {}


def test_audit_entries_are_counted(any_db: Database) -> None:
    entries = [AuditEntry(T0, "automation", "case.opened", "case:c1", None, {"queue": "refunds"}),
               AuditEntry(at(1), "grace", "case.assigned", "case:c1", {"owner": None}, {"owner": "grace"})]
    write(any_db, lambda uow: uow.audit.record(entries))
    write(any_db, lambda uow: uow.audit.record([]))
    write(any_db, lambda uow: uow.audit.record(entries[:1]))

    assert read(any_db, lambda uow: uow.audit.count()) == 3


def test_tokens_are_found_by_digest(any_db: Database) -> None:
    tokens = [ApiToken("t1", "ci", "admin", "a" * 64, T0), ApiToken("t2", "old", "agent", "b" * 64, at(1), True)]
    def add(uow: UnitOfWork) -> None:
        for token in tokens:
            uow.tokens.add(token)

    write(any_db, add)

    assert read(any_db, lambda uow: [uow.tokens.find_by_digest(t.digest) for t in tokens]) == tokens
    assert read(any_db, lambda uow: uow.tokens.find_by_digest("c" * 64)) is None
