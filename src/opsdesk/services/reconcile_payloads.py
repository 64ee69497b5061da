"""The Admin GraphQL resources the sweep reads, as the webhooks' bodies (the REST resources) the normaliser reads.

Only what the desk's projections use is carried over; a new snapshot field must be added both here and to the
connector's query (ADR 0015). ``synthetic_delivery`` wraps one as the delivery the sweep appends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from opsdesk.domain.records import RawDelivery

__all__ = ["RECONCILE", "as_object", "connection_nodes", "fulfilment_payload", "gid_number", "parse_utc",
           "refund_payload", "rest_enum", "return_change_payload", "return_payload", "synthetic_delivery",
           "webhook_payload"]

#: ``api_version`` of the deliveries the sweep appends: tells them apart from Shopify's in the raw store.
RECONCILE = "reconcile"
JSON = dict[str, Any]


def gid_number(gid: object) -> int | None:
    if gid is None:
        return None
    text = str(gid).rsplit("/", 1)[-1]
    return int(text) if text.isdigit() else None


def _amount(money: object) -> str | None:
    if not isinstance(money, dict):
        return None
    shop_money = money.get("shopMoney")
    return str(shop_money.get("amount")) if isinstance(shop_money, dict) else None


_FULFILMENT = {"UNFULFILLED": None, "PARTIALLY_FULFILLED": "partial", "FULFILLED": "fulfilled",
               "RESTOCKED": "restocked"}


def connection_nodes(connection: object) -> list[JSON]:
    if not isinstance(connection, dict):
        return []
    return [n for n in connection.get("nodes") or [] if isinstance(n, dict)]


def webhook_payload(node: JSON) -> JSON:
    """An Admin GraphQL ``Order`` as the ``orders/updated`` webhook's body (the REST resource), so that
    the ordinary normaliser reads it. Only what the order projection uses is carried over."""
    order_id = int(node.get("legacyResourceId") or gid_number(node.get("id")) or 0)
    customer = node.get("customer") if isinstance(node.get("customer"), dict) else None
    address = node.get("shippingAddress") if isinstance(node.get("shippingAddress"), dict) else None
    status = node.get("displayFulfillmentStatus")
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": node.get("name"),
        "email": node.get("email"),
        "currency": node.get("currencyCode"),
        "total_price": _amount(node.get("totalPriceSet")),
        "subtotal_price": _amount(node.get("subtotalPriceSet")),
        "total_discounts": _amount(node.get("totalDiscountsSet")),
        "financial_status": str(node.get("displayFinancialStatus") or "").lower() or None,
        "fulfillment_status": _FULFILMENT.get(str(status), str(status).lower()) if status else None,
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": str(node["cancelReason"]).lower() if node.get("cancelReason") else None,
        "closed_at": node.get("closedAt"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "tags": ", ".join(str(t) for t in node.get("tags") or []),
        "source_name": node.get("sourceName"),
        "location_id": None,
        "discount_codes": [{"code": str(c)} for c in node.get("discountCodes") or []],
        "payment_gateway_names": [str(g) for g in node.get("paymentGatewayNames") or []],
        "taxes_included": node.get("taxesIncluded"),
        "discount_applications": [
            {"code": a["code"]} if a.get("code") else {"title": a.get("title")}
            for a in connection_nodes(node.get("discountApplications"))
        ],
        "customer": None if customer is None else {
            "id": gid_number(customer.get("id")), "created_at": customer.get("createdAt")},
        "shipping_address": None if address is None else {
            "name": address.get("name"), "address1": address.get("address1"),
            "address2": address.get("address2"), "city": address.get("city"),
            "province_code": address.get("provinceCode"), "zip": address.get("zip"),
            "country_code": address.get("countryCodeV2"), "phone": address.get("phone")},
        "fulfillments": [fulfilment_payload(order_id, f) for f in node.get("fulfillments") or []
                         if isinstance(f, dict)],
        "refunds": [refund_payload(order_id, r) for r in node.get("refunds") or [] if isinstance(r, dict)],
        "line_items": [_line_item(item) for item in connection_nodes(node.get("lineItems"))],
    }


def _line_item(item: JSON) -> JSON:
    """An order's ``LineItem`` as the webhook's line, with what was paid for it (ADR 0051): its discount allocations
    and its tax lines. A line whose tax lines were not read whole (``taxLines`` null: the connector read as many as
    a query allows, and there may be more) has no ``tax_lines``, so what was paid for it is not known, rather
    than known without its tax."""
    line: JSON = {
        "id": gid_number(item.get("id")), "sku": item.get("sku"), "title": item.get("title"),
        "quantity": item.get("quantity"),
        "variant_id": gid_number((item.get("variant") or {}).get("id")),
        "product_id": gid_number((item.get("product") or {}).get("id")),
        "price": _amount(item.get("originalUnitPriceSet")),
        "total_discount": _amount(item.get("totalDiscountSet")) or "0.00",
        "discount_allocations": [{"amount": _amount(a.get("allocatedAmountSet"))}
                                 for a in item.get("discountAllocations") or [] if isinstance(a, dict)],
    }
    taxes = item.get("taxLines")
    if isinstance(taxes, list):
        line["tax_lines"] = [{"price": _amount(t.get("priceSet"))} for t in taxes if isinstance(t, dict)]
    return line


#: ``Fulfillment.displayStatus`` values that say nothing about the shipment (REST ``shipment_status`` null).
_NO_SHIPMENT_STATUS = frozenset({"FULFILLED", "MARKED_AS_FULFILLED", "SUBMITTED", "CANCELED", "LABEL_VOIDED"})


def fulfilment_payload(order_id: int, node: JSON) -> JSON:
    """An Admin GraphQL ``Fulfillment`` as the ``fulfillments/update`` webhook's body; its tracking number and link
    when it was read with them (a whole order's read, ``trackingInfo``: the first only, which is all a query allows;
    ADR 0065, session 15), else none (the listing: its tracking is not said)."""
    display = str(node.get("displayStatus") or "")
    tracking = [t for t in node.get("trackingInfo") or [] if isinstance(t, dict)]
    location = node.get("location") if isinstance(node.get("location"), dict) else {}
    return {
        "id": int(node.get("legacyResourceId") or gid_number(node.get("id")) or 0),
        "order_id": order_id,
        "status": str(node.get("status") or "").lower() or None,
        "shipment_status": None if not display or display in _NO_SHIPMENT_STATUS else display.lower(),
        "tracking_company": tracking[0].get("company") if tracking else None,
        "location_id": gid_number(location.get("legacyResourceId")) if location else None,
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        **(_tracking(tracking[0] if tracking else {}) if "trackingInfo" in node else {}),
    }


def _tracking(info: JSON) -> JSON:
    """A ``FulfillmentTrackingInfo`` as the webhook's tracking fields."""
    number, url = info.get("number"), info.get("url")
    return {"tracking_number": number, "tracking_numbers": [number] if number else [],
            "tracking_url": url, "tracking_urls": [url] if url else []}


def refund_payload(order_id: int, node: JSON) -> JSON:
    """An Admin GraphQL ``Refund`` as the ``refunds/create`` webhook's body, with what ``refund_created``
    reads: the return it was made from (``return``, ADR 0061), the refund transactions, else the refunded lines'
    subtotals, and each line's subtotal and tax, and what of its money was not its lines' (read for a refund of lines:
    its shipping lines, ADR 0055; its duties and order adjustments, ADR 0061), in shop money. GraphQL gives a refund
    no ``processedAt``, so the normaliser dates it by ``created_at``, as a webhook without one."""
    made_from = gid_number(as_object(node.get("return")).get("id"))
    return {
        "id": int(node.get("legacyResourceId") or gid_number(node.get("id")) or 0),
        "order_id": order_id,
        "note": node.get("note"),
        "created_at": node.get("createdAt"),
        "return": None if made_from is None else {
            "id": made_from, "admin_graphql_api_id": f"gid://shopify/Return/{made_from}"},
        "transactions": [
            {"id": gid_number(t.get("id")), "kind": rest_enum(t.get("kind")), "status": rest_enum(t.get("status")),
             **_money(t.get("amountSet"), "amount", "currency")}
            for t in connection_nodes(node.get("transactions"))
        ],
        "refund_line_items": [
            {"id": gid_number(line.get("id")), "quantity": line.get("quantity"),
             "line_item_id": gid_number(as_object(line.get("lineItem")).get("id")),
             "subtotal_set": {"shop_money": _money(line.get("subtotalSet"), "amount", "currency_code")},
             **_line_tax(line)}
            for line in connection_nodes(node.get("refundLineItems"))
        ],
        "refund_shipping_lines": [
            {"subtotal_amount_set": {"shop_money": _money(line.get("subtotalAmountSet"), "amount", "currency_code")},
             "tax_amount_set": {"shop_money": _money(line.get("taxAmountSet"), "amount", "currency_code")}}
            for line in connection_nodes(node.get("refundShippingLines"))
        ],
        "duties": [{"amount_set": {"shop_money": _money(duty.get("amountSet"), "amount", "currency_code")}}
                   for duty in node.get("duties") or [] if isinstance(duty, dict)],
        "order_adjustments": [  # GraphQL names no kind: none is shipping, which is in its shipping lines (ADR 0055)
            {"amount_set": {"shop_money": _money(adjustment.get("amountSet"), "amount", "currency_code")},
             "tax_amount_set": {"shop_money": _money(adjustment.get("taxAmountSet"), "amount", "currency_code")}}
            for adjustment in connection_nodes(node.get("orderAdjustments"))
        ],
    }


def return_payload(order_id: int, node: JSON) -> JSON:
    """An Admin GraphQL ``Return`` as the ``returns/request`` webhook's body (Shopify's sample, with its lines as
    live shops send them: the sold line under ``fulfillment_line_item``, the reason and the notes), so that the
    ordinary normaliser reads it and keys it the same (``return.requested:<id>``). The webhook has no time of
    its own (the normaliser dates it by its trigger time): ``created_at`` carries the return's ``createdAt``."""
    number = gid_number(node.get("id")) or 0
    lines = connection_nodes(node.get("returnLineItems"))
    return {
        "id": number,
        "admin_graphql_api_id": f"gid://shopify/Return/{number}",
        "status": rest_enum(node.get("status")),
        "order": {"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}"},
        "name": node.get("name"),
        "created_at": node.get("createdAt"),
        "total_return_line_items": len(lines),
        "return_line_items": [_return_line(line) for line in lines],
        "return_shipping_fees": [],
        "exchange_line_items": [],
        "total_exchange_line_items": 0,
    }


def return_change_payload(order_id: int, node: JSON, change: str) -> JSON:
    """An Admin GraphQL ``Return`` as the body of ``returns/<change>`` (approve, decline, cancel, close, reopen),
    with the fields of Shopify's sample for that topic: approve's as request's (its lines as read), decline's the
    order as an object (not its ``decline`` reason and note: reading them would take the further returns' query
    over the cost limit), the others ``order_id``. No time: the webhook has none (the sweep dates the delivery)."""
    number = gid_number(node.get("id")) or 0
    base: JSON = {"id": number, "admin_graphql_api_id": f"gid://shopify/Return/{number}",
                  "status": rest_enum(node.get("status"))}
    if change == "approve":
        request = return_payload(order_id, node)
        del request["created_at"]
        return {**request, **base}
    if change == "decline":
        return {**base, "order": {"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}"}}
    return {**base, "order_id": order_id}


def _return_line(node: JSON) -> JSON:
    fulfilled = as_object(node.get("fulfillmentLineItem"))
    definition = as_object(node.get("returnReasonDefinition"))
    return {
        "id": gid_number(node.get("id")),
        "quantity": node.get("quantity"),
        "return_reason": rest_enum(node.get("returnReason")),
        "return_reason_definition": {"handle": definition.get("handle"), "name": definition.get("name")}
        if definition else None,
        "return_reason_note": node.get("returnReasonNote") or "",
        "customer_note": node.get("customerNote"),
        "fulfillment_line_item": {"id": gid_number(fulfilled.get("id")),
                                  "line_item": {"id": gid_number(as_object(fulfilled.get("lineItem")).get("id"))}}
        if fulfilled else None,
    }


def _line_tax(line: JSON) -> JSON:
    """A refund line's ``totalTaxSet`` as the webhook's ``total_tax_set``; nothing when not read."""
    if not isinstance(line.get("totalTaxSet"), dict):
        return {}
    return {"total_tax_set": {"shop_money": _money(line["totalTaxSet"], "amount", "currency_code")}}


def _money(money_set: object, amount: str, currency: str) -> JSON:
    """A GraphQL ``MoneyBag``'s shop money under the REST names ``amount`` and ``currency``."""
    shop_money = as_object(as_object(money_set).get("shopMoney"))
    found = shop_money.get("amount")
    return {amount: None if found is None else str(found), currency: shop_money.get("currencyCode")}


def as_object(value: object) -> JSON:
    return value if isinstance(value, dict) else {}


def rest_enum(value: object) -> str | None:
    """A GraphQL enum (``NEEDS_RESPONSE``) as the REST value (``needs_response``)."""
    return str(value).lower() if value else None


def parse_utc(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def synthetic_delivery(
    shop: str, topic: str, resource: str, payload: JSON, updated_at: datetime, now: datetime
) -> RawDelivery:
    """The delivery the sweep appends; its id is the same every time for this version of the resource."""
    stamp = updated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    name = f"{payload['id']}" if resource == "order" else resource
    webhook_id = f"reconcile:{name}:{stamp}"
    return RawDelivery(
        shop=shop, webhook_id=webhook_id, topic=topic, body=orjson.dumps(payload), received_at=now,
        api_version=RECONCILE, event_id=webhook_id, triggered_at=updated_at,
    )

