"""What the privacy repository keeps of erasures (ADR 0021): ids only, a version that moves with them, and
on PostgreSQL the lock that keeps an erasure and a batch of deliveries being stored from overlapping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import make_url

from opsdesk.domain.erasures import Erasure
from opsdesk.domain.errors import Unavailable
from opsdesk.ports import Database
from opsdesk.storage.sql import SqlDatabase, create_sql_engine
from opsdesk.testing import InMemoryDatabase
from tests.contract.transactions import read, write

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_erasures_are_kept_in_order_and_each_moves_the_version(sql_db: SqlDatabase) -> None:
    first = Erasure("alpha.myshopify.com", 9, frozenset({5, 6}), T0)
    second = Erasure("beta.myshopify.com", 4, frozenset(), T0)
    versions = [read(sql_db, lambda uow: uow.privacy.erasures_version())]
    for erasure in (first, second):
        write(sql_db, lambda uow, e=erasure: uow.privacy.record_erasure(e))  # type: ignore[misc]
        versions.append(read(sql_db, lambda uow: uow.privacy.erasures_version(hold=True)))
    assert read(sql_db, lambda uow: uow.privacy.erasures()) == [first, second]
    assert versions[0] < versions[1] < versions[2]


def test_a_shops_erasure_deletes_its_erasures_and_a_later_one_still_moves_the_version(sql_db: SqlDatabase) -> None:
    shop = "alpha.myshopify.com"
    write(sql_db, lambda uow: uow.privacy.record_erasure(Erasure(shop, 9, frozenset({5}), T0)))
    before = read(sql_db, lambda uow: uow.privacy.erasures_version())
    counts = write(sql_db, lambda uow: uow.privacy.erase_shop(shop))
    assert (counts["erased_customers"], read(sql_db, lambda uow: uow.privacy.erasures())) == (1, [])
    write(sql_db, lambda uow: uow.privacy.record_erasure(Erasure(shop, 3, frozenset(), T0)))
    assert read(sql_db, lambda uow: uow.privacy.erasures_version()) > before  # ids are never reused


def test_the_memory_database_has_erased_no_one() -> None:
    db: Database = InMemoryDatabase()
    assert read(db, lambda uow: (uow.privacy.erasures(), uow.privacy.erasures_version(hold=True))) == ([], 0)


@pytest.fixture
def impatient(pg_db: SqlDatabase, pg_url: str) -> Iterator[SqlDatabase]:
    """The same PostgreSQL schema through connections that give up waiting for a lock after 0.2 s."""
    url = make_url(pg_url)
    options = f"{url.query['options']} -clock_timeout=200"
    db = SqlDatabase(create_sql_engine(url.update_query_dict({"options": options}).render_as_string(False)))
    yield db
    db.dispose()


@pytest.mark.postgres
def test_on_postgresql_an_erasure_waits_for_the_batches_holding_the_erasures_and_they_for_it(
    pg_db: SqlDatabase, impatient: SqlDatabase
) -> None:
    with pg_db.unit_of_work() as storing:
        storing.privacy.erasures_version(hold=True)
        with pytest.raises(Unavailable), impatient.unit_of_work() as erasing:
            erasing.privacy.begin_erasure()
        with impatient.unit_of_work() as another:  # batches hold the erasures together
            another.privacy.erasures_version(hold=True)
    with pg_db.unit_of_work() as erasing:
        erasing.privacy.begin_erasure()
        with pytest.raises(Unavailable), impatient.unit_of_work() as storing:
            storing.privacy.erasures_version(hold=True)
