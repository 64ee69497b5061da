"""In-memory repositories of the discount guardrails and missed pickups, for ``opsdesk.testing``.

They work on the dicts of the in-memory unit of work's tables (``discounts``, ``discount_incidents``,
``discount_windows``, ``missed_pickups``), so they commit and roll back with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from opsdesk.domain.discount_windows import RateWindow, WindowMark
from opsdesk.domain.discounts import DiscountIncident, DiscountRecord
from opsdesk.domain.pickups import MissedPickup


class Tables(Protocol):
    discounts: dict[tuple[str, str], DiscountRecord]
    discount_incidents: dict[str, DiscountIncident]
    discount_windows: dict[tuple[str, str, datetime], RateWindow]
    missed_pickups: dict[tuple[str, int, datetime], MissedPickup]
    item_costs: dict[tuple[str, str], tuple[Decimal, datetime]]


def _utc(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


class MemoryDiscounts:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def find(self, shop: str, gid: str) -> DiscountRecord | None:
        return self.t.discounts.get((shop, gid))

    def for_shop(self, shop: str) -> list[DiscountRecord]:
        return sorted(
            (d for d in self.t.discounts.values() if d.shop == shop), key=lambda d: (d.seen_at, d.gid)
        )

    def needing_terms(self, limit: int) -> list[DiscountRecord]:
        found = sorted(
            (d for d in self.t.discounts.values() if d.needs_terms),
            key=lambda d: (d.checked_at is not None, d.checked_at or d.seen_at, d.seen_at, d.gid),
        )
        return found[:limit]

    def put(self, record: DiscountRecord) -> None:
        self.t.discounts[(record.shop, record.gid)] = replace(
            record, seen_at=_utc(record.seen_at), checked_at=_utc(record.checked_at)
        )

    def find_incident(self, incident_id: str) -> DiscountIncident | None:
        return self.t.discount_incidents.get(incident_id)

    def put_incident(self, incident: DiscountIncident) -> None:
        self.t.discount_incidents[incident.id] = replace(incident, paused_at=None)

    def incidents(self, shop: str | None = None) -> list[DiscountIncident]:
        found = (i for i in self.t.discount_incidents.values() if shop is None or i.shop == shop)
        return sorted(found, key=lambda i: (i.detected_at, i.id))

    def windows(self, shop: str, subject: str, since: datetime) -> list[RateWindow]:
        found = (
            w
            for (s, sub, start), w in self.t.discount_windows.items()
            if s == shop and sub == subject and start >= since
        )
        return sorted(found, key=lambda w: w.start)

    def old_windows(self, before: datetime, after: WindowMark | None, limit: int) -> list[RateWindow]:
        marks = sorted((w.start, w.shop, w.subject) for w in self.t.discount_windows.values() if w.start < before)
        return [self.t.discount_windows[(m[1], m[2], m[0])] for m in marks if after is None or m > after][:limit]

    def remove_windows(self, windows: Iterable[RateWindow]) -> int:
        keys = [(w.shop, w.subject, _utc(w.start)) for w in windows]
        return sum(self.t.discount_windows.pop(key, None) is not None for key in keys)

    def put_window(self, window: RateWindow) -> None:
        self.t.discount_windows[(window.shop, window.subject, _utc(window.start))] = window

    def put_cost(self, shop: str, sku: str, cost: Decimal, at: datetime) -> None:
        stored = self.t.item_costs.get((shop, sku))
        if stored is None or stored[1] <= at:
            self.t.item_costs[(shop, sku)] = (cost, _utc(at))

    def costs(self, shop: str, skus: Iterable[str]) -> dict[str, Decimal]:
        return {
            sku: self.t.item_costs[(shop, sku)][0] for sku in set(skus) if (shop, sku) in self.t.item_costs
        }


class MemoryPickups:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def record_missed(self, missed: MissedPickup) -> bool:
        key = (missed.shop, missed.order_id, _utc(missed.pickup_at))
        if key in self.t.missed_pickups:
            return False
        self.t.missed_pickups[key] = missed
        return True

    def missed(self, shop: str | None = None, since: datetime | None = None) -> list[MissedPickup]:
        found = (
            m
            for m in self.t.missed_pickups.values()
            if (shop is None or m.shop == shop) and (since is None or m.pickup_at >= since)
        )
        return sorted(found, key=lambda m: (m.pickup_at, m.order_id))
