"""A delivery's body packed ahead (ADR 0023, ADR 0031) is stored as given, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import zstandard
from sqlalchemy import select

from opsdesk.storage import tables as t
from opsdesk.storage.bodies import dictionaries, newest, pack
from opsdesk.storage.sql import SqlDatabase
from tests.contract.repository_samples import delivery
from tests.contract.transactions import read, write

BODY = b'{"id":1,"email":"ada@example.com","line_items":[' + b'{"title":"IPod Nano","quantity":1},' * 40 + b"{}]}"


def packed_otherwise(body: bytes) -> bytes:
    """A valid frame of the body that is not the one storage would pack (another level): only a store that
    takes the packed form as given writes these bytes."""
    return zstandard.ZstdCompressor(level=1, dict_data=dictionaries()[newest()], write_checksum=True).compress(body)


def test_a_body_packed_ahead_is_stored_as_given_and_read_back_as_received(sql_db: SqlDatabase) -> None:
    ahead = packed_otherwise(BODY)
    assert ahead != pack(BODY)
    raws = [delivery("added", body=BODY, packed=ahead), delivery("stored", body=BODY, packed=ahead),
            delivery("packed here", body=BODY)]
    write(sql_db, lambda uow: uow.deliveries.add(raws[:1]))
    write(sql_db, lambda uow: uow.deliveries.store(raws[1:]))
    with sql_db.engine.connect() as conn:
        rows = conn.execute(select(t.deliveries.c.webhook_id, t.deliveries.c.body)).all()
    assert {webhook_id: bytes(body) for webhook_id, body in rows} == {
        "added": ahead, "stored": ahead, "packed here": pack(BODY)}

    got = read(sql_db, lambda uow: [s.delivery for s in uow.deliveries.pending(10)])
    assert got == raws and [d.body for d in got] == [BODY] * 3
    assert [d.packed for d in got] == [None] * 3  # read back: the body as received, not what was packed ahead
