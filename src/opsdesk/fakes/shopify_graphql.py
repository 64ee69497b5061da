"""The fake Admin API's reconciliation reads: webhook-shaped (REST) orders, refunds, returns and disputes as the
Admin GraphQL nodes the sweep's queries read, cut to what a query selects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opsdesk.fakes.query_document import parse
from opsdesk.fakes.query_shape import shape

__all__ = ["SHAPED", "graphql_dispute", "graphql_order", "graphql_refund", "graphql_return", "return_status",
           "shaped", "utc_time"]

JSON = dict[str, Any]


def utc_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def graphql_order(o: JSON, returns: Sequence[JSON] = ()) -> JSON:
    """A webhook-shaped (REST) order as the Admin GraphQL ``Order`` node the reconciliation query reads, with
    ``returns`` (``graphql_return`` nodes) as its ``returns`` connection and its ``returnStatus``; its lines with their
    discount allocations and tax lines (``LineItem.taxLines``: a list, cut to the query's ``first``)."""
    def money(value: object) -> JSON:
        return {"shopMoney": {"amount": str(value), "currencyCode": o.get("currency")}}

    def stamp(value: object) -> str | None:
        return utc_time(str(value)).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None

    def gid(kind: str, value: object) -> JSON | None:
        return {"id": f"gid://shopify/{kind}/{value}"} if value is not None else None

    tags = o.get("tags") or ""
    address = o.get("shipping_address")
    fulfilment = {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED"}.get(
        o.get("fulfillment_status"), str(o.get("fulfillment_status")).upper())
    customer = o.get("customer") or None
    return {
        "id": f"gid://shopify/Order/{o['id']}", "legacyResourceId": str(o["id"]), "name": o.get("name"),
        "email": o.get("email") or o.get("contact_email"), "createdAt": stamp(o.get("created_at")),
        "updatedAt": stamp(o.get("updated_at")), "cancelledAt": stamp(o.get("cancelled_at")),
        "cancelReason": str(o["cancel_reason"]).upper() if o.get("cancel_reason") else None,
        "closedAt": stamp(o.get("closed_at")),
        "displayFinancialStatus": str(o.get("financial_status") or "pending").upper(),
        "displayFulfillmentStatus": fulfilment,
        "tags": [t.strip() for t in tags.split(",") if t.strip()] if isinstance(tags, str) else list(tags),
        "sourceName": o.get("source_name"), "currencyCode": o.get("currency"),
        "discountCodes": [d["code"] for d in o.get("discount_codes") or []],
        "paymentGatewayNames": list(o.get("payment_gateway_names") or []),
        "taxesIncluded": o.get("taxes_included") is True,
        "totalPriceSet": money(o.get("total_price")), "subtotalPriceSet": money(o.get("subtotal_price")),
        "totalDiscountsSet": money(o.get("total_discounts")),
        "customer": {"id": f"gid://shopify/Customer/{customer['id']}", "createdAt": stamp(customer.get("created_at"))}
        if customer else None,
        "shippingAddress": None if not address else {
            "name": address.get("name"), "address1": address.get("address1"), "address2": address.get("address2"),
            "city": address.get("city"), "provinceCode": address.get("province_code"), "zip": address.get("zip"),
            "countryCodeV2": address.get("country_code"), "phone": address.get("phone")},
        "discountApplications": {"nodes": [
            {"__typename": "DiscountCodeApplication", "code": a["code"]} if a.get("code")
            else {"__typename": "ManualDiscountApplication", "title": a.get("title")}
            for a in o.get("discount_applications") or []]},
        "fulfillments": [{
            "id": f"gid://shopify/Fulfillment/{f['id']}", "legacyResourceId": str(f["id"]),
            "status": str(f.get("status") or "success").upper(), "createdAt": stamp(f.get("created_at")),
            "updatedAt": stamp(f.get("updated_at")),
            "displayStatus": str(f["shipment_status"]).upper() if f.get("shipment_status") else "FULFILLED",
            "trackingInfo": [{"company": f.get("tracking_company"), "number": f.get("tracking_number"),
                              "url": f.get("tracking_url")}]
            if f.get("tracking_company") or f.get("tracking_number") else [],
            "location": {"legacyResourceId": str(f["location_id"])} if f.get("location_id") else None}
            for f in o.get("fulfillments") or []],
        "refunds": [graphql_refund(r, o.get("currency")) for r in o.get("refunds") or []],
        "returns": {"nodes": list(returns)}, "returnStatus": return_status([r["status"] for r in returns]),
        "lineItems": {"nodes": [{
            "id": f"gid://shopify/LineItem/{item['id']}", "sku": item.get("sku"), "title": item.get("title"),
            "quantity": item.get("quantity"),
            "variant": gid("ProductVariant", item.get("variant_id")), "product": gid("Product", item.get("product_id")),
            "originalUnitPriceSet": money(item.get("price")),
            "totalDiscountSet": money(item.get("total_discount") or "0.00"),
            "discountAllocations": [{"allocatedAmountSet": money(a.get("amount"))}
                                    for a in item.get("discount_allocations") or []],
            "taxLines": [{"priceSet": money(t.get("price"))} for t in item.get("tax_lines") or []]}
            for item in o.get("line_items") or []]},
    }


#: The operations whose answers are cut to the query's selection (the reconciliation sweep's reads).
SHAPED = frozenset({"orders", "order", "refund", "return", "fulfillment"})


def shaped(query: str, operation: str, data: JSON, variables: JSON) -> JSON:
    """``data`` (the root field's full value) cut to what the query selects on that root field."""
    root = next(f for f in parse(query).selections if getattr(f, "name", "") == operation)
    shaped: JSON = shape(root.selections, data, variables)
    return shaped


def graphql_refund(r: JSON, currency: object) -> JSON:
    """A webhook-shaped (REST) refund, as in the order's ``refunds``, as the Admin GraphQL ``Refund`` node the
    reconciliation query reads (money in shop money; a REST transaction without a currency is the order's; a line
    without its tax, non-null in GraphQL, has its ``total_tax`` or none), with the return it was made from, its
    shipping lines, its duties and its order adjustments other than shipping (ADR 0061)."""
    def money(amount: object, code: object) -> JSON:
        return {"shopMoney": {"amount": str(amount), "currencyCode": code or currency}}

    def shop_money(money_set: object) -> JSON:
        found = (money_set.get("shop_money") or {}) if isinstance(money_set, dict) else {}
        return money(found.get("amount"), found.get("currency_code"))

    made_from = (r.get("return") or {}).get("id")
    return {
        "id": f"gid://shopify/Refund/{r['id']}", "legacyResourceId": str(r["id"]),
        "createdAt": utc_time(str(r["created_at"])).strftime("%Y-%m-%dT%H:%M:%SZ"), "note": r.get("note"),
        "return": None if made_from is None else {"id": f"gid://shopify/Return/{made_from}"},
        "duties": [{"amountSet": shop_money(duty.get("amount_set"))} for duty in r.get("duties") or []],
        "orderAdjustments": {"nodes": [
            {"amountSet": money(_signed(a, "amount"), None), "taxAmountSet": money(_signed(a, "tax_amount"), None)}
            for a in r.get("order_adjustments") or [] if a.get("kind") != "shipping_refund"]},
        "transactions": {"nodes": [{
            "id": f"gid://shopify/OrderTransaction/{t['id']}", "kind": str(t.get("kind") or "").upper(),
            "status": str(t.get("status") or "").upper(), "amountSet": money(t.get("amount"), t.get("currency"))}
            for t in r.get("transactions") or []]},
        "refundLineItems": {"nodes": [{
            "id": f"gid://shopify/RefundLineItem/{line['id']}", "quantity": line.get("quantity"),
            "lineItem": {"id": f"gid://shopify/LineItem/{_line_item_id(line)}"},
            "subtotalSet": shop_money(line.get("subtotal_set")),
            "totalTaxSet": shop_money(
                line.get("total_tax_set") or {"shop_money": {"amount": line.get("total_tax") or 0}})}
            for line in r.get("refund_line_items") or []]},
        "refundShippingLines": {"nodes": [
            {"subtotalAmountSet": shop_money(s.get("subtotal_amount_set")),
             "taxAmountSet": shop_money(s.get("tax_amount_set"))} for s in _shipping_lines(r)]},
    }


def _shipping_lines(r: JSON) -> list[JSON]:
    """A REST refund's shipping as ``Refund.refundShippingLines`` gives it (ADR 0055): its ``refund_shipping_lines``,
    or, for a refund that has none, its ``shipping_refund`` order adjustments (the REST way before API 2024-10;
    GraphQL names no adjustment's kind since, and lists the shipping refunded as shipping lines), sign turned."""
    if r.get("refund_shipping_lines"):
        return list(r["refund_shipping_lines"])
    return [{"subtotal_amount_set": {"shop_money": {"amount": _positive(a, "amount")}},
             "tax_amount_set": {"shop_money": {"amount": _positive(a, "tax_amount")}}}
            for a in r.get("order_adjustments") or [] if a.get("kind") == "shipping_refund"]


def _positive(adjustment: JSON, key: str) -> str:
    return _signed(adjustment, key).lstrip("-")


def _signed(adjustment: JSON, key: str) -> str:
    """An order adjustment's ``<key>_set`` shop money, else its ``<key>``, as REST signs it."""
    found = ((adjustment.get(f"{key}_set") or {}).get("shop_money") or {}).get("amount", adjustment.get(key))
    return str(found or "0.00")


def _line_item_id(line: JSON) -> object:
    """A refund line's line item id: its ``line_item``'s (exact in the samples, whose ``line_item_id`` a JavaScript
    parse rounded), else ``line_item_id``."""
    return (line.get("line_item") or {}).get("id") or line.get("line_item_id")


def graphql_return(r: JSON, status: str) -> JSON:
    """A webhook-shaped (REST) return (the ``returns/request`` body with a ``created_at``; lines as live shops send
    them, the sold line under ``fulfillment_line_item`` or ``line_item``) as the Admin GraphQL ``Return`` node, at
    ``status`` (the enum: REQUESTED, OPEN, ...)."""
    def line(item: JSON) -> JSON:
        fulfilled = item.get("fulfillment_line_item") or {}
        sold = fulfilled.get("line_item") or item.get("line_item") or {}
        reason = item.get("return_reason")
        return {
            "__typename": "ReturnLineItem", "id": f"gid://shopify/ReturnLineItem/{item['id']}",
            "quantity": item.get("quantity"), "returnReason": str(reason).upper() if reason else "UNKNOWN",
            "returnReasonNote": item.get("return_reason_note") or "", "customerNote": item.get("customer_note"),
            "returnReasonDefinition": item.get("return_reason_definition"),
            "fulfillmentLineItem": {"id": f"gid://shopify/FulfillmentLineItem/{fulfilled.get('id') or item['id']}",
                                    "lineItem": {"id": f"gid://shopify/LineItem/{sold.get('id')}"}}}

    return {
        "id": f"gid://shopify/Return/{r['id']}", "name": r.get("name"), "status": status,
        "createdAt": utc_time(str(r["created_at"])).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "returnLineItems": {"nodes": [line(item) for item in r.get("return_line_items") or []]},
    }


def return_status(statuses: Sequence[str]) -> str:
    """``Order.returnStatus`` from its returns' statuses: one requested says so, else one open is in progress."""
    if "REQUESTED" in statuses:
        return "RETURN_REQUESTED"
    if "OPEN" in statuses:
        return "IN_PROGRESS"
    return "RETURNED" if "CLOSED" in statuses else "NO_RETURN"


def graphql_dispute(d: JSON) -> JSON:
    """A webhook-shaped (REST) dispute as the Admin GraphQL ``ShopifyPaymentsDispute`` node the sweep reads
    (dates as DateTime, as from API 2026-01 on; enums in upper case)."""
    def stamp(value: object) -> str | None:
        return utc_time(str(value)).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None

    def enum(value: object) -> str | None:
        return str(value).upper() if value else None

    return {
        "id": f"gid://shopify/ShopifyPaymentsDispute/{d['id']}", "legacyResourceId": str(d["id"]),
        "status": enum(d.get("status")), "type": enum(d.get("type")), "initiatedAt": stamp(d.get("initiated_at")),
        "evidenceDueBy": stamp(d.get("evidence_due_by")), "evidenceSentOn": stamp(d.get("evidence_sent_on")),
        "finalizedOn": stamp(d.get("finalized_on")),
        "amount": {"amount": str(d.get("amount")), "currencyCode": d.get("currency")},
        "reasonDetails": {"reason": enum(d.get("reason")), "networkReasonCode": d.get("network_reason_code")},
        "order": {"legacyResourceId": str(d["order_id"])} if d.get("order_id") else None,
    }
