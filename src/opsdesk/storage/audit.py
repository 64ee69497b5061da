"""The audit log as a hash chain: every insert links to the row before it and moves the chain's head.

Writers take turns on the head row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite has one writer
anyway), so two transactions can never link to the same predecessor and fork the chain. The head also
names the key the chain is hashed with (ADR 0024); a writer holding another key refuses to extend it.

``record`` only gathers the entries; ``flush`` chains them when the transaction commits, so the head is
the last lock a transaction takes and a holder of it never waits for another row (ADR 0058). Every read of
the chain flushes first, so a transaction reads what it recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, String, bindparam, func, select

from opsdesk.domain.audit import GENESIS, AuditKeys, ChainedRow, ChainHead, entry_hash
from opsdesk.domain.errors import DataRefused
from opsdesk.domain.records import AuditEntry
from opsdesk.storage import tables as t
from opsdesk.storage.codec import dumps

HEAD_ID = 1
#: The columns PostgreSQL bounds (SQLite stores any length). An entry is checked where it is recorded, so that
#: its refusal is blamed on the write that made it (ADR 0030), not on the commit that chains it (ADR 0058).
_BOUNDED = tuple(
    (name, column.type.length)
    for name, column in ((n, t.audit.c[n]) for n in ("actor", "action", "subject"))
    if isinstance(column.type, String) and column.type.length
)
# Built once: every case opened, assigned or moved records here, and building cost more than running.
_INSERT = t.audit.insert()
_LAST_ID = select(func.max(t.audit.c.id))
_LOCK_HEAD = select(t.audit_head).where(t.audit_head.c.id == HEAD_ID).with_for_update()
_MOVE_HEAD = (
    t.audit_head.update()
    .where(t.audit_head.c.id == HEAD_ID)
    .values(
        last_id=bindparam("b_last_id"),
        hash=bindparam("b_hash"),
        count=bindparam("b_count"),
        key_id=bindparam("b_key_id"),
    )
)
_REHASH = (
    t.audit.update()
    .where(t.audit.c.id == bindparam("b_id"))
    .values(prev_hash=bindparam("b_prev_hash"), hash=bindparam("b_hash"))
)


class SqlChainedAudit:
    def __init__(self, conn: Connection, keys: AuditKeys | None = None) -> None:
        self._conn = conn
        self._keys = keys or AuditKeys()
        self._pending: list[AuditEntry] = []

    def record(self, entries: Sequence[AuditEntry]) -> None:
        if self._conn.dialect.name == "postgresql":
            for e in entries:
                _ensure_storable(e)
        self._pending.extend(entries)

    def flush(self) -> None:
        """Chain the entries recorded so far; the unit of work calls it last, just before committing."""
        if not self._pending:
            return
        entries, self._pending = self._pending, []
        head = self._lock_head()
        key = self._keys.for_writing(head)
        prev, rows = head.hash, []
        for e in entries:
            row = _row(e)
            digest = entry_hash(prev, e.at, e.actor, e.action, e.subject, row["before"], row["after"], key)
            rows.append({**row, "prev_hash": prev, "hash": digest})
            prev = digest
        self._conn.execute(_INSERT, rows)
        # Nobody else inserts while this transaction holds the head, so the newest id is ours.
        last_id = int(self._conn.execute(_LAST_ID).scalar_one())
        moved = {"b_last_id": last_id, "b_hash": prev, "b_count": head.count + len(entries),
                 "b_key_id": self._keys.current_id}
        self._conn.execute(_MOVE_HEAD, moved)

    def lock_head(self) -> ChainHead:
        self.flush()
        return self._lock_head()

    def _lock_head(self) -> ChainHead:
        row = self._conn.execute(_LOCK_HEAD).mappings().first()
        if row is None:  # a database made without migration 0005's head row: the chain starts here
            self._conn.execute(t.audit_head.insert().values(id=HEAD_ID, last_id=0, hash=GENESIS, count=0))
            return ChainHead()
        return _head(row)

    def rehash(self, hashes: Sequence[tuple[int, str, str]]) -> None:
        self.flush()
        if hashes:
            self._conn.execute(_REHASH, [{"b_id": i, "b_prev_hash": p, "b_hash": h} for i, p, h in hashes])

    def move_head(self, head: ChainHead) -> None:
        self.flush()
        moved = {"b_last_id": head.last_id, "b_hash": head.hash, "b_count": head.count, "b_key_id": head.key_id}
        self._conn.execute(_MOVE_HEAD, moved)

    def count(self) -> int:
        self.flush()
        return int(self._conn.execute(select(func.count()).select_from(t.audit)).scalar_one())

    def chain(self, after_id: int, limit: int) -> list[ChainedRow]:
        self.flush()
        query = select(t.audit).where(t.audit.c.id > after_id).order_by(t.audit.c.id).limit(limit)
        return [
            ChainedRow(
                int(r["id"]),
                r["at"],
                r["actor"],
                r["action"],
                r["subject"],
                r["before"],
                r["after"],
                r["prev_hash"],
                r["hash"],
            )
            for r in self._conn.execute(query).mappings()
        ]

    def head(self) -> ChainHead:
        self.flush()
        row = self._conn.execute(select(t.audit_head).where(t.audit_head.c.id == HEAD_ID)).mappings().first()
        return ChainHead() if row is None else _head(row)


def _ensure_storable(e: AuditEntry) -> None:
    """Refuse, as PostgreSQL would at commit, a value longer than its column or holding a NUL character."""
    for name, length in _BOUNDED:
        value = str(getattr(e, name))
        if len(value) > length:
            raise DataRefused(f"refused by the database: value too long for type character varying({length})")
        if "\x00" in value:
            raise DataRefused("refused by the database: PostgreSQL text fields cannot contain NUL (0x00) bytes")


def _head(row: Any) -> ChainHead:
    return ChainHead(int(row["last_id"]), row["hash"], int(row["count"]), row["key_id"])


def _row(e: AuditEntry) -> dict[str, Any]:
    return {
        "at": e.at,
        "actor": e.actor,
        "action": e.action,
        "subject": e.subject,
        "before": dumps(e.before) if e.before is not None else None,
        "after": dumps(e.after) if e.after is not None else None,
    }
