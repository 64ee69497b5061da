"""What every backend promises about API tokens: listed oldest first, found by id, revoked once.

The concurrency test runs on the SQL backends only: two processes' revocations of one token can
only meet in a real database.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from opsdesk.domain.records import ApiToken
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services import tokens
from opsdesk.storage.sql import SqlDatabase
from tests.contract.transactions import read, write

T0 = datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=UTC)
# Added out of order: the list is by creation time, then id, not by insertion or id alone.
CI = ApiToken("b2", "ci", "admin", "a" * 64, T0 + timedelta(hours=1))
OLD = ApiToken("c3", "old script", "agent", "b" * 64, T0, revoked=True)
BOARD = ApiToken("a1", "wall board", "viewer", "c" * 64, T0 + timedelta(hours=1))


def add_all(uow: UnitOfWork) -> None:
    for token in (CI, OLD, BOARD):
        uow.tokens.add(token)


def test_tokens_are_listed_oldest_first_with_the_revoked_ones(any_db: Database) -> None:
    assert read(any_db, lambda uow: uow.tokens.list()) == []
    write(any_db, add_all)

    assert read(any_db, lambda uow: uow.tokens.list()) == [OLD, BOARD, CI]


def test_a_token_is_found_by_its_id_and_an_unknown_id_finds_none(any_db: Database) -> None:
    write(any_db, add_all)

    assert read(any_db, lambda uow: [uow.tokens.find(i) for i in ("b2", "c3", "zz", "")]) == [CI, OLD, None, None]


def test_revoking_marks_that_token_only_and_says_whether_it_did(any_db: Database) -> None:
    write(any_db, add_all)

    assert write(any_db, lambda uow: [uow.tokens.revoke(i) for i in ("b2", "b2", "c3", "zz")]) == [
        True, False, False, False]

    revoked_ci = ApiToken("b2", "ci", "admin", "a" * 64, T0 + timedelta(hours=1), revoked=True)
    assert read(any_db, lambda uow: uow.tokens.list()) == [OLD, BOARD, revoked_ci]
    assert read(any_db, lambda uow: uow.tokens.find_by_digest("a" * 64)) == revoked_ci


def test_a_revocation_not_committed_leaves_the_token_live(any_db: Database) -> None:
    write(any_db, add_all)
    with any_db.unit_of_work() as uow:
        assert uow.tokens.revoke("b2") is True

    assert read(any_db, lambda uow: uow.tokens.find("b2")) == CI


def test_two_revocations_at_once_change_and_audit_the_token_once(sql_db: SqlDatabase) -> None:
    write(sql_db, add_all)
    first_revoked = threading.Event()
    results: list[tokens.Revocation] = []

    def first() -> None:
        with sql_db.unit_of_work() as uow:
            results.append(tokens.revoke_token(uow, "b2", T0))
            first_revoked.set()
            time.sleep(0.5)  # the second revocation is waiting on the row (or SQLite's write turn) meanwhile
            uow.commit()

    def second() -> None:
        first_revoked.wait(10)
        with sql_db.unit_of_work() as uow:
            results.append(tokens.revoke_token(uow, "b2", T0))
            uow.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert [r.already for r in results] == [False, True]
    actions = read(sql_db, lambda uow: [row.action for row in uow.audit.chain(0, 10)])
    assert actions == ["token.revoke"]
