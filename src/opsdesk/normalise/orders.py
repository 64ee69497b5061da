"""``orders/*`` payloads: the order as a snapshot, and order edits as line-item deltas."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from opsdesk.domain.events import (
    LineItem,
    OrderChange,
    OrderChanged,
    OrderEdited,
    OrderId,
    OrderSnapshot,
    QuantityDelta,
    ShippingAddress,
    ShopDomain,
    StoreEvent,
)
from opsdesk.domain.money import Money
from opsdesk.normalise.fields import (
    JSON,
    FieldError,
    each,
    find_datetime,
    find_decimal,
    find_id,
    find_object,
    get_datetime,
    get_decimal,
    get_id,
    get_int,
    get_object,
    occurred_at,
    text,
    within,
)
from opsdesk.normalise.payments import line_money, listed_refunds

_ORDER_TIMES = ("updated_at", "created_at")
_EDIT_TIMES = ("committed_at", "created_at")
_ZERO = Decimal(0)


def order_changed(
    change: OrderChange, payload: JSON, shop: ShopDomain, triggered_at: datetime | None
) -> tuple[StoreEvent, ...]:
    """An order topic whose payload is the order itself: the order, then the refunds it lists (``listed_refunds``;
    the order's event first, as the reconciliation sweep and the backtest read a delivery's first event as its
    own)."""
    at = occurred_at(payload, _ORDER_TIMES, triggered_at)
    order = snapshot(payload, at)
    return (OrderChanged(shop, at, change, order), *listed_refunds(payload, order.id, shop, triggered_at))


def snapshot(order: JSON, updated_at: datetime) -> OrderSnapshot:
    """The order resource as an ``OrderSnapshot``; money in the order's (shop) currency."""
    currency = _currency(order)
    included = _taxes_included(order)
    return OrderSnapshot(
        id=OrderId(get_id(order)),
        name=text(order, "name"),
        email=text(order, "email") or text(order, "contact_email"),
        customer_id=within(order, "customer", find_id),
        currency=currency,
        total=Money(get_decimal(order, "total_price"), currency),
        subtotal=Money(get_decimal(order, "subtotal_price"), currency),
        total_discounts=Money(get_decimal(order, "total_discounts"), currency),
        financial_status=text(order, "financial_status"),
        fulfillment_status=text(order, "fulfillment_status"),
        cancelled_at=find_datetime(order, "cancelled_at"),
        created_at=get_datetime(order, "created_at"),
        updated_at=updated_at,
        tags=_tags(order),
        source_name=text(order, "source_name"),
        line_items=each(order, "line_items", _included_line_item if included else _line_item),
        discount_codes=each(order, "discount_codes", _discount_code),
        shipping_country=within(order, "shipping_address", _country) or "",
        location_id=find_id(order, "location_id", None),
        cancel_reason=text(order, "cancel_reason"),
        shipping_address=within(order, "shipping_address", _address),
        applied_discounts=each(order, "discount_applications", _application),
        customer_created_at=within(order, "customer", _customer_created_at),
        payment_gateways=_gateways(order),
        taxes_included=included,
    )


def order_edited(payload: JSON, shop: ShopDomain, triggered_at: datetime | None) -> tuple[StoreEvent, ...]:
    """``orders/edited``: the payload is ``{"order_edit": {...}}`` with line-item additions and removals."""
    edit = get_object(payload, "order_edit")
    try:
        return (_order_edit(edit, shop, triggered_at),)
    except FieldError as exc:
        raise exc.inside("order_edit") from exc


def _order_edit(edit: JSON, shop: ShopDomain, triggered_at: datetime | None) -> OrderEdited:
    added, removed = within(edit, "line_items", _deltas) or ((), ())
    return OrderEdited(
        shop,
        occurred_at(edit, _EDIT_TIMES, triggered_at),
        edit_id=get_id(edit),
        order=OrderId(get_id(edit, "order_id", "admin_graphql_api_order_id")),
        added=added,
        removed=removed,
    )


def _deltas(changes: JSON) -> tuple[tuple[QuantityDelta, ...], tuple[QuantityDelta, ...]]:
    return each(changes, "additions", quantity_delta), each(changes, "removals", quantity_delta)


def quantity_delta(change: JSON) -> QuantityDelta:
    return QuantityDelta(get_id(change), get_int(change, "delta"))


def _currency(order: JSON) -> str:
    currency = text(order, "currency")
    if currency:
        return currency
    prices = find_object(order, "total_price_set")
    shop_money = find_object(prices, "shop_money") if prices is not None else None
    currency = text(shop_money, "currency_code") if shop_money is not None else ""
    if not currency:
        raise FieldError("currency", "is missing")
    return currency


def _line_item(item: JSON, taxes_included: bool = False) -> LineItem:
    discount = find_decimal(item, "total_discount")
    return LineItem(  # positional: this runs for every line of every order delivery
        get_id(item),
        text(item, "sku"),
        find_id(item, "variant_id", None),
        find_id(item, "product_id", None),
        get_int(item, "quantity"),
        get_decimal(item, "price"),
        _ZERO if discount is None else discount,
        text(item, "title"),
        _paid(item, discount, taxes_included),
    )


def _included_line_item(item: JSON) -> LineItem:
    return _line_item(item, taxes_included=True)


def _paid(item: JSON, total_discount: Decimal | None, taxes_included: bool) -> Decimal | None:
    """What the customer paid for the line: its price times its quantity less its discounts (the greater of its
    ``total_discount`` and its discount allocations: they should agree, and where a sample does not, the greater
    refunds less, which a person can make good), plus its tax lines unless the order's prices include them (ADR
    0051: the price has the tax in it already). None when a tax line or an allocation does not read, or the line
    carries no ``tax_lines`` at all (Shopify's webhooks always do, maybe empty; the sweep leaves them out of a line
    whose tax it could not read whole): the order is still taken, and a return of the line goes to a person (ADR
    0049)."""
    if "tax_lines" not in item:
        return None
    try:
        money = line_money(item)
    except FieldError:
        return None
    if money is None:
        return None
    gross, allocated, tax, _ = money
    return gross - max(allocated, _ZERO if total_discount is None else total_discount) + (
        _ZERO if taxes_included else tax)


def _taxes_included(order: JSON) -> bool:
    """``taxes_included``: the order's prices include their tax. Orders always say (the 2026-07 schema requires
    it); one that does not is taken as tax-exclusive, Shopify's default. A value that is not a boolean is refused:
    it decides how much money a return is worth."""
    value = order.get("taxes_included")
    if value is None or type(value) is bool:
        return value is True
    raise FieldError("taxes_included", "is neither true nor false")


def _tags(order: JSON) -> tuple[str, ...]:
    tags = order.get("tags")
    if type(tags) is str:
        return tuple(tag for tag in map(str.strip, tags.split(",")) if tag)
    if tags is None:
        return ()
    if type(tags) is list and all(type(tag) is str for tag in tags):
        return tuple(tags)
    raise FieldError("tags", "is neither a comma-separated string nor a list of strings")


def _discount_code(discount: JSON) -> str:
    return text(discount, "code")


def _application(application: JSON) -> str:
    return text(application, "code") or text(application, "title")


def _customer_created_at(customer: JSON) -> datetime | None:
    try:  # only a hint (is this a new account?): an odd value must not fail the whole order
        return find_datetime(customer, "created_at")
    except FieldError:
        return None


def _gateways(order: JSON) -> tuple[str, ...]:
    # Only a hint (how long an unpaid order may wait): an odd value must not fail the whole order.
    names = order.get("payment_gateway_names")
    if type(names) is not list:
        return ()
    return tuple(name for name in names if type(name) is str and name)


def _address(address: JSON) -> ShippingAddress:
    return ShippingAddress(
        name=text(address, "name"),
        street1=text(address, "address1"),
        street2=text(address, "address2"),
        city=text(address, "city"),
        province_code=text(address, "province_code"),
        zip=text(address, "zip"),
        country_code=text(address, "country_code"),
        phone=text(address, "phone"),
    )


def _country(address: JSON) -> str:
    return text(address, "country_code")
