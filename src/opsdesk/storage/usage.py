"""The usage counters the policies' limits read (a count and an amount a key), and their retention."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import Connection, bindparam, delete, select

from opsdesk.domain.policies import Usage
from opsdesk.storage import tables as t
from opsdesk.storage.bulk import _upsert
from opsdesk.storage.fast import Fast

# Built once and run through SQLite's driver directly, as the statements of storage/deliveries.py are.
_USAGE = Fast(select(t.usage).where(t.usage.c.key.in_(bindparam("keys", expanding=True))))
# A walk along the primary key's index (the retention sweep's pages), and the delete of what it chose.
_USAGE_KEYS = Fast(
    select(t.usage.c.key).where(t.usage.c.key > bindparam("after")).order_by(t.usage.c.key).limit(bindparam("limit"))
)
_USAGE_REMOVE = Fast(delete(t.usage).where(t.usage.c.key.in_(bindparam("keys", expanding=True))))


class SqlUsage:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get_many(self, keys: Iterable[str]) -> dict[str, Usage]:
        wanted, found = sorted(set(keys)), {}
        for start in range(0, len(wanted), 500):
            for r in _USAGE.rows(self._conn, {"keys": wanted[start : start + 500]}):
                found[r["key"]] = Usage(r["count"], Decimal(r["amount"]))
        return found

    def put_many(self, usage: dict[str, Usage]) -> None:
        rows = [{"key": k, "count": u.count, "amount": str(u.amount)} for k, u in usage.items()]
        _upsert(self._conn, t.usage, rows, ("key",))

    def keys(self, after: str, limit: int) -> list[str]:
        return list(_USAGE_KEYS.scalars(self._conn, {"after": after, "limit": limit}))

    def remove(self, keys: Iterable[str]) -> int:
        wanted, removed = sorted(set(keys)), 0
        for start in range(0, len(wanted), 500):  # one statement per chunk, not one per key
            removed += _USAGE_REMOVE.rowcount(self._conn, {"keys": wanted[start : start + 500]})
        return removed
