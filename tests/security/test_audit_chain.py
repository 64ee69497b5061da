"""The audit log is tamper-evident (reliability.md test 12), on SQLite and PostgreSQL alike.

Each row's hash covers its content and the hash of the row before; the head row holds the last one.
Changing, re-hashing or deleting any row, first, middle or last, is found, and the row is named.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from opsdesk.domain.records import AuditEntry
from opsdesk.ports import Database
from opsdesk.services.audit import verify_audit
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase, create_sql_engine

T0 = datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)


def write(db: Database, count: int, start: int = 0, per_transaction: int = 2) -> None:
    for first in range(start, start + count, per_transaction):
        with db.unit_of_work() as uow:
            uow.audit.record(
                [
                    AuditEntry(
                        T0 + timedelta(seconds=n),
                        f"person-{n % 3}",
                        "case.claim",
                        f"case:{n}",
                        {"status": "open"} if n % 2 else None,
                        {"status": "assigned", "owner": f"person-{n % 3}", "n": n},
                    )
                    for n in range(first, min(first + per_transaction, start + count))
                ]
            )
            uow.commit()


def verify(db: Database, **kwargs: Any) -> Any:
    with db.unit_of_work(read_only=True) as uow:
        return verify_audit(uow, **kwargs)


def rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text("SELECT * FROM audit ORDER BY id")).mappings()]


def execute(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_an_untouched_chain_verifies_on_every_backend(any_db: Database) -> None:
    assert verify(any_db).as_dict() == {"ok": True, "checked": 0, "head_id": 0, "head_hash": "", "key_id": None}
    write(any_db, 7)
    report = verify(any_db)
    assert (report.ok, report.checked, report.head_id) == (True, 7, 7)


@pytest.mark.parametrize("tamper", ["content", "rehashed", "deleted"])
def test_tampering_with_any_row_is_found_and_the_row_named(sql_db: SqlDatabase, tamper: str) -> None:
    write(sql_db, 5)
    stored = rows(sql_db.engine)
    for index, row in enumerate(stored):
        if tamper == "content":
            execute(sql_db.engine, "UPDATE audit SET actor = 'mallory' WHERE id = :id", id=row["id"])
            expected = row["id"]
        elif tamper == "rehashed":  # a changed row given a hash that matches it: the next row (or head) tells
            execute(sql_db.engine, "UPDATE audit SET hash = :h WHERE id = :id", h="0" * 64, id=row["id"])
            expected = row["id"]
        else:
            execute(sql_db.engine, "DELETE FROM audit WHERE id = :id", id=row["id"])
            expected = stored[index + 1]["id"] if index + 1 < len(stored) else stored[index - 1]["id"]
        report = verify(sql_db)
        assert not report.ok, f"{tamper} row {row['id']} went unnoticed"
        assert report.broken is not None and report.broken.row_id == expected
        _restore(sql_db.engine, row)
        assert verify(sql_db).ok


def test_a_row_rewritten_with_a_recomputed_hash_breaks_the_link_to_the_next(sql_db: SqlDatabase) -> None:
    from opsdesk.domain.audit import entry_hash

    write(sql_db, 4)
    row = rows(sql_db.engine)[1]
    at = row["at"] if isinstance(row["at"], datetime) else datetime.fromisoformat(row["at"])
    forged = entry_hash(
        row["prev_hash"],
        at.replace(tzinfo=UTC),
        "mallory",
        row["action"],
        row["subject"],
        row["before"],
        row["after"],
    )
    execute(
        sql_db.engine, "UPDATE audit SET actor = 'mallory', hash = :h WHERE id = :id", h=forged, id=row["id"]
    )
    report = verify(sql_db)
    assert report.broken is not None and report.broken.row_id == row["id"] + 1


def test_a_whole_rewritten_chain_is_found_against_a_kept_anchor(sql_db: SqlDatabase) -> None:
    write(sql_db, 3)
    kept = verify(sql_db)
    anchor = (kept.head_id, kept.head_hash)
    write(sql_db, 2, start=3)
    assert verify(sql_db, anchor=anchor).ok  # the chain grew; the kept row is still there, unchanged
    execute(sql_db.engine, "DELETE FROM audit")
    execute(sql_db.engine, "UPDATE audit_head SET last_id = 0, hash = '', count = 0")
    write(sql_db, 5, start=10)  # a fresh, self-consistent chain
    assert verify(sql_db).ok
    assert not verify(sql_db, anchor=anchor).ok


def test_concurrent_writers_never_fork_the_chain(sql_db: SqlDatabase) -> None:
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            write(sql_db, 20, start=k * 100, per_transaction=1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify(sql_db)
    assert (report.ok, report.checked) == (True, 80)


def test_rows_written_before_the_chain_existed_join_it_at_migration(tmp_path) -> None:
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, "0004")
    insert = text("INSERT INTO audit (at, actor, action, subject, after) VALUES (:at, 'a', 'x', :s, '{}')")
    with engine.begin() as conn:
        for n in range(3):
            stamp = (T0 + timedelta(minutes=n)).replace(tzinfo=None).isoformat(sep=" ")
            conn.execute(insert, {"at": stamp, "s": f"case:{n}"})
    migrate(engine)
    db = SqlDatabase(engine)
    assert verify(db).checked == 3 and verify(db).ok
    write(db, 2, start=3)
    assert (verify(db).ok, verify(db).checked) == (True, 5)
    db.dispose()


def _restore(engine: Engine, row: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit WHERE id = :id"), {"id": row["id"]})
        columns = ", ".join(row)
        conn.execute(text(f"INSERT INTO audit ({columns}) VALUES ({', '.join(':' + c for c in row)})"), row)
