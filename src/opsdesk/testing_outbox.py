"""The in-memory outbox, for ``opsdesk.testing``: actions claimed under a lease, as ``storage`` claims them.
It works on the in-memory unit of work's ``actions`` and ``leases``, so it commits and rolls back with it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from opsdesk.domain.errors import NotFound
from opsdesk.domain.outbox import ActionStatus, released_at
from opsdesk.domain.records import OutboxAction
from opsdesk.testing_rows import as_stored, in_utc


class Tables(Protocol):
    actions: dict[str, OutboxAction]
    leases: dict[str, tuple[str, datetime]]  # action id: (worker, until)


def _action(a: OutboxAction) -> OutboxAction:
    return replace(in_utc(a), payload=as_stored(a.payload), history=tuple(as_stored(a.history)))


class MemoryOutbox:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def add_many(self, actions: Sequence[OutboxAction]) -> None:
        for a in actions:
            if a.id not in self.t.actions:
                self.t.actions[a.id] = _action(a)

    def claim_due(self, now: datetime, limit: int, lease_until: datetime, worker: str) -> list[OutboxAction]:
        may_go = self._may_go()
        due = sorted(
            (
                a
                for a in self.t.actions.values()
                if a.status is ActionStatus.PENDING
                and a.next_attempt_at <= now
                and (a.id not in self.t.leases or self.t.leases[a.id][1] < now)
                and may_go(a)
            ),
            key=lambda a: (a.next_attempt_at, a.id),
        )[:limit]
        for a in due:
            self.t.leases[a.id] = (worker, lease_until)
        return due

    def next_due_at(self) -> datetime | None:
        may_go = self._may_go()
        due = [a.next_attempt_at for a in self.t.actions.values() if a.status is ActionStatus.PENDING and may_go(a)]
        return min(due) if due else None

    def _may_go(self) -> Callable[[OutboxAction], bool]:
        """Whether an action is first in its decision, or no earlier action of its decision is pending (ADR 0042)."""
        first: dict[str, int] = {}  # each decision's lowest pending position
        for a in self.t.actions.values():
            if a.status is ActionStatus.PENDING:
                first[a.decision_id] = min(a.position, first.get(a.decision_id, a.position))
        return lambda action: action.position <= first.get(action.decision_id, action.position)

    def pending_after(self, action: OutboxAction) -> list[OutboxAction]:
        later = [
            a
            for a in self.t.actions.values()
            if a.decision_id == action.decision_id and a.position > action.position and a.status is ActionStatus.PENDING
        ]
        return sorted(later, key=lambda a: (a.position, a.id))

    def postpone_after(self, action: OutboxAction) -> None:
        for later in self.pending_after(action):
            if later.next_attempt_at < action.next_attempt_at:
                self.t.actions[later.id] = replace(later, next_attempt_at=in_utc(action).next_attempt_at)

    def hold_shop(self, provider: str, shop: str, until: datetime) -> int:
        held = [a for a in self.t.actions.values() if a.provider == provider and a.shop == shop
                and a.status is ActionStatus.PENDING and a.next_attempt_at < until]
        for action in held:
            self.t.actions[action.id] = replace(action, next_attempt_at=until)
        return len(held)

    def release_shop(self, provider: str, shop: str, now: datetime) -> int:
        moved = 0
        for action in list(self.t.actions.values()):
            if action.provider != provider or action.shop != shop or action.status is not ActionStatus.PENDING:
                continue
            due = released_at(action.history, action.next_attempt_at, now)
            if due < action.next_attempt_at:
                self.t.actions[action.id] = replace(action, next_attempt_at=due)
                moved += 1
        return moved

    def cancel(self, actions: Sequence[OutboxAction]) -> int:
        written = 0
        for action in actions:
            if self.t.actions[action.id].status is ActionStatus.PENDING:
                self._write(action)
                written += 1
        return written

    def save(self, action: OutboxAction, *, worker: str) -> bool:
        lease = self.t.leases.get(action.id)
        if lease is None or lease[0] != worker:
            return False
        del self.t.leases[action.id]
        self._write(action)
        return True

    def _write(self, action: OutboxAction) -> None:
        saved = _action(action)
        self.t.actions[action.id] = replace(
            self.t.actions[action.id],
            status=saved.status,
            attempts=saved.attempts,
            next_attempt_at=saved.next_attempt_at,
            last_error=saved.last_error,
            history=saved.history,
        )

    def get(self, action_id: str) -> OutboxAction:
        if action_id not in self.t.actions:
            raise NotFound(f"no action {action_id}")
        return self.t.actions[action_id]

    def for_order(self, shop: str, order_id: int) -> list[OutboxAction]:
        found = [a for a in self.t.actions.values() if a.shop == shop and a.order_id == order_id]
        return sorted(found, key=lambda a: (a.created_at, a.id))

    def for_orders(self, shop: str, order_ids: Iterable[int], kind: str) -> dict[int, list[OutboxAction]]:
        found = {order_id: [a for a in self.for_order(shop, order_id) if a.kind == kind] for order_id in order_ids}
        return {order_id: actions for order_id, actions in found.items() if actions}

    def count(self, status: str | None = None) -> int:
        return sum(1 for a in self.t.actions.values() if status is None or a.status.value == status)
