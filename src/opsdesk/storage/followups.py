"""Delayed-fulfilment progress: one row per order followed up, numbered in the order its follow-ups began."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select

from opsdesk.domain.records import FollowupProgress
from opsdesk.storage import bulk
from opsdesk.storage import tables as t
from opsdesk.storage.fast import Fast

_C = t.followups.c
# A follow-up's timer reads its order's row each time it fires: on SQLite's driver (storage/fast.py).
_FIND = Fast(select(t.followups).where(_C.shop == bindparam("shop"), _C.order_id == bindparam("order_id")))
_PAGE = Fast(select(t.followups).where(_C.id > bindparam("after")).order_by(_C.id).limit(bindparam("limit")))
#: Still sent before the horizon: an order followed up again since the page was read keeps its row.
_REMOVE = Fast(delete(t.followups).where(
    _C.id.in_(bindparam("ids", expanding=True)), _C.last_sent_at < bindparam("before", type_=_C.last_sent_at.type)))


class SqlFollowups:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def find(self, shop: str, order_id: int) -> FollowupProgress | None:
        rows = _FIND.rows(self._conn, {"shop": shop, "order_id": order_id})
        return _progress(rows[0]) if rows else None

    def record(self, progress: FollowupProgress) -> None:
        row = {"shop": progress.shop, "order_id": progress.order_id, "sent": progress.sent,
               "started_at": progress.started_at, "last_sent_at": progress.last_sent_at}
        bulk.write(self._conn, t.followups, [row], upsert_on=("shop", "order_id"))

    def page(self, after: int, limit: int) -> list[FollowupProgress]:
        return [_progress(r) for r in _PAGE.rows(self._conn, {"after": after, "limit": limit})]

    def remove(self, ids: Iterable[int], sent_before: datetime) -> int:
        wanted = list(ids)
        removed = 0
        for start in range(0, len(wanted), 500):
            removed += _REMOVE.rowcount(self._conn, {"ids": wanted[start : start + 500], "before": sent_before})
        return removed


def _progress(row: Mapping[str, Any]) -> FollowupProgress:
    return FollowupProgress(row["shop"], row["order_id"], row["sent"], row["started_at"], row["last_sent_at"],
                            row["id"])
