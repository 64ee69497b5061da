"""Repositories over one connection; each method is a few statements, batched where it matters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, and_, func, or_, select, update

from opsdesk.domain.errors import NotFound
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.policies import Usage
from opsdesk.domain.records import (
    ApiToken,
    AuditEntry,
    DecisionRecord,
    OutboxAction,
    RawDelivery,
    StoredDelivery,
)
from opsdesk.storage import bulk
from opsdesk.storage import tables as t
from opsdesk.storage.codec import decode_order, dumps, encode_order, loads


def _insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows that conflict with nothing stored; returns how many went in."""
    return bulk.write(conn, table, rows)


def _upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    bulk.write(conn, table, rows, upsert_on=keys)


class SqlDeliveries:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, deliveries: Sequence[RawDelivery]) -> int:
        rows = [
            {
                "shop": d.shop,
                "webhook_id": d.webhook_id,
                "topic": d.topic,
                "api_version": d.api_version,
                "event_id": d.event_id,
                "triggered_at": d.triggered_at,
                "received_at": d.received_at,
                "body": d.body,
                "known_shop": d.known_shop,
                "status": "pending",
                "error": "",
            }
            for d in deliveries
        ]
        return _insert_ignore(self._conn, t.deliveries, rows)

    def pending(self, limit: int, after_id: int = 0) -> list[StoredDelivery]:
        query = (
            select(t.deliveries)
            .where(t.deliveries.c.status == "pending", t.deliveries.c.id > after_id)
            .order_by(t.deliveries.c.id)
            .limit(limit)
        )
        return [_delivery(row) for row in self._conn.execute(query).mappings()]

    def claim_pending(self, ids: Sequence[int]) -> set[int]:
        c = t.deliveries.c
        claimed: set[int] = set()
        for start in range(0, len(ids), 500):
            query = (select(c.id).where(c.id.in_(ids[start:start + 500]), c.status == "pending")
                     .with_for_update(skip_locked=True))
            claimed.update(self._conn.execute(query).scalars())
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
            self._conn.execute(
                update(t.deliveries).where(t.deliveries.c.id.in_(chunk)).values(status=status, error=error)
            )

    def requeue_waiting(self, shop: str, order_id: int) -> int:
        c = t.deliveries.c
        stmt = (
            update(t.deliveries)
            .where(c.status == "waiting", c.shop == shop, c.error == f"order:{order_id}")
            .values(status="pending", error="")
        )
        return max(self._conn.execute(stmt).rowcount, 0)

    def release_waiting(self, received_before: datetime) -> int:
        c = t.deliveries.c
        stmt = (
            update(t.deliveries)
            .where(c.status == "waiting", c.received_at < received_before)
            .values(status="pending")
        )
        return max(self._conn.execute(stmt).rowcount, 0)

    def count(self, status: str | None = None) -> int:
        query = select(func.count()).select_from(t.deliveries)
        if status is not None:
            query = query.where(t.deliveries.c.status == status)
        return int(self._conn.execute(query).scalar_one())


def _delivery(row: Any) -> StoredDelivery:
    return StoredDelivery(
        row["id"],
        RawDelivery(
            shop=row["shop"],
            webhook_id=row["webhook_id"],
            topic=row["topic"],
            body=bytes(row["body"]),
            received_at=row["received_at"],
            api_version=row["api_version"],
            event_id=row["event_id"],
            triggered_at=row["triggered_at"],
            known_shop=row["known_shop"],
        ),
    )


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
                query = select(t.orders).where(
                    t.orders.c.shop == shop, t.orders.c.order_id.in_(ids[start : start + 500])
                )
                for row in self._conn.execute(query).mappings():
                    state = _order(row)
                    found[(state.shop, state.order_id)] = state
        return found

    def find(self, shop: ShopDomain, order_id: OrderId) -> OrderState | None:
        return self.get_many([(shop, order_id)]).get((shop, order_id))

    def find_by_id(self, order_id: OrderId) -> list[OrderState]:
        query = select(t.orders).where(t.orders.c.order_id == order_id).order_by(t.orders.c.shop)
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
        _upsert(self._conn, t.orders, rows, ("shop", "order_id"))


def _order(row: Any) -> OrderState:
    return decode_order(
        row["shop"], row["order_id"], row["state"], row["owner"], row["ship_by"], row["last_event_at"]
    )


class SqlDecisions:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def seen(self, ids: Iterable[str]) -> set[str]:
        wanted = list(set(ids))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            query = select(t.decisions.c.id).where(t.decisions.c.id.in_(wanted[start : start + 500]))
            found.update(self._conn.execute(query).scalars())
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


class SqlOutbox:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_many(self, actions: Sequence[OutboxAction]) -> None:
        _insert_ignore(self._conn, t.actions, [_action_row(a) for a in actions])

    def claim_due(self, now: datetime, limit: int, lease_until: datetime, worker: str) -> list[OutboxAction]:
        c = t.actions.c
        due = and_(
            c.status == ActionStatus.PENDING.value,
            c.next_attempt_at <= now,
            or_(c.lease_until.is_(None), c.lease_until < now),
        )
        query = (
            select(c.id)
            .where(due)
            .order_by(c.next_attempt_at, c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(self._conn.execute(query).scalars())
        if not ids:
            return []
        self._conn.execute(
            update(t.actions).where(c.id.in_(ids)).values(lease_owner=worker, lease_until=lease_until)
        )
        rows = self._conn.execute(
            select(t.actions).where(c.id.in_(ids)).order_by(c.next_attempt_at, c.id)
        ).mappings()
        return [_action(r) for r in rows]

    def next_due_at(self) -> datetime | None:
        c = t.actions.c
        query = select(func.min(c.next_attempt_at)).where(c.status == ActionStatus.PENDING.value)
        value: datetime | None = self._conn.execute(query).scalar_one()  # typed by the column: UTC-aware
        return value

    def save(self, action: OutboxAction, *, worker: str) -> bool:
        c = t.actions.c
        values = _action_row(action)
        values.update(lease_owner=None, lease_until=None)
        stmt = update(t.actions).where(c.id == action.id, c.lease_owner == worker).values(**values)
        return self._conn.execute(stmt).rowcount == 1

    def get(self, action_id: str) -> OutboxAction:
        row = self._conn.execute(select(t.actions).where(t.actions.c.id == action_id)).mappings().first()
        if row is None:
            raise NotFound(f"no action {action_id}")
        return _action(row)

    def for_order(self, shop: str, order_id: int) -> list[OutboxAction]:
        c = t.actions.c
        query = select(t.actions).where(c.shop == shop, c.order_id == order_id).order_by(c.created_at, c.id)
        return [_action(r) for r in self._conn.execute(query).mappings()]

    def count(self, status: str | None = None) -> int:
        query = select(func.count()).select_from(t.actions)
        if status is not None:
            query = query.where(t.actions.c.status == status)
        return int(self._conn.execute(query).scalar_one())


def _action_row(a: OutboxAction) -> dict[str, Any]:
    return {
        "id": a.id,
        "decision_id": a.decision_id,
        "shop": a.shop,
        "order_id": a.order_id,
        "kind": a.kind,
        "provider": a.provider,
        "payload": dumps(a.payload),
        "idempotency_key": a.idempotency_key,
        "status": a.status.value,
        "attempts": a.attempts,
        "next_attempt_at": a.next_attempt_at,
        "last_error": a.last_error,
        "history": dumps(a.history),
        "created_at": a.created_at,
    }


def _action(r: Any) -> OutboxAction:
    return OutboxAction(
        id=r["id"],
        decision_id=r["decision_id"],
        shop=r["shop"],
        order_id=r["order_id"],
        kind=r["kind"],
        provider=r["provider"],
        payload=loads(r["payload"]),
        idempotency_key=r["idempotency_key"],
        created_at=r["created_at"],
        next_attempt_at=r["next_attempt_at"],
        status=ActionStatus(r["status"]),
        attempts=r["attempts"],
        last_error=r["last_error"],
        history=tuple(loads(r["history"])),
    )


class SqlUsage:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get_many(self, keys: Iterable[str]) -> dict[str, Usage]:
        query = select(t.usage).where(t.usage.c.key.in_(list(set(keys))))
        return {
            r["key"]: Usage(r["count"], Decimal(r["amount"])) for r in self._conn.execute(query).mappings()
        }

    def put_many(self, usage: dict[str, Usage]) -> None:
        rows = [{"key": k, "count": u.count, "amount": str(u.amount)} for k, u in usage.items()]
        _upsert(self._conn, t.usage, rows, ("key",))


class SqlAudit:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record(self, entries: Sequence[AuditEntry]) -> None:
        rows = [
            {
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "before": dumps(e.before) if e.before is not None else None,
                "after": dumps(e.after) if e.after is not None else None,
            }
            for e in entries
        ]
        if rows:
            self._conn.execute(t.audit.insert(), rows)

    def count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(t.audit)).scalar_one())


class SqlTokens:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, token: ApiToken) -> None:
        self._conn.execute(
            t.api_tokens.insert().values(
                id=token.id,
                name=token.name,
                role=token.role,
                digest=token.digest,
                created_at=token.created_at,
                revoked=token.revoked,
            )
        )

    def find_by_digest(self, digest: str) -> ApiToken | None:
        row = (
            self._conn.execute(select(t.api_tokens).where(t.api_tokens.c.digest == digest)).mappings().first()
        )
        if row is None:
            return None
        return ApiToken(row["id"], row["name"], row["role"], row["digest"], row["created_at"], row["revoked"])
