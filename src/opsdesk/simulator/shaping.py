"""Shopify-shaped payloads built from Shopify's own samples (``data/shapes.json``), and signed deliveries.

Each payload is the topic's documented sample with the simulated values put in: the sample's other
fields (addresses, client details, tax lines, ...) stay, so bodies keep their real shape and size. The
samples are shared and never mutated; a payload is a shallow copy with new values.
"""

from __future__ import annotations

import base64
import hmac
from datetime import datetime
from typing import Any

import orjson

from opsdesk.simulator.payloads import Payloads
from opsdesk.simulator.shapes import (
    API_VERSION,
    RECENT_ORDERS,
    Line,
    Order,
    money,
    money_set,
    stamp,
    triggered_at,
)

__all__ = ["RECENT_ORDERS", "Line", "Order", "Renderer", "triggered_at"]


class Renderer(Payloads):
    """Builds payloads from the samples and signs deliveries."""

    def __init__(self, shop: str, secret: str) -> None:
        super().__init__()
        self.shop = shop
        self._secret = secret.encode()
        self._recent: dict[int, dict[str, Any]] = {}  # order id -> its last payload, oldest first

    def order(
        self, o: Order, at: datetime, financial: str, fulfillment: str | None, **extra: Any
    ) -> dict[str, Any]:
        """The order's payload at ``at``.

        An order's fields are settled when its life is scheduled, before any of its deliveries is
        rendered, so its payloads differ only in the fields set here from the arguments. Most of an
        order's renders come within minutes of each other (created, paid, updated), so the last payload
        of each recent order is kept and copied with those fields (a new value of a key keeps its
        place): the same dict as building it again, in a tenth of the time. Payloads share their
        nested values with the kept one, so they are read (signed), never changed.
        """
        last = self._recent.pop(o.id, None)
        if last is None:
            p = self._order(o, at, financial, fulfillment)
        else:
            p = {
                **last,
                "updated_at": stamp(at),
                "financial_status": financial,
                "fulfillment_status": fulfillment,
                "total_outstanding": "0.00" if financial == "paid" else last["total_price"],
            }
        self._recent[o.id] = p
        if len(self._recent) > RECENT_ORDERS:
            del self._recent[next(iter(self._recent))]
        return {**p, **extra} if extra else p

    def _order(self, o: Order, at: datetime, financial: str, fulfillment: str | None) -> dict[str, Any]:
        sample = self._shapes["orders/create"]
        line_items, discount_sum = o.items, o.discounts  # each a sum over the lines: once, not thrice
        items, discounts = money(line_items), money(discount_sum)
        total, subtotal = money(line_items - discount_sum + o.shipping), money(line_items - discount_sum)
        created, shipping = stamp(o.created_at), money(o.shipping)
        # One dict display (the sample's keys keep their places, new keys follow in this order): the
        # same dict as copying the sample and updating it, in two thirds of the time.
        return {
            **sample,
            "id": o.id,
            "admin_graphql_api_id": f"gid://shopify/Order/{o.id}",
            "name": o.name,
            "number": o.number,
            "order_number": 1000 + o.number,
            "email": o.email,
            "contact_email": o.email,
            "created_at": created,
            "processed_at": created,
            "updated_at": stamp(at),
            "financial_status": financial,
            "fulfillment_status": fulfillment,
            "currency": "USD",
            "presentment_currency": "USD",
            "total_price": total,
            "total_price_set": money_set(total),
            "current_total_price": total,
            "current_total_price_set": money_set(total),
            "subtotal_price": subtotal,
            "subtotal_price_set": money_set(subtotal),
            "current_subtotal_price": subtotal,
            "current_subtotal_price_set": money_set(subtotal),
            "total_discounts": discounts,
            "total_discounts_set": money_set(discounts),
            "current_total_discounts": discounts,
            "current_total_discounts_set": money_set(discounts),
            "total_line_items_price": items,
            "total_line_items_price_set": money_set(items),
            "total_outstanding": "0.00" if financial == "paid" else total,
            "total_tax": "0.00",
            "current_total_tax": "0.00",
            "tags": o.tags,
            "payment_gateway_names": [o.gateway],
            "token": f"{o.id:032x}",
            "test": False,
            "confirmed": True,
            "cancelled_at": None,
            "cancel_reason": None,
            "customer": {
                **sample["customer"],
                "id": o.customer_id,
                "email": o.email,
                "admin_graphql_api_id": f"gid://shopify/Customer/{o.customer_id}",
            },
            "line_items": [self._line(line) for line in o.lines],
            "fulfillments": [],
            "refunds": [],
            "returns": [],
            "shipping_lines": [
                {**sample["shipping_lines"][0], "price": shipping, "price_set": money_set(shipping)}
            ],
            "discount_codes": self._codes(o),
            "discount_applications": self._applications(o),
        }

    @staticmethod
    def _codes(o: Order) -> list[dict[str, Any]]:
        if not o.discount_code:
            return []
        return [{"code": o.discount_code, "amount": money(o.discounts), "type": "percentage"}]

    @staticmethod
    def _applications(o: Order) -> list[dict[str, Any]]:
        if not o.discount_code:
            return []
        return [
            {
                "type": "discount_code",
                "code": o.discount_code,
                "value": f"{o.discount_percent:.1f}",
                "value_type": "percentage",
                "allocation_method": "across",
                "target_selection": "all",
                "target_type": "line_item",
                "title": o.discount_code,
                "description": o.discount_code,
            }
        ]

    def sign(
        self, topic: str, payload: dict[str, Any], at: datetime, webhook_id: str, event_id: str
    ) -> tuple[dict[str, str], bytes]:
        body = orjson.dumps(payload)
        signature = base64.b64encode(hmac.digest(self._secret, body, "sha256")).decode()
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": self.shop,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Triggered-At": triggered_at(at),
            "X-Shopify-Event-Id": event_id,
        }
        return headers, body
