"""Privacy requests' access to storage: every stored field that may hold a customer's personal data.

``SPECS`` is the map of where personal data can sit, table by table (docs/reference/privacy.md has the
same map in prose, field by field). Tables left out hold no customer data: staff accounts and sessions,
API tokens, playbook reviews, page probes, stock levels and item costs, SKUs of orders, discount rate
windows, missed pickups, follow-up progress (ids, counts, amounts and times only).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    text,
)

from opsdesk.domain.erasures import Erasure
from opsdesk.domain.privacy import PrivacySubject, StoredRow
from opsdesk.storage import tables as t
from opsdesk.storage.bodies import pack, unpack_text
from opsdesk.storage.fast import Fast


@dataclass(frozen=True, slots=True)
class _Spec:
    table: Table
    columns: tuple[str, ...]  # the text columns that can hold personal data
    shop: bool = True  # has a ``shop`` column
    order: bool = False  # has an ``order_id`` column
    control: tuple[str, ...] = ()  # read to decide, not personal


SPECS: tuple[_Spec, ...] = (
    _Spec(t.deliveries, ("body",)),
    _Spec(t.orders, ("email", "state"), order=True),
    _Spec(t.decisions, ("inputs", "reason"), order=True),
    _Spec(t.actions, ("payload", "last_error", "history"), order=True, control=("status", "lease_until")),
    _Spec(t.cases, ("title", "reason", "detail"), order=True),
    _Spec(t.case_changes, ("before", "after", "note"), shop=False),
    _Spec(t.timers, ("payload",), shop=False),
    _Spec(t.audit, ("before", "after"), shop=False),
    _Spec(t.usage, ("key",), shop=False),
    _Spec(t.discount_incidents, ("detail",)),
)
#: Tables erased whole by ``shop/redact`` (every one with a shop column).
SHOP_TABLES = (
    t.deliveries, t.orders, t.decisions, t.actions, t.discount_incidents, t.order_skus, t.inventory_levels,
    t.inventory_items, t.discounts, t.discount_windows, t.item_costs, t.missed_pickups, t.probes,
    t.user_roles, t.erased_customers, t.followups,
)
#: Read before every batch intake stores and the pipeline processes (ADR 0021): on SQLite's driver.
_ERASURES_VERSION = Fast(select(func.max(t.erased_customers.c.id)))


class SqlPrivacy:
    def __init__(self, conn: Connection, chain_audit: Callable[[], None] = lambda: None) -> None:
        self._conn = conn
        # The audit entries this transaction recorded are chained at commit (ADR 0058): a search of the audit
        # rows chains them first, so that an erasure finds them too.
        self._chain_audit = chain_audit

    def orders_of(self, shop: str, customer_id: int | None, email: str) -> set[int]:
        """The shop's orders whose customer has this id (in the order snapshot) or this email."""
        c = t.orders.c
        clues: list[ColumnElement[bool]] = []
        if email:
            clues.append(func.lower(c.email) == email.lower())
        if customer_id is not None:
            clues.append(c.state.contains(f'"customer_id":{customer_id},', autoescape=True))
        if not clues:
            return set()
        query = select(c.order_id).where(c.shop == shop, or_(*clues))
        return {int(v) for v in self._conn.execute(query).scalars()}

    def rows(self, subject: PrivacySubject, terms: Sequence[str]) -> list[StoredRow]:
        """Rows of the subject's orders and cases, and rows of the shop (or shop-less) mentioning a term."""
        self._chain_audit()
        cases = self._case_ids(subject.shop, subject.orders)
        found: list[StoredRow] = []
        for spec in SPECS:
            if spec.table is t.deliveries:
                found += self._deliveries(spec, subject.shop, [*terms, *subject.link_tokens()])
                continue
            linked = self._link(spec, subject, cases)
            where = or_(linked, *[self._mentions(spec, term) for term in terms])
            if spec.shop:
                where = and_(spec.table.c.shop == subject.shop, where)
            elif spec.table is t.case_changes:
                where = and_(spec.table.c.case_id.in_(self._shop_cases(subject.shop)), where)
            query = select(spec.table, linked.label("_linked")).where(where)
            found += [self._row(spec, dict(r)) for r in self._conn.execute(query).mappings()]
        return found

    def shop_audit(self, shop: str) -> list[StoredRow]:
        """The audit rows about a shop's cases and orders, or that name the shop."""
        self._chain_audit()
        subjects = [f"case:{c}" for c in self._shop_cases(shop)]
        c = t.audit.c
        where = or_(
            c.subject.in_(subjects) if subjects else false(),
            c.subject.startswith(f"order:{shop}:", autoescape=True),
            *[func.lower(col).contains(shop.lower(), autoescape=True) for col in (c.before, c.after)],
        )
        spec = next(s for s in SPECS if s.table is t.audit)
        rows = self._conn.execute(select(t.audit).where(where)).mappings()
        return [self._row(spec, {**r, "_linked": True}) for r in rows]

    def _deliveries(self, spec: _Spec, shop: str, terms: Sequence[str]) -> list[StoredRow]:
        """The shop's raw deliveries whose body mentions a term. Bodies are stored packed (ADR 0031), so they
        are searched here, page by page, not in SQL; none is one of the customer's own records by a column."""
        needles = [term.lower() for term in terms if term]
        if not needles:
            return []
        query = select(t.deliveries).where(t.deliveries.c.shop == shop).order_by(t.deliveries.c.id)
        found: list[StoredRow] = []
        for r in self._conn.execute(query.execution_options(yield_per=500)).mappings():
            body = unpack_text(r["body"]) or ""
            if any(needle in body.lower() for needle in needles):
                found.append(self._row(spec, {**r, "body": body, "_linked": False}))
        return found

    def rewrite(self, row: StoredRow, values: Mapping[str, Any]) -> None:
        """Write new values into one row (a primary key column may be among them)."""
        if row.table == t.deliveries.name and isinstance(values.get("body"), bytes):
            values = {**values, "body": pack(values["body"])}
        table = t.metadata.tables[row.table]
        keys = list(table.primary_key.columns)
        where = and_(*[col == value for col, value in zip(keys, row.key, strict=True)])
        self._conn.execute(table.update().where(where).values(**values))

    def erase_shop(self, shop: str) -> dict[str, int]:
        """Delete every row of a shop; returns how many rows went, by table."""
        cases = self._shop_cases(shop)
        counts = {
            "case_changes": self._delete(t.case_changes, t.case_changes.c.case_id.in_(cases)),
            "timers": self._delete(t.timers, or_(
                t.timers.c.subject.contains(f":{shop}:", autoescape=True),
                t.timers.c.subject.in_([f"case:{c}" for c in cases]),
                t.timers.c.subject.startswith(f"privacy:{shop}|", autoescape=True),  # requests (this one too)
            )),
            "cases": self._delete(t.cases, t.cases.c.shop == shop),
        }
        for table in SHOP_TABLES:
            counts[str(table.name)] = self._delete(table, table.c.shop == shop)
        return counts

    def begin_erasure(self) -> None:
        if self._conn.dialect.name == "postgresql":  # SQLite: a writer is alone (BEGIN IMMEDIATE)
            # Conflicts with the SHARE lock of ``erasures_version(hold=True)`` and with itself.
            self._conn.execute(text("LOCK TABLE erased_customers IN SHARE ROW EXCLUSIVE MODE"))

    def record_erasure(self, erasure: Erasure) -> None:
        orders = json.dumps(sorted(erasure.orders))
        self._conn.execute(insert(t.erased_customers).values(
            shop=erasure.shop, customer_id=erasure.customer_id, orders=orders, erased_at=erasure.erased_at))

    def erasures(self) -> list[Erasure]:
        rows = self._conn.execute(select(t.erased_customers).order_by(t.erased_customers.c.id)).mappings()
        return [Erasure(r["shop"], int(r["customer_id"]), frozenset(json.loads(r["orders"])), r["erased_at"])
                for r in rows]

    def erasures_version(self, *, hold: bool = False) -> int:
        if hold and self._conn.dialect.name == "postgresql":
            # SHARE: any number of intake and pipeline transactions at once, no erasure among them.
            self._conn.execute(text("LOCK TABLE erased_customers IN SHARE MODE"))
        return int(_ERASURES_VERSION.scalar(self._conn) or 0)

    def _delete(self, table: Table, where: ColumnElement[bool]) -> int:
        return int(self._conn.execute(delete(table).where(where)).rowcount or 0)

    def _case_ids(self, shop: str, orders: Collection[int]) -> list[str]:
        if not orders:
            return []
        query = select(t.cases.c.id).where(t.cases.c.shop == shop, t.cases.c.order_id.in_(sorted(orders)))
        return list(self._conn.execute(query).scalars())

    def _shop_cases(self, shop: str) -> list[str]:
        return list(self._conn.execute(select(t.cases.c.id).where(t.cases.c.shop == shop)).scalars())

    def _link(self, spec: _Spec, subject: PrivacySubject, cases: list[str]) -> ColumnElement[bool]:
        """Whether a row is one of the subject's own records, as a SQL expression."""
        c = spec.table.c
        orders = sorted(subject.orders)
        if spec.order:
            return c.order_id.in_(orders) if orders else false()
        subjects = [f"case:{i}" for i in cases] + [f"order:{subject.shop}:{o}" for o in orders]
        if spec.table is t.case_changes:
            return c.case_id.in_(cases) if cases else false()
        if spec.table in (t.timers, t.audit):
            return c.subject.in_(subjects) if subjects else false()
        return false()

    @staticmethod
    def _mentions(spec: _Spec, term: str) -> ColumnElement[bool]:
        needle = term.lower()
        return or_(*[func.lower(spec.table.c[col]).contains(needle, autoescape=True) for col in spec.columns])

    @staticmethod
    def _row(spec: _Spec, r: Mapping[str, Any]) -> StoredRow:
        keys = tuple(r[col.name] for col in spec.table.primary_key.columns)
        values = {col: _decoded(r[col]) for col in spec.columns}
        control = {col: r[col] for col in spec.control}
        return StoredRow(str(spec.table.name), keys, values, bool(r["_linked"]), control)


def _decoded(value: Any) -> str | None:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return None if value is None else str(value)
