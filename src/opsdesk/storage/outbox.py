"""The outbox's table: actions added with their decision, claimed under a lease, their outcomes written back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, or_, select, update

from opsdesk.domain.errors import NotFound
from opsdesk.domain.outbox import ActionStatus, released_at
from opsdesk.domain.records import OutboxAction
from opsdesk.storage import bulk
from opsdesk.storage import tables as t
from opsdesk.storage.codec import dumps, loads
from opsdesk.storage.fast import Fast

# The outbox's statements run once per poll (next due, claim) or per action sent (save): Fast (ADR 0017).
_EARLIER = t.actions.alias("earlier")
#: An action may go: it is first in its decision, or no earlier action of its decision is pending (ADR 0042). Most
#: actions are at 0 and cost nothing more; a later one costs one probe of ix_actions_decision.
_MAY_GO = or_(
    t.actions.c.position == 0,
    ~exists().where(
        _EARLIER.c.decision_id == t.actions.c.decision_id,
        _EARLIER.c.position < t.actions.c.position,
        _EARLIER.c.status == ActionStatus.PENDING.value,
    ),
)
# The first due in ix_actions_due's order that may go (a min() over the filter would read every pending row).
_NEXT_ACTION_DUE = Fast(
    select(t.actions.c.next_attempt_at)
    .where(t.actions.c.status == ActionStatus.PENDING.value, _MAY_GO)
    .order_by(t.actions.c.next_attempt_at)
    .limit(1)
)

#: What an attempt changes in an action (``save``): the rest (its payload, key, ...) is written once, by add_many.
_OUTCOME_COLUMNS = ("status", "attempts", "next_attempt_at", "last_error", "history")
_SAVE_ACTION = Fast(
    update(t.actions)
    .where(t.actions.c.id == bindparam("w_id"), t.actions.c.lease_owner == bindparam("w_worker"))
    .values(
        {
            **{name: bindparam(f"v_{name}", type_=t.actions.c[name].type) for name in _OUTCOME_COLUMNS},
            "lease_owner": None,
            "lease_until": None,
        }
    )
)
_CLAIMABLE_ACTIONS = Fast(
    select(t.actions)
    .where(
        t.actions.c.status == ActionStatus.PENDING.value,
        t.actions.c.next_attempt_at <= bindparam("now"),
        or_(t.actions.c.lease_until.is_(None), t.actions.c.lease_until < bindparam("now")),
        _MAY_GO,
    )
    .order_by(t.actions.c.next_attempt_at, t.actions.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_ACTIONS_OF_ORDERS = Fast(
    select(t.actions)
    .where(
        t.actions.c.shop == bindparam("shop"),
        t.actions.c.order_id.in_(bindparam("order_ids", expanding=True)),
        t.actions.c.kind == bindparam("kind"),
    )
    .order_by(t.actions.c.created_at, t.actions.c.id)
)
_PENDING_AFTER = (
    select(t.actions)
    .where(
        t.actions.c.decision_id == bindparam("decision"),
        t.actions.c.position > bindparam("position"),
        t.actions.c.status == ActionStatus.PENDING.value,
    )
    .order_by(t.actions.c.position, t.actions.c.id)
)
#: A later action failed without being claimed: written only while it is still pending.
_CANCEL_ACTION = (
    update(t.actions)
    .where(t.actions.c.id == bindparam("w_id"), t.actions.c.status == ActionStatus.PENDING.value)
    .values({name: bindparam(f"v_{name}", type_=t.actions.c[name].type) for name in _OUTCOME_COLUMNS})
)
#: A retried action's later ones are not due before it: a claim does not read past them while it waits.
_POSTPONE_AFTER = (
    update(t.actions)
    .where(
        t.actions.c.decision_id == bindparam("b_decision"),
        t.actions.c.position > bindparam("b_position"),
        t.actions.c.status == ActionStatus.PENDING.value,
        t.actions.c.next_attempt_at < bindparam("b_at"),
    )
    .values(next_attempt_at=bindparam("b_at"))
)
_HOLD_SHOP = (
    update(t.actions)
    .where(
        t.actions.c.provider == bindparam("b_provider"),
        t.actions.c.shop == bindparam("b_shop"),
        t.actions.c.status == ActionStatus.PENDING.value,
        t.actions.c.next_attempt_at < bindparam("b_at"),
    )
    .values(next_attempt_at=bindparam("b_at"))
)
_LEASE_ACTIONS = Fast(
    update(t.actions)
    .where(t.actions.c.id.in_(bindparam("ids", expanding=True)))
    .values(lease_owner=bindparam("worker"), lease_until=bindparam("until"))
)


class SqlOutbox:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_many(self, actions: Sequence[OutboxAction]) -> None:
        bulk.write(self._conn, t.actions, [_action_row(a) for a in actions])

    def claim_due(self, now: datetime, limit: int, lease_until: datetime, worker: str) -> list[OutboxAction]:
        # The rows are read with the claim's check (and locks): the lease columns they carry are not
        # part of an OutboxAction, so leasing them after the read changes nothing read.
        rows = _CLAIMABLE_ACTIONS.rows(self._conn, {"now": now, "limit": limit})
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        _LEASE_ACTIONS.rowcount(self._conn, {"ids": ids, "worker": worker, "until": lease_until})
        return [_action(r) for r in rows]

    def next_due_at(self) -> datetime | None:
        value: datetime | None = _NEXT_ACTION_DUE.scalar(self._conn)  # typed by the column: UTC-aware
        return value

    def save(self, action: OutboxAction, *, worker: str) -> bool:
        return _SAVE_ACTION.rowcount(self._conn, {**_outcome_params(action), "w_worker": worker}) == 1

    def pending_after(self, action: OutboxAction) -> list[OutboxAction]:
        params = {"decision": action.decision_id, "position": action.position}
        return [_action(r) for r in self._conn.execute(_PENDING_AFTER, params).mappings()]

    def postpone_after(self, action: OutboxAction) -> None:
        params = {
            "b_decision": action.decision_id,
            "b_position": action.position,
            "b_at": action.next_attempt_at,
        }
        self._conn.execute(_POSTPONE_AFTER, params)

    def hold_shop(self, provider: str, shop: str, until: datetime) -> int:
        params = {"b_provider": provider, "b_shop": shop, "b_at": until}
        return int(self._conn.execute(_HOLD_SHOP, params).rowcount)

    def release_shop(self, provider: str, shop: str, now: datetime) -> int:
        c = t.actions.c
        waiting = select(c.id, c.history, c.next_attempt_at).where(
            c.provider == provider, c.shop == shop, c.status == ActionStatus.PENDING.value, c.next_attempt_at > now)
        moved = 0
        for row in self._conn.execute(waiting).mappings():
            due = released_at(loads(row["history"]), row["next_attempt_at"], now)
            if due < row["next_attempt_at"]:
                self._conn.execute(update(t.actions).where(c.id == row["id"]).values(next_attempt_at=due))
                moved += 1
        return moved

    def cancel(self, actions: Sequence[OutboxAction]) -> int:
        return sum(self._conn.execute(_CANCEL_ACTION, _outcome_params(a)).rowcount for a in actions)

    def get(self, action_id: str) -> OutboxAction:
        row = self._conn.execute(select(t.actions).where(t.actions.c.id == action_id)).mappings().first()
        if row is None:
            raise NotFound(f"no action {action_id}")
        return _action(row)

    def for_order(self, shop: str, order_id: int) -> list[OutboxAction]:
        c = t.actions.c
        query = select(t.actions).where(c.shop == shop, c.order_id == order_id).order_by(c.created_at, c.id)
        return [_action(r) for r in self._conn.execute(query).mappings()]

    def for_orders(self, shop: str, order_ids: Iterable[int], kind: str) -> dict[int, list[OutboxAction]]:
        wanted = sorted(set(order_ids))
        found: dict[int, list[OutboxAction]] = {}
        for start in range(0, len(wanted), 500):  # one statement per chunk, not one per order
            params = {"shop": shop, "order_ids": wanted[start : start + 500], "kind": kind}
            for row in _ACTIONS_OF_ORDERS.rows(self._conn, params):
                found.setdefault(row["order_id"], []).append(_action(row))
        return found

    def count(self, status: str | None = None) -> int:
        query = select(func.count()).select_from(t.actions)
        if status is not None:
            query = query.where(t.actions.c.status == status)
        return int(self._conn.execute(query).scalar_one())


def _outcome_params(action: OutboxAction) -> dict[str, Any]:
    """The parameters that write an action's outcome columns (``_OUTCOME_COLUMNS``) to the row named by ``w_id``."""
    return {
        "v_status": action.status.value,
        "v_attempts": action.attempts,
        "v_next_attempt_at": action.next_attempt_at,
        "v_last_error": action.last_error,
        "v_history": dumps(action.history),
        "w_id": action.id,
    }


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
        "position": a.position,
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
        position=r["position"],
    )
