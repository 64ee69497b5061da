"""The in-memory repository of webhook deliveries, for ``opsdesk.testing``: it works on the in-memory unit of
work's ``deliveries``, ``delivery_status`` and ``delivery_keys``, so it commits and rolls back with it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from opsdesk.domain.errors import NotFound
from opsdesk.domain.records import RawDelivery, StoredDelivery
from opsdesk.testing_rows import in_utc


class Tables(Protocol):
    deliveries: dict[int, StoredDelivery]
    delivery_status: dict[int, tuple[str, str]]  # (status, error or what it waits for)
    delivery_keys: set[tuple[str, str]]


class MemoryDeliveries:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def add(self, deliveries: Sequence[RawDelivery]) -> int:
        new = 0
        for d in deliveries:
            if (d.shop, d.webhook_id) in self.t.delivery_keys:
                continue
            self.t.delivery_keys.add((d.shop, d.webhook_id))
            next_id = max(self.t.deliveries, default=0) + 1  # ids are never reused, as in SQL
            self.t.deliveries[next_id] = StoredDelivery(next_id, in_utc(d))
            self.t.delivery_status[next_id] = ("pending", "")
            new += 1
        return new

    def store(self, deliveries: Sequence[RawDelivery]) -> list[StoredDelivery]:
        first = max(self.t.deliveries, default=0) + 1
        self.add(deliveries)
        return [d for i, d in sorted(self.t.deliveries.items()) if i >= first]

    def prune(self, after: int, limit: int, received_before: datetime) -> tuple[int, int, bool]:
        page = [i for i in sorted(self.t.deliveries) if i > after][:limit]
        cursor, deleted, reached = after, 0, len(page) < limit
        for i in page:
            if self.t.deliveries[i].delivery.received_at >= received_before:
                reached = True
                break
            if self.t.delivery_status[i][0] in ("processed", "ignored"):
                gone = self.t.deliveries.pop(i).delivery
                del self.t.delivery_status[i]
                self.t.delivery_keys.discard((gone.shop, gone.webhook_id))
                deleted += 1
            cursor = i
        return cursor, deleted, reached

    def pending(
        self, limit: int, after_id: int = 0, have: Mapping[int, StoredDelivery] | None = None
    ) -> list[StoredDelivery]:
        ids = [i for i, (s, _) in sorted(self.t.delivery_status.items()) if s == "pending" and i > after_id]
        have = have or {}
        return [have[i] if i in have else self.t.deliveries[i] for i in ids[:limit]]

    def claim_pending(self, ids: Sequence[int]) -> set[int]:
        return {i for i in ids if self.t.delivery_status.get(i, ("", ""))[0] == "pending"}

    def mark_processed(self, ids: Iterable[int], status: str = "processed", error: str = "") -> None:
        for i in ids:
            if i in self.t.deliveries:
                self.t.delivery_status[i] = (status, error)

    def requeue_waiting(self, shop: str, order_ids: Iterable[int]) -> int:
        waited_for = {f"order:{order_id}" for order_id in order_ids}
        ids = [
            i
            for i, (s, e) in self.t.delivery_status.items()
            if s == "waiting" and e in waited_for and self.t.deliveries[i].delivery.shop == shop
        ]
        self.mark_processed(ids, "pending", "")
        return len(ids)

    def release_waiting(self, received_before: datetime) -> int:
        ids = [
            i
            for i, (s, e) in self.t.delivery_status.items()
            if s == "waiting" and self.t.deliveries[i].delivery.received_at < received_before
        ]
        for i in ids:
            self.t.delivery_status[i] = ("pending", self.t.delivery_status[i][1])
        return len(ids)

    def oldest_waiting(self) -> datetime | None:
        waiting = [
            self.t.deliveries[i].delivery.received_at
            for i, (s, _) in self.t.delivery_status.items()
            if s == "waiting"
        ]
        return min(waiting, default=None)

    def count(self, status: str | None = None) -> int:
        return sum(1 for s, _ in self.t.delivery_status.values() if status is None or s == status)

    def get(self, delivery_id: int) -> StoredDelivery:
        if delivery_id not in self.t.deliveries:
            raise NotFound(f"no delivery {delivery_id}")
        return self.t.deliveries[delivery_id]
