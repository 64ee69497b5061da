"""Repositories over one connection; each method is a few statements, batched where it matters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql

from opsdesk.domain.errors import NotFound
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.policies import Usage
from opsdesk.domain.records import (
    DecisionRecord,
    RawDelivery,
    StoredDelivery,
)
from opsdesk.storage import bulk
from opsdesk.storage import tables as t
from opsdesk.storage.bodies import pack, unpack
from opsdesk.storage.codec import decode_order, dumps, encode_order, loads
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
_ORDERS_OF_SHOP = Fast(
    select(t.orders).where(
        t.orders.c.shop == bindparam("shop"), t.orders.c.order_id.in_(bindparam("ids", expanding=True))
    )
)
_USAGE = Fast(select(t.usage).where(t.usage.c.key.in_(bindparam("keys", expanding=True))))
# A walk along the primary key's index (the retention sweep's pages), and the delete of what it chose.
_USAGE_KEYS = Fast(
    select(t.usage.c.key).where(t.usage.c.key > bindparam("after")).order_by(t.usage.c.key).limit(bindparam("limit"))
)
_USAGE_REMOVE = Fast(delete(t.usage).where(t.usage.c.key.in_(bindparam("keys", expanding=True))))
_DECIDED = Fast(select(t.decisions.c.id).where(t.decisions.c.id.in_(bindparam("ids", expanding=True))))
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

def _insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows that conflict with nothing stored; returns how many went in."""
    return bulk.write(conn, table, rows)


def _upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str], stable: Sequence[str] = ()
) -> None:
    bulk.write(conn, table, rows, upsert_on=keys, stable=stable)


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
            "body": pack(d.body),
            "known_shop": d.known_shop,
            "status": "pending",
            "error": "",
        }
        for d in deliveries
    ]


class SqlOrders:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get_many(
        self, keys: Iterable[tuple[ShopDomain, OrderId]]
    ) -> dict[tuple[ShopDomain, OrderId], OrderState]:
        found: dict[tuple[ShopDomain, OrderId], OrderState] = {}
        by_shop: dict[ShopDomain, list[OrderId]] = {}
        for shop, order_id in set(keys):
            by_shop.setdefault(shop, []).append(order_id)
        for shop, ids in by_shop.items():
            for start in range(0, len(ids), 500):
                params = {"shop": shop, "ids": ids[start : start + 500]}
                for row in _ORDERS_OF_SHOP.rows(self._conn, params):
                    state = _order(row)
                    found[(state.shop, state.order_id)] = state
        return found

    def find(self, shop: ShopDomain, order_id: OrderId) -> OrderState | None:
        return self.get_many([(shop, order_id)]).get((shop, order_id))

    def find_by_id(self, order_id: OrderId) -> list[OrderState]:
        query = select(t.orders).where(t.orders.c.order_id == order_id).order_by(t.orders.c.shop)
        return [_order(row) for row in self._conn.execute(query).mappings()]

    def search(self, term: str, limit: int = 20) -> list[OrderState]:
        term = term.strip()
        if not term:
            return []
        c = t.orders.c
        number = term.removeprefix("#")
        matches: list[ColumnElement[bool]] = [c.name.in_([f"#{number}", number]), c.email.in_([term, term.lower()])]
        if number.isascii() and number.isdigit() and len(number) < 20 and int(number) < 2**63:  # not "²", 2**63
            matches.append(c.order_id == int(number))
        query = select(t.orders).where(or_(*matches)).order_by(c.last_event_at.desc(), c.shop).limit(limit)
        return [_order(row) for row in self._conn.execute(query).mappings()]

    def put_many(self, states: Iterable[OrderState]) -> None:
        rows = [
            {
                "shop": s.shop,
                "order_id": s.order_id,
                "name": s.snapshot.name if s.snapshot else "",
                "email": s.snapshot.email if s.snapshot else "",
                "owner": s.owner,
                "payment_status": s.payment_status,
                "fulfilment_status": s.fulfilment_status,
                "ship_by": s.ship_by,
                "last_event_at": s.last_event_at,
                "state": encode_order(s),
            }
            for s in states
        ]
        # An order's name and email (indexed, for search) hardly ever change: written only where they do.
        _upsert(self._conn, t.orders, rows, ("shop", "order_id"), stable=("name", "email"))


def _order(row: Any) -> OrderState:
    return decode_order(
        row["shop"], row["order_id"], row["state"], row["owner"], row["ship_by"], row["last_event_at"]
    )


class SqlDecisions:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def history(
        self, since: datetime, until: datetime | None, after: tuple[datetime, int, str] | None, limit: int
    ) -> list[DecisionRecord]:
        c = t.decisions.c
        delivery = func.coalesce(c.delivery_id, 0)
        query = select(t.decisions).where(*_taken(since, until))
        if after is not None:
            at, did, last = after
            later = or_(delivery > did, and_(delivery == did, c.id > last))
            query = query.where(or_(c.decided_at > at, and_(c.decided_at == at, later)))
        query = query.order_by(c.decided_at, delivery, c.id).limit(limit)
        return [_decision(r) for r in self._conn.execute(query).mappings()]

    def count_between(self, since: datetime, until: datetime | None) -> int:
        query = select(func.count()).select_from(t.decisions).where(*_taken(since, until))
        return int(self._conn.execute(query).scalar_one())

    def seen(self, ids: Iterable[str]) -> set[str]:
        wanted = list(set(ids))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            found.update(_DECIDED.scalars(self._conn, {"ids": wanted[start : start + 500]}))
        return found

    def add_many(self, decisions: Sequence[DecisionRecord]) -> None:
        rows = [
            {
                "id": d.id,
                "shop": d.shop,
                "delivery_id": d.delivery_id,
                "order_id": d.order_id,
                "event_name": d.event_name,
                "event_key": d.event_key,
                "playbook": d.playbook,
                "rule_id": d.rule_id,
                "policy_version": d.policy_version,
                "outcome": d.outcome,
                "reason": d.reason,
                "inputs": dumps(d.inputs),
                "decided_at": d.decided_at,
            }
            for d in decisions
        ]
        _insert_ignore(self._conn, t.decisions, rows)

    def for_order(self, shop: str, order_id: int) -> list[DecisionRecord]:
        query = (
            select(t.decisions)
            .where(t.decisions.c.shop == shop, t.decisions.c.order_id == order_id)
            .order_by(t.decisions.c.decided_at, t.decisions.c.id)
        )
        return [
            DecisionRecord(
                r["id"],
                r["shop"],
                r["delivery_id"],
                r["order_id"],
                r["event_name"],
                r["event_key"],
                r["playbook"],
                r["rule_id"],
                r["policy_version"],
                r["outcome"],
                r["reason"],
                loads(r["inputs"]),
                r["decided_at"],
            )
            for r in self._conn.execute(query).mappings()
        ]

    def outcomes_by_day(self, since: datetime) -> dict[str, dict[str, int]]:
        c = t.decisions.c
        day = func.date(c.decided_at)
        query = select(day, c.outcome, func.count()).where(c.decided_at >= since).group_by(day, c.outcome)
        found: dict[str, dict[str, int]] = {}
        for when, outcome, count in self._conn.execute(query):
            found.setdefault(str(when)[:10], {})[outcome] = int(count)
        return found


def _taken(since: datetime, until: datetime | None) -> list[Any]:
    c = t.decisions.c
    return [c.decided_at >= since] if until is None else [c.decided_at >= since, c.decided_at < until]


def _decision(r: Any) -> DecisionRecord:
    return DecisionRecord(
        r["id"], r["shop"], r["delivery_id"], r["order_id"], r["event_name"], r["event_key"], r["playbook"],
        r["rule_id"], r["policy_version"], r["outcome"], r["reason"], loads(r["inputs"]), r["decided_at"],
    )


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

