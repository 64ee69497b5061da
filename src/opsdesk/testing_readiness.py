"""The in-memory readiness repository, for ``opsdesk.testing``: what the readiness controls read across the
tables (open orders, unowned cases, actions, deliveries, credentials) and the reviews and probes they
record. It works on the in-memory unit of work's tables, so it commits and rolls back with it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from opsdesk.domain.cases import Case
from opsdesk.domain.orders import OrderState
from opsdesk.domain.readiness import PolicyReview, Probe
from opsdesk.domain.records import ApiToken, OutboxAction, StoredDelivery
from opsdesk.testing_rows import in_utc


class Tables(Protocol):
    deliveries: dict[int, StoredDelivery]
    orders: dict[tuple[str, int], OrderState]
    actions: dict[str, OutboxAction]
    cases: dict[str, Case]
    tokens: dict[str, ApiToken]
    reviews: list[PolicyReview]
    probes: list[Probe]


class MemoryReadiness:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def _open_orders(self) -> list[OrderState]:
        def is_open(o: OrderState) -> bool:
            cancelled = o.snapshot is not None and o.snapshot.cancelled_at is not None
            over = o.fulfilment_status == "fulfilled" or o.payment_status in ("voided", "refunded")
            return not (cancelled or over)

        return [o for _, o in sorted(self.t.orders.items()) if is_open(o)]

    def unowned_orders(self, limit: int) -> tuple[int, list[OrderState]]:
        found = [o for o in self._open_orders() if not o.owner]
        return len(found), found[:limit]

    def overdue_orders(self, now: datetime, limit: int) -> tuple[int, list[OrderState]]:
        found = [o for o in self._open_orders() if o.ship_by is not None and o.ship_by < now]
        return len(found), found[:limit]

    def unowned_cases(self, limit: int) -> tuple[int, list[Case]]:
        found = sorted(
            (c for c in self.t.cases.values() if c.status.active and not c.owner),
            key=lambda c: (c.opened_at, c.id),
        )
        return len(found), found[:limit]

    def case_owners(self) -> dict[str, int]:
        return dict(Counter(c.owner for c in self.t.cases.values() if c.status.active and c.owner))

    def cases_of_kind(self, kind: str, opened_since: datetime) -> list[Case]:
        found = [
            c
            for c in self.t.cases.values()
            if c.kind == kind and (c.status.active or c.opened_at >= opened_since)
        ]
        return sorted(found, key=lambda c: (c.opened_at, c.id))

    def actions_of_kind(self, kind: str, created_since: datetime) -> list[OutboxAction]:
        found = [a for a in self.t.actions.values() if a.kind == kind and a.created_at >= created_since]
        return sorted(found, key=lambda a: a.created_at)

    def deliveries(self, topics: Sequence[str], since: datetime, limit: int) -> list[StoredDelivery]:
        found = [
            d
            for d in self.t.deliveries.values()
            if d.delivery.topic in topics and d.delivery.received_at >= since
        ]
        return sorted(found, key=lambda d: (d.delivery.received_at, d.id), reverse=True)[:limit]

    def count_deliveries(self, topics: Sequence[str], since: datetime) -> int:
        return len(self.deliveries(topics, since, len(self.t.deliveries)))

    def credentials(self) -> list[ApiToken]:
        return sorted((t for t in self.t.tokens.values() if not t.revoked), key=lambda t: (t.name, t.id))

    def add_review(self, review: PolicyReview) -> None:
        self.t.reviews.append(in_utc(review))

    def latest_review(self, playbook: str) -> PolicyReview | None:
        found = [r for r in self.t.reviews if r.playbook == playbook]
        return max(reversed(found), key=lambda r: r.reviewed_at, default=None)

    def add_probe(self, probe: Probe) -> None:
        self.t.probes.append(in_utc(probe))

    def latest_probe(self, kind: str, shop: str) -> Probe | None:
        found = [p for p in self.t.probes if p.kind == kind and p.shop == shop]
        return max(reversed(found), key=lambda p: p.at, default=None)
