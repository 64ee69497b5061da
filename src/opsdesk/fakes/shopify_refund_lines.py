"""The stand-in's refunds of line items (``refundCreate``'s ``refundLineItems``): checked as Shopify checks them (a
line item the order does not have, or more units than are left to refund, is a userError and no refund is made),
echoed in the refund, and kept as the ``refunds/create`` webhook's body Shopify sends for it (the shape of Shopify's
2026-07 sample: ``refund_line_items`` with ``line_item_id``, ``quantity``, ``restock_type``, ``subtotal`` and
``subtotal_set``, ``total_tax`` and ``total_tax_set`` (the units' share of what was paid for their line: the first
units to the cent below, the cents left to the last, ADR 0049), and the ``line_item``; the money in
``transactions``).

An order's line items are those ``put_line_items`` gave, else those of the order ``put_order_payload`` holds; of an
order the stand-in knows no line of (one made on first use, with the default terms) every line item is taken as
named, with no subtotal. The units refunded already are those of the held order's refunds and of the stand-in's.
The userErrors' wording is the stand-in's; their fields are Shopify's (``refundLineItems.<i>.<field>``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, NamedTuple

from opsdesk.fakes.shopify_resources import Order, user_error

__all__ = ["RefundedLine", "Sold", "check_lines", "refund_webhook", "refunded_units", "sold_lines"]

JSON = dict[str, Any]
#: (line item id, units, subtotal, tax: the units' share of their line's; subtotal None when the stand-in does not
#: know its price)
RefundedLine = tuple[int, int, Decimal | None, Decimal]
_CENT = Decimal("0.01")


class Sold(NamedTuple):
    """An order's line as sold: its units and what was paid for them all (``subtotal``: their price less their
    discounts; ``tax``)."""

    units: int
    subtotal: Decimal
    tax: Decimal = Decimal(0)

    def share(self, amount: Decimal, before: int, units: int) -> Decimal:
        """``units`` more units' share of the line's ``amount``, ``before`` refunded already: Shopify gives each
        its share to the cent below, and the cents left to the last unit."""
        def upto(n: int) -> Decimal:
            return (amount * n / self.units).quantize(_CENT, rounding=ROUND_DOWN)

        return upto(before + units) - upto(before)


def _number(gid: object) -> int:
    return int(str(gid).rsplit("/", 1)[-1])


def sold_lines(order: Order, held: JSON | None) -> dict[int, Sold] | None:
    """The order's line items, None when the stand-in knows none: those ``put_line_items`` gave (what was paid for
    them as given, else their price), else those of the held order (its discount allocations and tax lines)."""
    if order.line_items is not None:
        return {
            item: Sold(units, *order.line_money.get(item, (price * units, Decimal(0))))
            for item, (units, price) in order.line_items.items()
        }
    if held is None:
        return None
    return {_number(item.get("admin_graphql_api_id") or item["id"]): _held_line(item)
            for item in held.get("line_items") or []}


def _held_line(item: JSON) -> Sold:
    units, price = int(item["quantity"]), Decimal(str(item["price"]))
    discounts = sum((Decimal(str(a["amount"])) for a in item.get("discount_allocations") or []), Decimal(0))
    tax = sum((Decimal(str(t["price"])) for t in item.get("tax_lines") or []), Decimal(0))
    return Sold(units, price * units - discounts, tax)


def refunded_units(order: Order, held: JSON | None) -> dict[int, int]:
    """Units refunded so far, by line item: by the held order's refunds and by the stand-in's own."""
    units: dict[int, int] = {}
    for refund in [*((held or {}).get("refunds") or []), *order.refunds]:
        for line in refund.get("refund_line_items") or []:
            item = _number((line.get("line_item") or {}).get("admin_graphql_api_id") or line["line_item_id"])
            units[item] = units.get(item, 0) + int(line["quantity"])
    return units


def check_lines(
    given: list[JSON], sold: dict[int, Sold] | None, refunded: dict[int, int]
) -> tuple[list[RefundedLine], JSON | None]:
    """The lines to refund, or the userError that refuses the refund."""
    lines: list[RefundedLine] = []
    taken: dict[int, int] = {}
    for i, line in enumerate(given):
        item, units = _number(line["lineItemId"]), int(line["quantity"])
        if sold is not None and item not in sold:
            return [], user_error(
                "Line item does not exist on this order.", ("refundLineItems", str(i), "lineItemId")
            )
        before = refunded.get(item, 0) + taken.get(item, 0)
        left = (sold[item].units if sold is not None else units) - before
        if units <= 0 or units > max(left, 0):
            return [], user_error(
                f"Quantity {units} is more than the {max(left, 0)} left to refund of line item {item}.",
                ("refundLineItems", str(i), "quantity"),
            )
        taken[item] = taken.get(item, 0) + units
        if sold is None:
            lines.append((item, units, None, Decimal(0)))
        else:
            line_sold = sold[item]
            lines.append((item, units, line_sold.share(line_sold.subtotal, before, units),
                          line_sold.share(line_sold.tax, before, units)))
    return lines, None


def refund_webhook(
    order: Order,
    gid: str,
    amount: Decimal,
    currency: str,
    gateway: object,
    note: object,
    lines: list[RefundedLine],
    at: datetime,
) -> JSON:
    """The ``refunds/create`` body for a refund the stand-in made: its lines (not restocked: ``no_restock``, as
    the app asks) and its money through one refund transaction."""
    number, stamp = _number(gid), at.isoformat()

    def money(amount: object) -> JSON:
        value = {"amount": str(amount), "currency_code": currency}
        return {"shop_money": value, "presentment_money": value}

    refund_lines = []
    for i, (item, units, subtotal, tax) in enumerate(lines, start=1):
        line: JSON = {
            "id": number * 100 + i,
            "quantity": units,
            "line_item_id": item,
            "location_id": None,
            "restock_type": "no_restock",
            "total_tax": float(tax),
            "total_tax_set": money(tax.quantize(_CENT)),
            "line_item": {"id": item, "admin_graphql_api_id": f"gid://shopify/LineItem/{item}"},
        }
        if subtotal is not None:
            line.update(subtotal=float(subtotal), subtotal_set=money(subtotal))  # a JSON number, as Shopify's
        refund_lines.append(line)
    transaction = {
        "id": number * 100,
        "order_id": order.id,
        "kind": "refund",
        "gateway": gateway,
        "status": "success",
        "amount": str(amount),
        "currency": currency,
        "created_at": stamp,
        "parent_id": None,
        "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{number * 100}",
    }
    return {
        "id": number,
        "order_id": order.id,
        "created_at": stamp,
        "processed_at": stamp,
        "note": note,
        "user_id": None,
        "restock": False,
        "return": None,
        "duties": [],
        "total_duties_set": money("0.00"),
        "refund_shipping_lines": [],
        "order_adjustments": [],
        "admin_graphql_api_id": gid,
        "refund_line_items": refund_lines,
        "transactions": [transaction],
    }
