"""The webhook deliveries as received: stored once each, read back in id order, marked, requeued, pruned."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql

from opsdesk.domain.errors import NotFound
from opsdesk.domain.records import RawDelivery, StoredDelivery
from opsdesk.storage import tables as t
from opsdesk.storage.bodies import pack, unpack
from opsdesk.storage.bulk import _insert_ignore
from opsdesk.storage.fast import Fast

# The statements run on every poll or for every event, built once: building a statement per call cost
# more than SQLite running it (the compiled form is cached by SQLAlchemy either way).
# Those run on every event go through ``Fast``: SQLite's driver directly (storage/fast.py).
_COUNT_DELIVERIES = select(func.count()).select_from(t.deliveries)
_DELIVERIES_COUNT = Fast(_COUNT_DELIVERIES)
_DELIVERIES_WITH_STATUS = Fast(_COUNT_DELIVERIES.where(t.deliveries.c.status == bindparam("status")))
#: Deliveries that retention may delete: decided (their decisions stay) or ignored.
DONE_STATUSES = ("processed", "ignored")
_PRUNE_PAGE = (
    select(t.deliveries.c.id, t.deliveries.c.status, t.deliveries.c.received_at)
    .where(t.deliveries.c.id > bindparam("b_after"))
    .order_by(t.deliveries.c.id)
    .limit(bindparam("b_limit"))
)
_OLDEST_WAITING = Fast(select(func.min(t.deliveries.c.received_at)).where(t.deliveries.c.status == "waiting"))
_PENDING_DELIVERIES = Fast(
    select(t.deliveries)
    .where(t.deliveries.c.status == "pending", t.deliveries.c.id > bindparam("after_id"))
    .order_by(t.deliveries.c.id)
    .limit(bindparam("limit"))
)
_PENDING_IDS = Fast(
    select(t.deliveries.c.id)
    .where(t.deliveries.c.status == "pending", t.deliveries.c.id > bindparam("after_id"))
    .order_by(t.deliveries.c.id)
    .limit(bindparam("limit"))
)
_DELIVERIES_BY_ID = Fast(select(t.deliveries).where(t.deliveries.c.id.in_(bindparam("ids", expanding=True))))
_LAST_DELIVERY_ID = Fast(select(func.max(t.deliveries.c.id)))
_NEW_DELIVERY_KEYS = Fast(
    select(t.deliveries.c.id, t.deliveries.c.shop, t.deliveries.c.webhook_id)
    .where(t.deliveries.c.id > bindparam("after_id"))
    .order_by(t.deliveries.c.id)
)
_CLAIM_PENDING = Fast(
    select(t.deliveries.c.id)
    .where(t.deliveries.c.id.in_(bindparam("ids", expanding=True)), t.deliveries.c.status == "pending")
    .with_for_update(skip_locked=True)
)
_MARK_PROCESSED = Fast(
    update(t.deliveries)
    .where(t.deliveries.c.id.in_(bindparam("ids", expanding=True)))
    .values(status=bindparam("b_status"), error=bindparam("b_error"))
)
_REQUEUE_WAITING = Fast(
    update(t.deliveries)
    .where(
        t.deliveries.c.status == "waiting",
        t.deliveries.c.shop == bindparam("b_shop"),
        t.deliveries.c.error.in_(bindparam("b_errors", expanding=True)),
    )
    .values(status="pending", error="")
)


class SqlDeliveries:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, deliveries: Sequence[RawDelivery]) -> int:
        return _insert_ignore(self._conn, t.deliveries, _delivery_rows(deliveries))

    def store(self, deliveries: Sequence[RawDelivery]) -> list[StoredDelivery]:
        """``add``, returning the deliveries that were new with their ids, in id order, as given (their
        parsed ``payload`` kept): a caller processing them in the same transaction need not read back
        the bodies it has just written. A duplicate (stored before, or earlier in the same call) is left out.
        """
        rows = _delivery_rows(deliveries)
        if not rows:
            return []
        if self._conn.dialect.name == "sqlite":
            # Under SQLite's write lock (BEGIN IMMEDIATE) nobody else inserts: the new rows are those
            # after the highest id before the insert (ids only grow), read back without their bodies.
            before = int(_LAST_DELIVERY_ID.scalar(self._conn) or 0)
            _insert_ignore(self._conn, t.deliveries, rows)
            new = _NEW_DELIVERY_KEYS.rows(self._conn, {"after_id": before})
        else:  # other writers may insert concurrently: the insert itself says which rows it added
            statement = postgresql.insert(t.deliveries).on_conflict_do_nothing()
            keys = (t.deliveries.c.id, t.deliveries.c.shop, t.deliveries.c.webhook_id)
            new = [dict(r) for r in self._conn.execute(statement.returning(*keys), rows).mappings()]
        ids = {(r["shop"], r["webhook_id"]): int(r["id"]) for r in new}
        stored: list[StoredDelivery] = []
        for d in deliveries:
            found = ids.pop((d.shop, d.webhook_id), None)  # popped: a later duplicate in the call is not new
            if found is not None:
                stored.append(StoredDelivery(found, _as_stored(d)))
        stored.sort(key=lambda s: s.id)
        return stored

    def pending(
        self, limit: int, after_id: int = 0, have: Mapping[int, StoredDelivery] | None = None
    ) -> list[StoredDelivery]:
        params = {"after_id": after_id, "limit": limit}
        if not have:
            return [_delivery(row) for row in _PENDING_DELIVERIES.rows(self._conn, params)]
        ids = _PENDING_IDS.scalars(self._conn, params)  # the batch's ids, then only the rows not in hand
        wanted = [i for i in ids if i not in have]
        read: dict[int, StoredDelivery] = {}
        for start in range(0, len(wanted), 500):
            rows = _DELIVERIES_BY_ID.rows(self._conn, {"ids": wanted[start : start + 500]})
            read.update((int(row["id"]), _delivery(row)) for row in rows)
        return [have[i] if i in have else read[i] for i in ids]

    def claim_pending(self, ids: Sequence[int]) -> set[int]:
        claimed: set[int] = set()
        for start in range(0, len(ids), 500):
            claimed.update(_CLAIM_PENDING.scalars(self._conn, {"ids": ids[start : start + 500]}))
        return claimed

    def get(self, delivery_id: int) -> StoredDelivery:
        row = (
            self._conn.execute(select(t.deliveries).where(t.deliveries.c.id == delivery_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"no delivery {delivery_id}")
        return _delivery(row)

    def mark_processed(self, ids: Iterable[int], status: str = "processed", error: str = "") -> None:
        wanted = list(ids)
        for start in range(0, len(wanted), 500):  # one statement per chunk, not one per delivery
            chunk = wanted[start : start + 500]
            _MARK_PROCESSED.rowcount(self._conn, {"ids": chunk, "b_status": status, "b_error": error})

    def requeue_waiting(self, shop: str, order_ids: Iterable[int]) -> int:
        waited_for = sorted(f"order:{order_id}" for order_id in order_ids)
        requeued = 0
        for start in range(0, len(waited_for), 500):  # one statement per chunk, not one per order
            params = {"b_shop": shop, "b_errors": waited_for[start : start + 500]}
            requeued += _REQUEUE_WAITING.rowcount(self._conn, params)
        return requeued

    def release_waiting(self, received_before: datetime) -> int:
        c = t.deliveries.c
        stmt = (
            update(t.deliveries)
            .where(c.status == "waiting", c.received_at < received_before)
            .values(status="pending")
        )
        return max(self._conn.execute(stmt).rowcount, 0)

    def oldest_waiting(self) -> datetime | None:
        found: datetime | None = _OLDEST_WAITING.scalar(self._conn)
        return found

    def count(self, status: str | None = None) -> int:
        if status is None:
            return int(_DELIVERIES_COUNT.scalar(self._conn))
        return int(_DELIVERIES_WITH_STATUS.scalar(self._conn, {"status": status}))

    def prune(self, after: int, limit: int, received_before: datetime) -> tuple[int, int, bool]:
        c = t.deliveries.c
        page = self._conn.execute(_PRUNE_PAGE, {"b_after": after, "b_limit": limit}).all()
        doomed, cursor, reached = [], after, len(page) < limit
        for delivery_id, status, received_at in page:
            if received_at >= received_before:  # ids follow arrival: the rest are newer still
                reached = True
                break
            if status in DONE_STATUSES:
                doomed.append(delivery_id)
            cursor = delivery_id
        for start in range(0, len(doomed), 500):
            # The status is checked again: a row requeued since the read is kept.
            where = c.id.in_(doomed[start : start + 500]), c.status.in_(DONE_STATUSES)
            self._conn.execute(delete(t.deliveries).where(*where))
        return cursor, len(doomed), reached


def _delivery(row: Any) -> StoredDelivery:
    return StoredDelivery(
        row["id"],
        RawDelivery(
            shop=row["shop"],
            webhook_id=row["webhook_id"],
            topic=row["topic"],
            body=unpack(bytes(row["body"])),
            received_at=row["received_at"],
            api_version=row["api_version"],
            event_id=row["event_id"],
            triggered_at=row["triggered_at"],
            known_shop=row["known_shop"],
        ),
    )


def _as_stored(d: RawDelivery) -> RawDelivery:
    """The delivery as ``pending`` reads it back: its times in UTC, since an event's key (hence a decision's
    id) may be made of them, and ``isoformat`` tells ``-05:00`` from UTC."""
    if d.received_at.tzinfo is UTC and (d.triggered_at is None or d.triggered_at.tzinfo is UTC):
        return d
    triggered = None if d.triggered_at is None else d.triggered_at.astimezone(UTC)
    return replace(d, received_at=d.received_at.astimezone(UTC), triggered_at=triggered)


def _delivery_rows(deliveries: Sequence[RawDelivery]) -> list[dict[str, Any]]:
    return [
        {
            "shop": d.shop,
            "webhook_id": d.webhook_id,
            "topic": d.topic,
            "api_version": d.api_version,
            "event_id": d.event_id,
            "triggered_at": d.triggered_at,
            "received_at": d.received_at,
            "body": pack(d.body) if d.packed is None else d.packed,
            "known_shop": d.known_shop,
            "status": "pending",
            "error": "",
        }
        for d in deliveries
    ]
