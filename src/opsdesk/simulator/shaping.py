"""Shopify-shaped payloads built from Shopify's own samples (``data/shapes.json``), and signed deliveries.

Each payload is the topic's documented sample with the simulated values put in: the sample's other
fields (addresses, client details, tax lines, ...) stay, so bodies keep their real shape and size. The
samples are shared and never mutated; a payload is a shallow copy with new values.
"""

from __future__ import annotations

import base64
import functools
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from importlib import resources
from typing import Any

import orjson

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


class Renderer:
    """Builds payloads from the samples and signs deliveries."""

    def __init__(self, shop: str, secret: str) -> None:
        self.shop = shop
        self._secret = secret.encode()
        self._shapes = shapes()
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

    def _line(self, line: Line) -> dict[str, Any]:
        price, discount = money(line.price), money(line.discount)
        return {
            **self._shapes["orders/create"]["line_items"][0],
            "id": line.id,
            "admin_graphql_api_id": f"gid://shopify/LineItem/{line.id}",
            "product_id": line.product_id,
            "variant_id": line.variant_id,
            "sku": line.sku,
            "name": line.title,
            "title": line.title,
            "quantity": line.quantity,
            "current_quantity": line.quantity,
            "fulfillable_quantity": line.quantity,
            "price": price,
            "price_set": money_set(price),
            "total_discount": discount,
            "total_discount_set": money_set(discount),
            "variant_inventory_management": "shopify",
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

    def transaction(self, o: Order, at: datetime, txn_id: int, kind: str, status: str) -> dict[str, Any]:
        total = money(o.total)
        return {
            **self._shapes["order_transactions/create"],
            "id": txn_id,
            "order_id": o.id,
            "kind": kind,
            "status": status,
            "gateway": o.gateway,
            "created_at": stamp(at),
            "processed_at": stamp(at),
            "amount": total,
            "currency": "USD",
            "payment_id": f"{o.name}.1",
            "error_code": "processing_error" if status == "failure" else None,
            "total_unsettled_set": money_set(total),
            "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{txn_id}",
        }

    def risk(self, o: Order, at: datetime) -> dict[str, Any]:
        return {
            **self._shapes["orders/risk_assessment_changed"],
            "provider_title": "Shopify",
            "risk_level": o.risk,
            "created_at": stamp(at),
            "order_id": o.id,
            "admin_graphql_api_order_id": f"gid://shopify/Order/{o.id}",
        }

    def fulfillment(self, o: Order, at: datetime, status: str, shipment: str | None) -> dict[str, Any]:
        sample = self._shapes["fulfillments/create"]
        url = f"https://www.ups.com/WebTracking?trackNums={o.tracking}"
        return {
            **sample,
            "id": o.fulfillment_id,
            "order_id": o.id,
            "status": status,
            "shipment_status": shipment,
            "created_at": stamp(at),
            "updated_at": stamp(at),
            "email": o.email,
            "name": f"{o.name}.1",
            "tracking_company": "UPS",
            "tracking_number": o.tracking,
            "tracking_numbers": [o.tracking],
            "tracking_url": url,
            "tracking_urls": [url],
            "admin_graphql_api_id": f"gid://shopify/Fulfillment/{o.fulfillment_id}",
            "line_items": [
                {**self._line(line), "fulfillment_status": "fulfilled", "fulfillable_quantity": 0}
                for line in o.lines
            ],
        }

    def carrier_event(
        self, o: Order, at: datetime, event_id: int, status: str, message: str
    ) -> dict[str, Any]:
        return {
            **self._shapes["fulfillment_events/create"],
            "id": event_id,
            "fulfillment_id": o.fulfillment_id,
            "order_id": o.id,
            "status": status,
            "message": message,
            "happened_at": stamp(at),
            "created_at": stamp(at),
            "updated_at": stamp(at),
            "country": "US",
            "admin_graphql_api_id": f"gid://shopify/FulfillmentEvent/{event_id}",
        }

    def hold(self, o: Order, at: datetime, reason: str, note: str) -> dict[str, Any]:
        sample = self._shapes["fulfillment_orders/placed_on_hold"]
        fo = f"gid://shopify/FulfillmentOrder/{o.fulfillment_id}"
        hold = {
            **sample["fulfillment_order"]["fulfillment_holds"][0],
            "id": f"gid://shopify/FulfillmentHold/{o.id}",
            "reason": reason,
            "reason_notes": note,
        }
        return {
            **sample,
            "fulfillment_order": {"id": fo, "status": "on_hold", "fulfillment_holds": [hold]},
            "remaining_fulfillment_order": None,
            "held_fulfillment_order_line_items": [],
            "created_at": stamp(at),
        }

    def return_request(
        self, o: Order, at: datetime, return_id: int, line: Line, reason: str, topic: str = "returns/request"
    ) -> dict[str, Any]:
        price = money(line.price - line.discount)
        status = "requested" if topic == "returns/request" else "open"
        return {
            **self._shapes[topic],
            "id": return_id,
            "admin_graphql_api_id": f"gid://shopify/Return/{return_id}",
            "status": status,
            "order": {"id": o.id, "admin_graphql_api_id": f"gid://shopify/Order/{o.id}"},
            "name": f"{o.name}-R1",
            "total_return_line_items": 1,
            "exchange_line_items": [],
            "total_exchange_line_items": 0,
            "return_shipping_fees": [],
            "return_line_items": [
                {
                    "id": return_id + 1,
                    "quantity": 1,
                    "return_reason": reason,
                    "return_reason_note": "",
                    "customer_note": "",
                    "line_item": {"id": line.id, "price": price, "sku": line.sku},
                }
            ],
        }

    def refund(
        self, o: Order, at: datetime, refund_id: int, amount: Decimal, note: str, return_id: int | None = None
    ) -> dict[str, Any]:
        sample = self._shapes["refunds/create"]
        total = money(amount)
        txn = {
            **sample["transactions"][0],
            "id": refund_id + 7,
            "order_id": o.id,
            "amount": total,
            "kind": "refund",
            "status": "success",
            "created_at": stamp(at),
            "gateway": o.gateway,
            "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{refund_id + 7}",
        }
        ret = (
            {"id": return_id, "admin_graphql_api_id": f"gid://shopify/Return/{return_id}"}
            if return_id
            else None
        )
        return {
            **sample,
            "id": refund_id,
            "order_id": o.id,
            "created_at": stamp(at),
            "processed_at": stamp(at),
            "note": note,
            "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
            "return": ret,
            "refund_line_items": [],
            "transactions": [txn],
        }

    def dispute(self, o: Order, at: datetime, dispute_id: int, reason: str) -> dict[str, Any]:
        return {
            **self._shapes["disputes/create"],
            "id": dispute_id,
            "order_id": o.id,
            "amount": money(o.total),
            "currency": "USD",
            "reason": reason,
            "status": "needs_response",
            "initiated_at": stamp(at),
            "evidence_due_by": stamp(at + timedelta(days=7)),
        }

    def discount(self, at: datetime, discount_id: int, code: str, status: str) -> dict[str, Any]:
        return {
            **self._shapes["discounts/create"],
            "admin_graphql_api_id": f"gid://shopify/DiscountCodeNode/{discount_id}",
            "title": code,
            "status": status,
            "created_at": stamp(at),
            "updated_at": stamp(at),
        }

    def inventory(self, at: datetime, item_id: int, location_id: int, available: int) -> dict[str, Any]:
        return {
            "inventory_item_id": item_id,
            "location_id": location_id,
            "available": available,
            "updated_at": stamp(at),
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}",
        }

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
