"""The fake Admin API's resources: orders, fulfilment orders, discounts, and the effects of mutations on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["NOT_FOUND", "SUPPORTED", "Discount", "Effect", "FulfillmentOrder", "Order", "user_error"]

JSON = dict[str, Any]
#: Which actions a fulfilment order supports in each status (``FulfillmentOrder.supportedActions``).
SUPPORTED = {"OPEN": ("CREATE_FULFILLMENT", "HOLD", "MOVE"), "ON_HOLD": ("HOLD", "RELEASE_HOLD")}
NOT_FOUND = "FULFILLMENT_ORDER_NOT_FOUND"


@dataclass(frozen=True, slots=True)
class Effect:
    """One change the fake applied; a repeated idempotency key never makes a second one."""

    kind: str  # the mutation: refundCreate, fulfillmentOrderHold, ...
    key: str  # the idempotency key it was applied under, "" when none was sent
    shop: str
    target: str  # the gid acted on
    order_id: int | None = None
    amount: Decimal | None = None
    currency: str = ""
    detail: JSON = field(default_factory=dict)


@dataclass
class FulfillmentOrder:
    id: str
    order_id: int
    status: str = "OPEN"
    holds: list[JSON] = field(default_factory=list)

    def node(self) -> JSON:
        actions = SUPPORTED.get(self.status, ())
        return {"id": self.id, "status": self.status, "supportedActions": [{"action": a} for a in actions],
                "fulfillmentHolds": [dict(h) for h in self.holds]}


@dataclass
class Order:
    id: int
    total: Decimal = Decimal("1000.00")
    currency: str = "USD"
    gateway: str = "shopify_payments"
    refunded: Decimal = Decimal(0)
    note: str = ""
    tags: list[str] = field(default_factory=list)
    fulfillment_orders: list[FulfillmentOrder] = field(default_factory=list)
    financial_status: str = "PAID"  # displayFinancialStatus: PAID, PENDING, AUTHORIZED, VOIDED, ...
    #: Its line items (id: units ordered, price), None when not given (``shopify_refund_lines``).
    line_items: dict[int, tuple[int, Decimal]] | None = None
    #: What was paid for its line items (id: price times units less discounts, tax), where given; else their price.
    line_money: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)
    #: The ``refunds/create`` bodies of the refunds the stand-in made on it.
    refunds: list[JSON] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return f"gid://shopify/Order/{self.id}"

    def node(self) -> JSON:
        paid = self.financial_status in ("PAID", "PARTIALLY_REFUNDED", "REFUNDED", "AUTHORIZED")
        sale = {"id": f"gid://shopify/OrderTransaction/{self.id}1", "kind": "SALE",
                "status": "SUCCESS" if paid else "PENDING", "gateway": self.gateway,
                "amountSet": {"presentmentMoney": {"amount": str(self.total), "currencyCode": self.currency}}}
        return {"id": self.gid, "note": self.note, "tags": list(self.tags), "transactions": [sale],
                "displayFinancialStatus": self.financial_status, "paymentGatewayNames": [self.gateway],
                "fulfillmentOrders": {"nodes": [fo.node() for fo in self.fulfillment_orders]}}


@dataclass
class Discount:
    gid: str
    title: str = "Discount"
    status: str = "ACTIVE"
    percentage: float | None = 0.1  # a fraction, as Shopify gives it
    amount: Decimal | None = None
    currency: str = "USD"
    applies_on_each_item: bool = False
    all_items: bool = True
    ends_at: str | None = None
    usage_limit: int | None = None
    usage_count: int = 0
    combines_with: tuple[bool, bool, bool] = (False, False, False)  # order, product, shipping
    codes: tuple[str, ...] = ()  # the redeem codes of a code discount

    @property
    def is_code(self) -> bool:
        return "/DiscountCodeNode/" in self.gid

    def node(self) -> JSON:
        value: JSON = {"__typename": "DiscountPercentage", "percentage": self.percentage}
        if self.amount is not None:
            value = {"__typename": "DiscountAmount", "appliesOnEachItem": self.applies_on_each_item,
                     "amount": {"amount": str(self.amount), "currencyCode": self.currency}}
        items = {"__typename": "AllDiscountItems", "allItems": True} if self.all_items \
            else {"__typename": "DiscountProducts"}
        order, product, shipping = self.combines_with
        combines = {"orderDiscounts": order, "productDiscounts": product, "shippingDiscounts": shipping}
        discount: JSON = {
            "__typename": "DiscountCodeBasic" if self.is_code else "DiscountAutomaticBasic",
            "title": self.title, "status": self.status, "endsAt": self.ends_at,
            "asyncUsageCount": self.usage_count, "combinesWith": combines,
            "customerGets": {"value": value, "items": items}}
        if self.is_code:
            discount["usageLimit"] = self.usage_limit
            discount["codes"] = {"nodes": [{"code": code} for code in self.codes]}
        return {"id": self.gid, "discount": discount}


def user_error(message: str, field_path: Sequence[str] = (), code: str | None = None) -> JSON:
    return {"field": list(field_path) or None, "message": message, **({"code": code} if code else {})}
