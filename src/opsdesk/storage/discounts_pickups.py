"""Repositories of the discount guardrails (discounts, incidents, rate windows) and missed pickups."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, tuple_

from opsdesk.domain.discount_windows import RateWindow, WindowMark
from opsdesk.domain.discounts import DiscountIncident, DiscountRecord, DiscountTerms
from opsdesk.domain.pickups import MissedPickup
from opsdesk.storage import bulk
from opsdesk.storage import tables as t
from opsdesk.storage.codec import dumps, loads
from opsdesk.storage.fast import Fast


def terms_to_json(terms: DiscountTerms) -> dict[str, Any]:
    return {
        "gid": terms.gid,
        "title": terms.title,
        "status": terms.status,
        "percentage": None if terms.percentage is None else str(terms.percentage),
        "amount": None if terms.amount is None else str(terms.amount),
        "ends_at": terms.ends_at.isoformat() if terms.ends_at else None,
        "usage_limit": terms.usage_limit,
        "combines": terms.combines,
        "all_items": terms.all_items,
        "codes": list(terms.codes),
    }


def terms_from_json(d: dict[str, Any]) -> DiscountTerms:
    return DiscountTerms(
        gid=d["gid"],
        title=d["title"],
        status=d["status"],
        percentage=None if d["percentage"] is None else Decimal(d["percentage"]),
        amount=None if d["amount"] is None else Decimal(d["amount"]),
        ends_at=datetime.fromisoformat(d["ends_at"]) if d["ends_at"] else None,
        usage_limit=d["usage_limit"],
        combines=d["combines"],
        all_items=d["all_items"],
        codes=tuple(d["codes"]),
    )


def incident_detail(i: DiscountIncident) -> dict[str, Any]:
    return {
        "title": i.title,
        "currency": i.currency,
        "below_cost": str(i.below_cost),
        "bad_orders": list(i.bad_orders),
        "violations": list(i.violations),
        "pause_action_id": i.pause_action_id,
        "case_id": i.case_id,
    }


def incident_from(row: Any, detail: dict[str, Any]) -> DiscountIncident:
    return DiscountIncident(
        id=row["id"],
        shop=row["shop"],
        discount_gid=row["discount_gid"],
        title=detail["title"],
        kind=row["kind"],
        detected_at=row["detected_at"],
        currency=detail["currency"],
        first_bad_order_at=row["first_bad_order_at"],
        money_at_risk=Decimal(row["money_at_risk"]),
        below_cost=Decimal(detail["below_cost"]),
        bad_orders=tuple(detail["bad_orders"]),
        violations=tuple(detail["violations"]),
        pause_action_id=detail["pause_action_id"],
        case_id=detail["case_id"],
    )


# Built once, and run on SQLite's driver (storage/fast.py): the discount guard reads the costs of every
# order's SKUs, a shop's known discounts and its recent windows in every batch with new orders.
_COSTS = Fast(
    select(t.item_costs.c.sku, t.item_costs.c.cost).where(
        t.item_costs.c.shop == bindparam("shop"), t.item_costs.c.sku.in_(bindparam("skus", expanding=True))
    )
)
_WINDOWS = Fast(
    select(t.discount_windows)
    .where(
        t.discount_windows.c.shop == bindparam("shop"),
        t.discount_windows.c.subject == bindparam("subject"),
        t.discount_windows.c.start >= bindparam("since"),
    )
    .order_by(t.discount_windows.c.start)
)
_W = t.discount_windows.c
#: The retention sweep's page, along ``ix_discount_windows_start`` (migration 0010) from the last window read.
_OLD_WINDOWS = (
    select(t.discount_windows)
    .where(
        _W.start < bindparam("before", type_=_W.start.type),
        tuple_(_W.start, _W.shop, _W.subject)
        > tuple_(bindparam("after_start", type_=_W.start.type), bindparam("after_shop"), bindparam("after_subject")),
    )
    .order_by(_W.start, _W.shop, _W.subject)
    .limit(bindparam("limit"))
)
#: One by its key, run for many: a row-value IN list is a scan of the table on SQLite.
_REMOVE_WINDOW = delete(t.discount_windows).where(
    _W.shop == bindparam("b_shop"), _W.subject == bindparam("b_subject"),
    _W.start == bindparam("b_start", type_=_W.start.type))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DISCOUNTS_OF_SHOP = Fast(
    select(t.discounts)
    .where(t.discounts.c.shop == bindparam("shop"))
    .order_by(t.discounts.c.seen_at, t.discounts.c.gid)
)


class SqlDiscounts:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def find(self, shop: str, gid: str) -> DiscountRecord | None:
        c = t.discounts.c
        row = self._conn.execute(select(t.discounts).where(c.shop == shop, c.gid == gid)).mappings().first()
        return _discount(row) if row else None

    def for_shop(self, shop: str) -> list[DiscountRecord]:
        return [_discount(r) for r in _DISCOUNTS_OF_SHOP.rows(self._conn, {"shop": shop})]

    def needing_terms(self, limit: int) -> list[DiscountRecord]:
        c = t.discounts.c
        # Never tried first, then the longest untried: one that keeps failing does not starve the rest.
        order = (c.checked_at.is_not(None), c.checked_at, c.seen_at, c.gid)
        query = select(t.discounts).where(c.needs_terms.is_(True)).order_by(*order).limit(limit)
        return [_discount(r) for r in self._conn.execute(query).mappings()]

    def put(self, record: DiscountRecord) -> None:
        row = {
            "shop": record.shop,
            "gid": record.gid,
            "title": record.title,
            "status": record.status,
            "terms": dumps(terms_to_json(record.terms)) if record.terms else None,
            "needs_terms": record.needs_terms,
            "seen_at": record.seen_at,
            "checked_at": record.checked_at,
            "violations": dumps(list(record.violations)),
        }
        bulk.write(self._conn, t.discounts, [row], upsert_on=("shop", "gid"))

    def find_incident(self, incident_id: str) -> DiscountIncident | None:
        c = t.discount_incidents.c
        row = self._conn.execute(select(t.discount_incidents).where(c.id == incident_id)).mappings().first()
        return incident_from(row, loads(row["detail"])) if row else None

    def put_incident(self, incident: DiscountIncident) -> None:
        row = {
            "id": incident.id,
            "shop": incident.shop,
            "discount_gid": incident.discount_gid,
            "kind": incident.kind,
            "detected_at": incident.detected_at,
            "first_bad_order_at": incident.first_bad_order_at,
            "money_at_risk": str(incident.money_at_risk),
            "detail": dumps(incident_detail(incident)),
        }
        bulk.write(self._conn, t.discount_incidents, [row], upsert_on=("id",))

    def incidents(self, shop: str | None = None) -> list[DiscountIncident]:
        c = t.discount_incidents.c
        query = select(t.discount_incidents).order_by(c.detected_at, c.id)
        if shop is not None:
            query = query.where(c.shop == shop)
        return [incident_from(r, loads(r["detail"])) for r in self._conn.execute(query).mappings()]

    def windows(self, shop: str, subject: str, since: datetime) -> list[RateWindow]:
        params = {"shop": shop, "subject": subject, "since": since}
        return [_window(r) for r in _WINDOWS.rows(self._conn, params)]

    def put_window(self, window: RateWindow) -> None:
        row = {
            "shop": window.shop,
            "subject": window.subject,
            "start": window.start,
            "orders": window.orders,
            "new_customers": window.new_customers,
            "revenue": str(window.revenue),
            "discount": str(window.discount),
            "first_at": window.first_at,
        }
        bulk.write(self._conn, t.discount_windows, [row], upsert_on=("shop", "subject", "start"))

    def old_windows(self, before: datetime, after: WindowMark | None, limit: int) -> list[RateWindow]:
        start, shop, subject = after or (_EPOCH, "", "")
        params = {"before": before, "after_start": start, "after_shop": shop, "after_subject": subject, "limit": limit}
        return [_window(r) for r in self._conn.execute(_OLD_WINDOWS, params).mappings()]

    def remove_windows(self, windows: Iterable[RateWindow]) -> int:
        keys = [{"b_shop": w.shop, "b_subject": w.subject, "b_start": w.start} for w in windows]
        return max(self._conn.execute(_REMOVE_WINDOW, keys).rowcount, 0) if keys else 0

    def put_cost(self, shop: str, sku: str, cost: Decimal, at: datetime) -> None:
        if _cost_newer(self._conn, shop, sku, at):
            row = {"shop": shop, "sku": sku, "cost": str(cost), "updated_at": at}
            bulk.write(self._conn, t.item_costs, [row], upsert_on=("shop", "sku"))

    def costs(self, shop: str, skus: Iterable[str]) -> dict[str, Decimal]:
        wanted = sorted(set(skus))
        found: dict[str, Decimal] = {}
        for start in range(0, len(wanted), 500):
            params = {"shop": shop, "skus": wanted[start : start + 500]}
            found.update({r["sku"]: Decimal(r["cost"]) for r in _COSTS.rows(self._conn, params)})
        return found


def _cost_newer(conn: Connection, shop: str, sku: str, at: datetime) -> bool:
    c = t.item_costs.c
    stored = conn.execute(select(c.updated_at).where(c.shop == shop, c.sku == sku)).scalar()
    return stored is None or stored <= at


def _discount(row: Any) -> DiscountRecord:
    terms = row["terms"]
    return DiscountRecord(
        shop=row["shop"],
        gid=row["gid"],
        title=row["title"],
        status=row["status"],
        seen_at=row["seen_at"],
        terms=terms_from_json(loads(terms)) if terms else None,
        needs_terms=bool(row["needs_terms"]),
        checked_at=row["checked_at"],
        violations=tuple(loads(row["violations"])),
    )


def _window(row: Any) -> RateWindow:
    return RateWindow(
        row["shop"],
        row["subject"],
        row["start"],
        row["orders"],
        row["new_customers"],
        Decimal(row["revenue"]),
        Decimal(row["discount"]),
        row["first_at"],
    )


class SqlPickups:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record_missed(self, missed: MissedPickup) -> bool:
        row = {
            "shop": missed.shop,
            "order_id": missed.order_id,
            "pickup_at": missed.pickup_at,
            "warehouse": missed.warehouse,
            "carrier": missed.carrier,
            "ship_by": missed.ship_by,
            "recorded_at": missed.recorded_at,
        }
        return bulk.write(self._conn, t.missed_pickups, [row]) == 1

    def missed(self, shop: str | None = None, since: datetime | None = None) -> list[MissedPickup]:
        c = t.missed_pickups.c
        query = select(t.missed_pickups).order_by(c.pickup_at, c.order_id)
        if shop is not None:
            query = query.where(c.shop == shop)
        if since is not None:
            query = query.where(c.pickup_at >= since)
        return [
            MissedPickup(
                r["shop"],
                r["order_id"],
                r["warehouse"],
                r["carrier"],
                r["pickup_at"],
                r["ship_by"],
                r["recorded_at"],
            )
            for r in self._conn.execute(query).mappings()
        ]
