"""What the readiness controls read from live data, and the evidence they record (reviews, probes)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from opsdesk.domain.cases import Case, CaseStatus
from opsdesk.domain.orders import OrderState
from opsdesk.domain.readiness import PolicyReview, Probe
from opsdesk.domain.records import ApiToken, OutboxAction, StoredDelivery
from opsdesk.storage import tables as t
from opsdesk.storage.case_rows import _full as case_from_row
from opsdesk.storage.deliveries import _delivery
from opsdesk.storage.orders import _order
from opsdesk.storage.outbox import _action

#: Payment statuses of an order that is over even when nothing shipped (Shopify voids or refunds a cancel).
CLOSED_PAYMENTS = ("voided", "refunded")


def _open_orders() -> ColumnElement[bool]:
    c = t.orders.c
    return and_(c.fulfilment_status != "fulfilled", c.payment_status.not_in(CLOSED_PAYMENTS))


def _active() -> ColumnElement[bool]:
    return t.cases.c.status.in_([s.value for s in CaseStatus if s.active])


def _still_open(states: Iterator[OrderState], limit: int) -> tuple[int, list[OrderState]]:
    """Count the orders that are not cancelled (that lives in the order's document), keeping the first ones."""
    count, first = 0, list[OrderState]()
    for state in states:
        if state.snapshot is not None and state.snapshot.cancelled_at is not None:
            continue
        count += 1
        if len(first) < limit:
            first.append(state)
    return count, first


class SqlReadiness:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _orders(self, *where: ColumnElement[bool]) -> Iterator[OrderState]:
        c = t.orders.c
        query = select(t.orders).where(_open_orders(), *where).order_by(c.shop, c.order_id)
        for row in self._conn.execute(query).mappings():
            yield _order(row)

    def unowned_orders(self, limit: int) -> tuple[int, list[OrderState]]:
        c = t.orders.c
        return _still_open(self._orders(or_(c.owner.is_(None), c.owner == "")), limit)

    def overdue_orders(self, now: datetime, limit: int) -> tuple[int, list[OrderState]]:
        return _still_open(self._orders(t.orders.c.ship_by < now), limit)

    def unowned_cases(self, limit: int) -> tuple[int, list[Case]]:
        c = t.cases.c
        where = and_(_active(), or_(c.owner.is_(None), c.owner == ""))
        count = int(self._conn.execute(select(func.count()).select_from(t.cases).where(where)).scalar_one())
        rows = self._conn.execute(select(t.cases).where(where).order_by(c.opened_at, c.id).limit(limit))
        return count, [case_from_row(r) for r in rows.mappings()]

    def case_owners(self) -> dict[str, int]:
        c = t.cases.c
        query = select(c.owner, func.count()).where(_active(), c.owner.is_not(None), c.owner != "").group_by(c.owner)
        return {str(owner): int(n) for owner, n in self._conn.execute(query)}

    def cases_of_kind(self, kind: str, opened_since: datetime) -> list[Case]:
        c = t.cases.c
        query = (
            select(t.cases)
            .where(c.kind == kind, or_(_active(), c.opened_at >= opened_since))
            .order_by(c.opened_at, c.id)
        )
        return [case_from_row(r) for r in self._conn.execute(query).mappings()]

    def actions_of_kind(self, kind: str, created_since: datetime) -> list[OutboxAction]:
        c = t.actions.c
        query = select(t.actions).where(c.kind == kind, c.created_at >= created_since).order_by(c.created_at)
        return [_action(r) for r in self._conn.execute(query).mappings()]

    def deliveries(self, topics: Sequence[str], since: datetime, limit: int) -> list[StoredDelivery]:
        c = t.deliveries.c
        query = (
            select(t.deliveries)
            .where(c.topic.in_(list(topics)), c.received_at >= since)
            .order_by(c.received_at.desc(), c.id.desc())
            .limit(limit)
        )
        return [_delivery(r) for r in self._conn.execute(query).mappings()]

    def count_deliveries(self, topics: Sequence[str], since: datetime) -> int:
        c = t.deliveries.c
        query = select(func.count()).select_from(t.deliveries)
        return int(self._conn.execute(query.where(c.topic.in_(list(topics)), c.received_at >= since)).scalar_one())

    def credentials(self) -> list[ApiToken]:
        c = t.api_tokens.c
        rows = self._conn.execute(select(t.api_tokens).where(c.revoked.is_(False)).order_by(c.name, c.id))
        return [
            ApiToken(r["id"], r["name"], r["role"], r["digest"], r["created_at"], r["revoked"])
            for r in rows.mappings()
        ]

    def add_review(self, review: PolicyReview) -> None:
        self._conn.execute(
            t.policy_reviews.insert().values(
                playbook=review.playbook,
                version=review.version,
                reviewer=review.reviewer,
                note=review.note,
                reviewed_at=review.reviewed_at,
            )
        )

    def latest_review(self, playbook: str) -> PolicyReview | None:
        c = t.policy_reviews.c
        query = select(t.policy_reviews).where(c.playbook == playbook).order_by(c.reviewed_at.desc(), c.id.desc())
        row = self._conn.execute(query.limit(1)).mappings().first()
        if row is None:
            return None
        return PolicyReview(row["playbook"], row["version"], row["reviewer"], row["reviewed_at"], row["note"])

    def add_probe(self, probe: Probe) -> None:
        self._conn.execute(t.probes.insert().values(**_probe_row(probe)))

    def latest_probe(self, kind: str, shop: str) -> Probe | None:
        c = t.probes.c
        query = select(t.probes).where(c.kind == kind, c.shop == shop).order_by(c.at.desc(), c.id.desc())
        row = self._conn.execute(query.limit(1)).mappings().first()
        if row is None:
            return None
        return Probe(
            row["kind"], row["shop"], row["url"], row["at"], row["status_code"], row["elapsed_ms"], row["error"]
        )


def _probe_row(probe: Probe) -> dict[str, Any]:
    return {
        "kind": probe.kind,
        "shop": probe.shop,
        "url": probe.url,
        "at": probe.at,
        "status_code": probe.status_code,
        "elapsed_ms": probe.elapsed_ms,
        "error": probe.error,
    }
