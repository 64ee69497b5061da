"""The simulated store's orders and the helpers its payloads share: Shopify's samples (``data/shapes.json``),
money and timestamps as Shopify writes them."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from importlib import resources
from typing import Any

API_VERSION = "2026-07"
SHOP_OFFSET = timezone(timedelta(hours=-5))
CENT = Decimal("0.01")
#: How many orders' last payloads a renderer keeps (see ``Renderer.order``): about half an hour of a
#: 100,000-order day, some 20 MB.
RECENT_ORDERS = 2048


@functools.cache
def shapes() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (resources.files("opsdesk.simulator") / "data" / "shapes.json").read_text()
    )
    return data


def money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def money_set(amount: str, currency: str = "USD") -> dict[str, Any]:
    side = {"amount": amount, "currency_code": currency}
    return {"shop_money": side, "presentment_money": side}


@functools.lru_cache(maxsize=4096)
def stamp(at: datetime) -> str:
    """A payload timestamp as Shopify writes them: the shop's offset, to the second."""
    return at.astimezone(SHOP_OFFSET).isoformat(timespec="seconds")


def triggered_at(at: datetime) -> str:
    """``at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` (the same fields, whatever the zone) in half the time."""
    iso = at.isoformat()  # the fraction is left out when it is zero
    return f"{iso[:26]}Z" if at.microsecond else f"{iso[:19]}.000000Z"


@dataclass(slots=True)
class Line:
    id: int
    product_id: int
    variant_id: int
    item_id: int
    sku: str
    title: str
    quantity: int
    price: Decimal
    discount: Decimal = Decimal(0)


@dataclass(slots=True)
class Order:
    """One order as the simulated store knows it."""

    id: int
    number: int
    email: str
    customer_id: int
    created_at: datetime
    lines: list[Line]
    shipping: Decimal
    gateway: str
    fulfillment_id: int
    tracking: str
    discount_code: str = ""
    discount_percent: float = 0.0
    risk: str = "low"
    tags: str = ""
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"#{1000 + self.number}"

    @property
    def items(self) -> Decimal:
        return sum((line.price * line.quantity for line in self.lines), Decimal(0))

    @property
    def discounts(self) -> Decimal:
        return sum((line.discount for line in self.lines), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.items - self.discounts + self.shipping
