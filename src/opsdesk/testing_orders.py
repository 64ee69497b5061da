"""In-memory repositories of what the pipeline writes as it decides, for ``opsdesk.testing``: the orders'
state, the decision records and the guardrails' usage. They work on the in-memory unit of work's
``orders``, ``decisions`` and ``usage``, so they commit and roll back with it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.policies import Usage
from opsdesk.domain.records import DecisionRecord
from opsdesk.testing_rows import as_stored, in_utc


class Tables(Protocol):
    orders: dict[tuple[str, int], OrderState]
    decisions: dict[str, DecisionRecord]
    usage: dict[str, Usage]


class MemoryOrders:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def get_many(
        self, keys: Iterable[tuple[ShopDomain, OrderId]]
    ) -> dict[tuple[ShopDomain, OrderId], OrderState]:
        return {k: self.t.orders[k] for k in keys if k in self.t.orders}

    def find(self, shop: ShopDomain, order_id: OrderId) -> OrderState | None:
        return self.t.orders.get((shop, order_id))

    def find_by_id(self, order_id: OrderId) -> list[OrderState]:
        return sorted((s for (_, i), s in self.t.orders.items() if i == order_id), key=lambda s: s.shop)

    def search(self, term: str, limit: int = 20) -> list[OrderState]:
        number = term.strip().removeprefix("#")
        if not number:
            return []

        def matches(s: OrderState) -> bool:
            snap = s.snapshot
            named = snap is not None and (
                snap.name.removeprefix("#") == number or snap.email.lower() == number.lower()
            )
            return named or str(s.order_id) == number

        found = sorted((s for s in self.t.orders.values() if matches(s)), key=lambda s: s.shop)
        return sorted(found, key=lambda s: s.last_event_at or datetime.min.replace(tzinfo=UTC), reverse=True)[
            :limit
        ]

    def put_many(self, states: Iterable[OrderState]) -> None:
        for s in states:
            self.t.orders[(s.shop, s.order_id)] = in_utc(s)


class MemoryDecisions:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def seen(self, ids: Iterable[str]) -> set[str]:
        return {i for i in ids if i in self.t.decisions}

    def add_many(self, decisions: Sequence[DecisionRecord]) -> None:
        for d in decisions:
            if d.id not in self.t.decisions:
                self.t.decisions[d.id] = replace(in_utc(d), inputs=as_stored(d.inputs))

    def for_order(self, shop: str, order_id: int) -> list[DecisionRecord]:
        found = [d for d in self.t.decisions.values() if d.shop == shop and d.order_id == order_id]
        return sorted(found, key=lambda d: (d.decided_at, d.id))

    def history(
        self, since: datetime, until: datetime | None, after: tuple[datetime, int, str] | None, limit: int
    ) -> list[DecisionRecord]:
        def key(d: DecisionRecord) -> tuple[datetime, int, str]:
            return (d.decided_at, d.delivery_id or 0, d.id)

        found = sorted((d for d in self.t.decisions.values() if _taken(d, since, until)), key=key)
        return [d for d in found if after is None or key(d) > after][:limit]

    def count_between(self, since: datetime, until: datetime | None) -> int:
        return sum(1 for d in self.t.decisions.values() if _taken(d, since, until))

    def outcomes_by_day(self, since: datetime) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for d in self.t.decisions.values():
            if d.decided_at >= since:
                day = found.setdefault(d.decided_at.astimezone(UTC).date().isoformat(), {})
                day[d.outcome] = day.get(d.outcome, 0) + 1
        return found


def _taken(d: DecisionRecord, since: datetime, until: datetime | None) -> bool:
    return d.decided_at >= since and (until is None or d.decided_at < until)


class MemoryUsage:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def get_many(self, keys: Iterable[str]) -> dict[str, Usage]:
        return {k: self.t.usage[k] for k in keys if k in self.t.usage}

    def put_many(self, usage: dict[str, Usage]) -> None:
        self.t.usage.update(usage)

    def keys(self, after: str, limit: int) -> list[str]:
        return sorted(k for k in self.t.usage if k > after)[:limit]

    def remove(self, keys: Iterable[str]) -> int:
        return sum(self.t.usage.pop(k, None) is not None for k in set(keys))
