"""Erased customers: who was erased, so that what arrives about them later is erased on arrival (ADR 0021).

An erasure (``customers/redact``) is recorded as the shop, the customer's id, the ids of their orders and
when: ids only, no personal data. ``Erased`` is every erasure recorded so far, by shop, and tells which
erased customer a Shopify payload is about, by the ids in it (``privacy.referenced``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsdesk.domain.privacy import referenced


@dataclass(frozen=True, slots=True)
class Erasure:
    """A customer's data was erased: their shop, their id, their orders' ids, and when."""

    shop: str
    customer_id: int
    orders: frozenset[int]
    erased_at: datetime


@dataclass(frozen=True, slots=True)
class Erased:
    """The erased customers of every shop as of ``version``, a number that changes with every erasure recorded."""

    version: int = 0
    #: By shop: the erased customers' ids.
    customers: Mapping[str, frozenset[int]] = field(default_factory=dict)
    #: By shop: their orders' ids, each to its customer's id.
    orders: Mapping[str, Mapping[int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, version: int, erasures: Iterable[Erasure]) -> Erased:
        customers: dict[str, set[int]] = {}
        orders: dict[str, dict[int, int]] = {}
        for e in erasures:
            customers.setdefault(e.shop, set()).add(e.customer_id)
            orders.setdefault(e.shop, {}).update(dict.fromkeys(e.orders, e.customer_id))
        return cls(version, {shop: frozenset(ids) for shop, ids in customers.items()}, orders)

    def covers(self, shop: str) -> bool:
        """Whether any customer of the shop was erased: if not, nothing it sends needs a look."""
        return shop in self.customers

    def whose(self, shop: str, payload: Any) -> int | None:
        """The erased customer a payload of ``shop`` is about, by their id or one of their orders'; None if none."""
        if shop not in self.customers:
            return None
        customers, orders = referenced(payload)
        found = sorted(customers & self.customers[shop])
        if found:
            return found[0]
        theirs = self.orders[shop]
        return next((theirs[o] for o in sorted(orders) if o in theirs), None)
