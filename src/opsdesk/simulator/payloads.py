"""Payloads of what happens to an order after it is placed (transactions, fulfilments, carrier events, holds,
returns, refunds, disputes) and of the store's discounts and stock, each from its topic's Shopify sample."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from opsdesk.simulator.shapes import Line, Order, money, money_set, shapes, stamp


class Payloads:
    """The samples' payloads with the simulated values put in; ``Renderer`` adds orders and signing."""

    def __init__(self) -> None:
        self._shapes = shapes()

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
        # the line item's list price, as Shopify's return embeds it: what was paid is the order's (ADR 0049)
        price = money(line.price)
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
