"""The orders' state as the pipeline keeps it, with the name and email that search finds them by."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, or_, select

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.storage import tables as t
from opsdesk.storage.bulk import _upsert
from opsdesk.storage.codec import decode_order, encode_order
from opsdesk.storage.fast import Fast

# Built once and run through SQLite's driver directly, as the statements of storage/deliveries.py are.
_ORDERS_OF_SHOP = Fast(
    select(t.orders).where(
        t.orders.c.shop == bindparam("shop"), t.orders.c.order_id.in_(bindparam("ids", expanding=True))
    )
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
                params = {"shop": shop, "ids": ids[start : start + 500]}
                for row in _ORDERS_OF_SHOP.rows(self._conn, params):
                    state = _order(row)
                    found[(state.shop, state.order_id)] = state
        return found

    def find(self, shop: ShopDomain, order_id: OrderId) -> OrderState | None:
        return self.get_many([(shop, order_id)]).get((shop, order_id))

    def find_by_id(self, order_id: OrderId) -> list[OrderState]:
        query = select(t.orders).where(t.orders.c.order_id == order_id).order_by(t.orders.c.shop)
        return [_order(row) for row in self._conn.execute(query).mappings()]

    def search(self, term: str, limit: int = 20) -> list[OrderState]:
        term = term.strip()
        if not term:
            return []
        c = t.orders.c
        number = term.removeprefix("#")
        matches: list[ColumnElement[bool]] = [c.name.in_([f"#{number}", number]), c.email.in_([term, term.lower()])]
        if number.isascii() and number.isdigit() and len(number) < 20 and int(number) < 2**63:  # not "²", 2**63
            matches.append(c.order_id == int(number))
        query = select(t.orders).where(or_(*matches)).order_by(c.last_event_at.desc(), c.shop).limit(limit)
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
        # An order's name and email (indexed, for search) hardly ever change: written only where they do.
        _upsert(self._conn, t.orders, rows, ("shop", "order_id"), stable=("name", "email"))


def _order(row: Any) -> OrderState:
    return decode_order(
        row["shop"], row["order_id"], row["state"], row["owner"], row["ship_by"], row["last_event_at"]
    )
