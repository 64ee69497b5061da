"""What every storage backend promises, checked by behaviour on memory, SQLite and PostgreSQL alike.

Each test writes in one unit of work and reads back in another, so what is checked is what was
committed, not what a repository object happens to remember.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import insert, select

from opsdesk.domain.errors import NotFound
from opsdesk.domain.events import LineItem, OrderId, OrderSnapshot, ShopDomain
from opsdesk.domain.money import Money
from opsdesk.domain.orders import OrderState, Versioned
from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.policies import Usage
from opsdesk.domain.records import (
    ApiToken,
    AuditEntry,
    CaseRecord,
    DecisionRecord,
    OutboxAction,
    RawDelivery,
    StoredDelivery,
)
from opsdesk.ports import Database, UnitOfWork
from opsdesk.storage import tables as t
from opsdesk.storage.bodies import MAGIC
from opsdesk.storage.deliveries import SqlDeliveries
from opsdesk.storage.sql import SqlDatabase
from tests.contract.transactions import read, write

R = TypeVar("R")

T0 = datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=UTC)
SHOP = ShopDomain("alpha.myshopify.com")
OTHER_SHOP = ShopDomain("beta.myshopify.com")
MAX_ID = OrderId(9_223_372_036_854_775_807)
SNOWFLAKE_ID = OrderId(820_982_911_946_154_508)  # a real-looking Shopify id, beyond float precision
LEASE = timedelta(seconds=60)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def delivery(webhook_id: str, shop: str = SHOP, body: bytes = b'{"id": 1}', **changes: Any) -> RawDelivery:
    return replace(RawDelivery(shop=shop, webhook_id=webhook_id, topic="orders/updated", body=body,
                               received_at=T0, api_version="2026-01", event_id=f"evt-{webhook_id}",
                               triggered_at=at(-2)), **changes)


def snapshot(order_id: OrderId) -> OrderSnapshot:
    return OrderSnapshot(
        id=order_id, name="#1001", email="ada@example.com", customer_id=7_446_372_194_617, currency="EUR",
        total=Money(Decimal("1234.50"), "EUR"), subtotal=Money(Decimal("1250.00"), "EUR"),
        total_discounts=Money(Decimal("15.50"), "EUR"), financial_status="partially_refunded",
        fulfillment_status="partial", cancelled_at=None, created_at=at(-86_400),
        updated_at=datetime(2026, 3, 2, 11, 15, 30, 654321, tzinfo=timezone(timedelta(hours=2))),
        tags=("vip", "wholesale"), source_name="web",
        line_items=(
            LineItem(MAX_ID, "SKU-1", 44_000_000_000_001, 9_000_000_000_001, 2, Decimal("600.00"), Decimal("0")),
            LineItem(SNOWFLAKE_ID, "", None, None, 1, Decimal("50.005"), Decimal("15.50")),
        ),
        discount_codes=("SPRING10",), shipping_country="DE", location_id=SNOWFLAKE_ID,
        payment_gateways=("gift_card", "Cash on Delivery (COD)"),
    )


def order_state(shop: ShopDomain, order_id: OrderId, owner: str | None = "grace") -> OrderState:
    return OrderState(
        shop=shop, order_id=order_id, snapshot=snapshot(order_id),
        fulfillments={5_500_000_000_001: Versioned("success", at(-3_600))},
        returns={MAX_ID: Versioned("requested", at(-1_800))},
        refunds={1: Versioned("issued", at(-900), Decimal("10.10")),
                 SNOWFLAKE_ID: Versioned("issued", at(-600), Decimal("5.00"))},
        disputes={42: Versioned("needs_response", at(-300), Decimal("1234.50"))},
        carrier_status=Versioned("in_transit", at(-60)),
        ship_by=at(86_400), owner=owner, last_event_at=at(-60), last_event="refund.created",
    )


def decision(decision_id: str, order_id: int | None = SNOWFLAKE_ID, decided_at: datetime = T0,
             **changes: Any) -> DecisionRecord:
    return replace(DecisionRecord(
        id=decision_id, shop=SHOP, delivery_id=MAX_ID, order_id=order_id, event_name="refund.created",
        event_key=f"refund.created:{decision_id}", playbook="refunds", rule_id="small-refunds",
        policy_version="v3", outcome="automate", reason="under the cap",
        inputs={"event": {"amount": "12.30", "ids": [MAX_ID, 1]}, "known": True, "note": None},
        decided_at=decided_at,
    ), **changes)


def action(action_id: str, due: datetime = T0, **changes: Any) -> OutboxAction:
    return replace(OutboxAction(
        id=action_id, decision_id=f"decision-{action_id}", shop=SHOP, order_id=SNOWFLAKE_ID, kind="refund",
        provider="shopify", payload={"amount": "12.30", "currency": "EUR", "order_id": SNOWFLAKE_ID},
        idempotency_key=f"opsdesk-{action_id}", created_at=at(-10), next_attempt_at=due,
    ), **changes)


def case(case_id: str, order_id: int | None = SNOWFLAKE_ID, kind: str = "refund", opened_at: datetime = T0,
         **changes: Any) -> CaseRecord:
    return replace(CaseRecord(
        id=case_id, shop=SHOP, kind=kind, queue="refunds", title=f"case {case_id}", reason="over the cap",
        opened_at=opened_at, order_id=order_id, source=f"decision:{case_id}", priority="high",
        detail={"playbook": "refunds", "sla": "4h", "history": [{"attempt": 1}]},
    ), **changes)


def claim(db: Database, worker: str, now: datetime, limit: int = 10) -> list[str]:
    return write(db, lambda uow: [a.id for a in uow.outbox.claim_due(now, limit, now + LEASE, worker)])


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.utcoffset() == timedelta(0)


# Deliveries


def test_adding_deliveries_stores_each_shop_and_webhook_id_once_and_counts_the_new_ones(any_db: Database) -> None:
    first = [delivery("w1"), delivery("w2"), delivery("w1", shop=OTHER_SHOP)]
    again = [delivery("w1", body=b"retried"), delivery("w3"), delivery("w3", body=b"twice in a batch")]

    assert write(any_db, lambda uow: uow.deliveries.add(first)) == 3
    assert write(any_db, lambda uow: uow.deliveries.add(again)) == 1
    assert write(any_db, lambda uow: uow.deliveries.add(again)) == 0

    stored = read(any_db, lambda uow: uow.deliveries.pending(10))
    assert [s.delivery for s in stored] == [*first, again[1]]
    assert read(any_db, lambda uow: uow.deliveries.count()) == 4


def stored_new(uow: UnitOfWork, deliveries: list[RawDelivery]) -> list[StoredDelivery]:
    assert isinstance(uow.deliveries, SqlDeliveries)
    return uow.deliveries.store(deliveries)


def test_storing_deliveries_returns_the_new_ones_as_pending_would_read_them_back(sql_db: SqlDatabase) -> None:
    before = [delivery("w1"), delivery("w2", shop=OTHER_SHOP)]
    write(sql_db, lambda uow: uow.deliveries.add(before))
    eastern = timezone(timedelta(hours=-5))
    batch = [delivery("w1", body=b"retried"), delivery("w3", payload={"id": 3}),
             delivery("w4", received_at=T0.astimezone(eastern), triggered_at=at(-2).astimezone(eastern)),
             delivery("w3", body=b"twice in a batch"), delivery("w1", shop=OTHER_SHOP)]

    with sql_db.unit_of_work() as uow:
        stored = stored_new(uow, batch)
        pending = uow.deliveries.pending(10, after_id=2)
        uow.commit()

    assert [s.delivery for s in stored] == [batch[1], batch[2], batch[4]]
    assert [(s.id, s.delivery) for s in stored] == [(s.id, s.delivery) for s in pending]
    # The times read back in UTC: an event's key may be made of them, and isoformat tells the zones apart.
    times = [(s.delivery.received_at.isoformat(), str(s.delivery.triggered_at)) for s in stored]
    assert times == [(s.delivery.received_at.isoformat(), str(s.delivery.triggered_at)) for s in pending]
    assert stored[0].delivery.payload == {"id": 3}  # kept: no need to parse the body again
    assert write(sql_db, lambda uow: stored_new(uow, batch)) == []
    assert write(sql_db, lambda uow: stored_new(uow, [])) == []
    assert read(sql_db, lambda uow: uow.deliveries.count()) == 5


def test_pending_gives_the_oldest_deliveries_first_up_to_the_limit_and_after_an_id(any_db: Database) -> None:
    raws = [delivery(f"w{i}") for i in range(6)]
    write(any_db, lambda uow: uow.deliveries.add(raws))
    ids = [s.id for s in read(any_db, lambda uow: uow.deliveries.pending(100))]
    assert ids == sorted(ids)
    assert len(set(ids)) == 6

    first_two = read(any_db, lambda uow: uow.deliveries.pending(2))
    assert [(s.id, s.delivery) for s in first_two] == [(ids[0], raws[0]), (ids[1], raws[1])]
    page = read(any_db, lambda uow: uow.deliveries.pending(3, after_id=ids[1]))
    assert [s.delivery for s in page] == raws[2:5]

    write(any_db, lambda uow: uow.deliveries.mark_processed([ids[2], ids[4]]))
    rest = read(any_db, lambda uow: uow.deliveries.pending(10, after_id=ids[1]))
    assert [s.delivery for s in rest] == [raws[3], raws[5]]


def test_marking_deliveries_takes_them_out_of_pending_under_the_status_given(any_db: Database) -> None:
    write(any_db, lambda uow: uow.deliveries.add([delivery(f"w{i}") for i in range(5)]))
    ids = [s.id for s in read(any_db, lambda uow: uow.deliveries.pending(10))]

    def mark(uow: UnitOfWork) -> None:
        uow.deliveries.mark_processed(ids[:2])
        uow.deliveries.mark_processed([ids[2]], "failed", "bad payload: no id")
        uow.deliveries.mark_processed([ids[3]], "ignored")
        uow.deliveries.mark_processed([])
        uow.deliveries.mark_processed([max(ids) + 1000], "processed")  # unknown ids change nothing

    write(any_db, mark)

    counts = read(any_db, lambda uow: {s: uow.deliveries.count(s)
                                       for s in (None, "pending", "processed", "failed", "ignored")})
    assert counts == {None: 5, "pending": 1, "processed": 2, "failed": 1, "ignored": 1}
    assert [s.id for s in read(any_db, lambda uow: uow.deliveries.pending(10))] == [ids[4]]
    assert read(any_db, lambda uow: uow.deliveries.get(ids[2]).delivery) == delivery("w2")


def test_deliveries_waiting_for_an_order_go_back_to_pending_when_it_arrives(any_db: Database) -> None:
    raws = [delivery("w1"), delivery("w2"), delivery("w3", shop=OTHER_SHOP), delivery("w4"), delivery("w5")]
    write(any_db, lambda uow: uow.deliveries.add(raws))
    ids = [s.id for s in read(any_db, lambda uow: uow.deliveries.pending(10))]

    def wait(uow: UnitOfWork) -> None:
        uow.deliveries.mark_processed(ids[:3], "waiting", f"order:{SNOWFLAKE_ID}")
        uow.deliveries.mark_processed([ids[3]], "waiting", f"order:{SNOWFLAKE_ID + 1}")

    assert read(any_db, lambda uow: uow.deliveries.oldest_waiting()) is None
    write(any_db, wait)
    assert read(any_db, lambda uow: [s.delivery for s in uow.deliveries.pending(10)]) == [raws[4]]
    oldest = min(raws[i].received_at for i in range(4))
    assert read(any_db, lambda uow: uow.deliveries.oldest_waiting()) == oldest

    assert write(any_db, lambda uow: uow.deliveries.requeue_waiting(SHOP, [SNOWFLAKE_ID, 7])) == 2
    assert write(any_db, lambda uow: uow.deliveries.requeue_waiting(SHOP, [SNOWFLAKE_ID])) == 0
    assert read(any_db, lambda uow: [s.delivery for s in uow.deliveries.pending(10)]) == [raws[0], raws[1], raws[4]]
    assert read(any_db, lambda uow: uow.deliveries.count("waiting")) == 2
    # several orders in one call: each order's waiting deliveries of that shop only
    assert write(any_db, lambda uow: uow.deliveries.requeue_waiting(OTHER_SHOP, [SNOWFLAKE_ID + 1, SNOWFLAKE_ID])) == 1
    assert write(any_db, lambda uow: uow.deliveries.requeue_waiting(SHOP, [])) == 0
    assert write(any_db, lambda uow: uow.deliveries.requeue_waiting(SHOP, [SNOWFLAKE_ID + 1])) == 1
    assert read(any_db, lambda uow: uow.deliveries.count("waiting")) == 0
    assert read(any_db, lambda uow: uow.deliveries.oldest_waiting()) is None


def test_deliveries_that_waited_since_before_a_time_are_released(any_db: Database) -> None:
    raws = [delivery("early", received_at=at(-10)), delivery("edge", received_at=T0),
            delivery("late", received_at=at(10)), delivery("done", received_at=at(-10))]
    write(any_db, lambda uow: uow.deliveries.add(raws))
    ids = [s.id for s in read(any_db, lambda uow: uow.deliveries.pending(10))]

    def wait(uow: UnitOfWork) -> None:
        uow.deliveries.mark_processed(ids[:3], "waiting", f"order:{SNOWFLAKE_ID}")
        uow.deliveries.mark_processed([ids[3]])

    write(any_db, wait)

    assert write(any_db, lambda uow: uow.deliveries.release_waiting(T0)) == 1
    assert read(any_db, lambda uow: [s.delivery for s in uow.deliveries.pending(10)]) == [raws[0]]
    assert write(any_db, lambda uow: uow.deliveries.release_waiting(at(10) + timedelta(microseconds=1))) == 2
    assert read(any_db, lambda uow: [s.delivery for s in uow.deliveries.pending(10)]) == raws[:3]
    assert read(any_db, lambda uow: (uow.deliveries.count("waiting"), uow.deliveries.count("processed"))) == (0, 1)


def test_getting_an_unknown_delivery_raises_not_found(any_db: Database) -> None:
    with any_db.unit_of_work() as uow, pytest.raises(NotFound):
        uow.deliveries.get(12345)


def test_delivery_bodies_and_fields_come_back_byte_for_byte(any_db: Database) -> None:
    two_megabytes = random.Random(7).randbytes(2 * 1024 * 1024)
    raws = [
        delivery("empty", body=b""),
        delivery("latin-1", body='{"name": "Müller"}'.encode("latin-1")),
        delivery("all-bytes", body=bytes(range(256)) * 3, triggered_at=None, known_shop=False,
                 api_version="", event_id=""),
        delivery("big", body=two_megabytes),
    ]
    write(any_db, lambda uow: uow.deliveries.add(raws))

    stored = read(any_db, lambda uow: uow.deliveries.pending(10))
    assert [s.delivery for s in stored] == raws
    assert stored[3].delivery.body == two_megabytes
    got = read(any_db, lambda uow: [uow.deliveries.get(s.id).delivery.body for s in stored])
    assert got == [r.body for r in raws]


def test_pending_takes_the_deliveries_in_hand_and_reads_only_the_others(any_db: Database) -> None:
    raws = [delivery(f"w{n}", body=f'{{"id": {n}}}'.encode()) for n in range(4)]
    stored = write(any_db, lambda uow: uow.deliveries.store(raws))
    write(any_db, lambda uow: uow.deliveries.mark_processed([stored[0].id]))
    in_hand = StoredDelivery(stored[2].id, replace(stored[2].delivery, payload={"id": 2}))

    got = read(any_db, lambda uow: uow.deliveries.pending(10, have={in_hand.id: in_hand}))
    assert [s.id for s in got] == [s.id for s in stored[1:]]
    assert got[1] is in_hand  # taken, not read back
    assert [s.delivery for s in got] == raws[1:]
    assert read(any_db, lambda uow: uow.deliveries.pending(2, have={in_hand.id: in_hand})) == got[:2]


def test_bodies_are_stored_packed_and_rows_stored_before_are_read_as_they_are(sql_db: SqlDatabase) -> None:
    """ADR 0031: the column holds a zstd frame a fraction of the body's size; a body stored raw by an older
    opsdesk (before bodies were packed) comes back as it is."""
    body = b'{"id":1,"email":"ada@example.com","line_items":[' + b'{"title":"IPod Nano","quantity":1},' * 50 + b"{}]}"
    write(sql_db, lambda uow: uow.deliveries.add([delivery("packed", body=body)]))
    with sql_db.engine.begin() as conn:
        stored = bytes(conn.execute(select(t.deliveries.c.body)).scalar_one())
        conn.execute(insert(t.deliveries).values(
            shop=SHOP, webhook_id="legacy", topic="orders/updated", api_version="", event_id="", triggered_at=None,
            received_at=T0, body=b'{"id": 2}', known_shop=True, status="pending", error=""))
    assert stored[:4] == MAGIC and len(stored) < len(body) / 4

    got = read(sql_db, lambda uow: {s.delivery.webhook_id: s.delivery.body for s in uow.deliveries.pending(10)})
    assert got == {"packed": body, "legacy": b'{"id": 2}'}


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


# Outbox


def test_adding_an_action_again_keeps_the_first(any_db: Database) -> None:
    first = action("a1", history=({"attempt": 1, "outcome": "retry"},), attempts=1, last_error="timeout")
    write(any_db, lambda uow: uow.outbox.add_many([first]))
    write(any_db, lambda uow: uow.outbox.add_many([replace(first, payload={"changed": True}), action("a2")]))

    assert read(any_db, lambda uow: uow.outbox.get("a1")) == first
    assert read(any_db, lambda uow: uow.outbox.count()) == 2
    assert read(any_db, lambda uow: uow.outbox.count("pending")) == 2
    assert read(any_db, lambda uow: uow.outbox.count("sent")) == 0


def test_getting_an_unknown_action_raises_not_found(any_db: Database) -> None:
    with any_db.unit_of_work() as uow, pytest.raises(NotFound):
        uow.outbox.get("nope")


def test_actions_are_listed_per_order_in_creation_order(any_db: Database) -> None:
    actions = [action("b", created_at=at(1)), action("a", created_at=at(1)), action("c", created_at=at(-1)),
               action("other-order", order_id=1), action("other-shop", shop=OTHER_SHOP)]
    write(any_db, lambda uow: uow.outbox.add_many(actions))

    found = read(any_db, lambda uow: uow.outbox.for_order(SHOP, SNOWFLAKE_ID))
    assert [a.id for a in found] == ["c", "a", "b"]


def test_actions_of_one_kind_are_listed_for_many_orders_at_once_each_in_creation_order(any_db: Database) -> None:
    actions = [action("b", created_at=at(1)), action("a", created_at=at(1)), action("c", created_at=at(-1)),
               action("email", kind="email"), action("second", order_id=1), action("other-shop", shop=OTHER_SHOP),
               action("not-asked", order_id=2)]
    write(any_db, lambda uow: uow.outbox.add_many(actions))

    found = read(any_db, lambda uow: uow.outbox.for_orders(SHOP, [SNOWFLAKE_ID, 1, 1, 3], "refund"))
    assert {order_id: [a.id for a in listed] for order_id, listed in found.items()} == {
        SNOWFLAKE_ID: ["c", "a", "b"], 1: ["second"]}
    assert found[1] == [actions[4]]


def test_claiming_returns_only_due_pending_unleased_actions_in_due_order(any_db: Database) -> None:
    actions = [
        action("due-later", due=at(-1)), action("due-first", due=at(-50)), action("due-now", due=T0),
        action("future", due=at(1)),
        action("sent", due=at(-60), status=ActionStatus.SENT),
        action("failed", due=at(-60), status=ActionStatus.FAILED),
        action("leased", due=at(-70)),
    ]
    write(any_db, lambda uow: uow.outbox.add_many(actions))
    assert claim(any_db, "other", at(-30), limit=1) == ["leased"]  # leased until at(30)

    assert claim(any_db, "w1", T0, limit=2) == ["due-first", "due-later"]
    assert claim(any_db, "w2", T0) == ["due-now"]
    assert claim(any_db, "w3", T0) == []
    assert claim(any_db, "w3", at(1)) == ["future"]


def test_claimed_actions_come_back_whole(any_db: Database) -> None:
    stored = action("a1", attempts=3, last_error="503", history=({"attempt": 1}, {"attempt": 2, "error": "503"}))
    write(any_db, lambda uow: uow.outbox.add_many([stored]))

    claimed = write(any_db, lambda uow: uow.outbox.claim_due(T0, 10, T0 + LEASE, "w1"))
    assert claimed == [stored]


def test_an_expired_lease_lets_another_worker_claim_and_the_first_can_no_longer_save(any_db: Database) -> None:
    original = action("a1")
    write(any_db, lambda uow: uow.outbox.add_many([original]))
    assert claim(any_db, "w1", T0) == ["a1"]
    assert claim(any_db, "w2", T0 + LEASE / 2) == []
    assert claim(any_db, "w2", T0 + LEASE + timedelta(microseconds=1)) == ["a1"]

    late = replace(original, status=ActionStatus.SENT, attempts=1)
    assert write(any_db, lambda uow: uow.outbox.save(late, worker="w1")) is False
    assert read(any_db, lambda uow: uow.outbox.get("a1")) == original

    retry = replace(original, attempts=1, last_error="429", next_attempt_at=at(600), history=({"attempt": 1},))
    assert write(any_db, lambda uow: uow.outbox.save(retry, worker="w2")) is True
    assert read(any_db, lambda uow: uow.outbox.get("a1")) == retry


def test_saving_releases_the_lease_so_a_retry_is_claimable_when_due(any_db: Database) -> None:
    original = action("a1")
    write(any_db, lambda uow: uow.outbox.add_many([original, action("a2")]))
    assert claim(any_db, "w1", T0) == ["a1", "a2"]

    retry = replace(original, attempts=1, next_attempt_at=at(30))
    assert write(any_db, lambda uow: uow.outbox.save(retry, worker="w1")) is True
    assert write(any_db, lambda uow: uow.outbox.save(replace(action("a2"), status=ActionStatus.SENT),
                                                     worker="w1")) is True
    assert write(any_db, lambda uow: uow.outbox.save(retry, worker="never-claimed")) is False

    assert claim(any_db, "w2", at(29)) == []
    assert claim(any_db, "w2", at(30)) == ["a1"]
    assert read(any_db, lambda uow: (uow.outbox.count("pending"), uow.outbox.count("sent"))) == (1, 1)


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
