"""What every backend promises about stored webhook deliveries, on memory, SQLite and PostgreSQL alike."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta, timezone

import pytest
from sqlalchemy import insert, select

from opsdesk.domain.errors import NotFound
from opsdesk.domain.records import RawDelivery, StoredDelivery
from opsdesk.ports import Database, UnitOfWork
from opsdesk.storage import tables as t
from opsdesk.storage.bodies import MAGIC
from opsdesk.storage.deliveries import SqlDeliveries
from opsdesk.storage.sql import SqlDatabase
from tests.contract.repository_samples import OTHER_SHOP, SHOP, SNOWFLAKE_ID, T0, at, delivery
from tests.contract.transactions import read, write

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
