"""``returns/*`` payloads: the return's status and, per line, why the customer sends it back."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from opsdesk.domain.events import (
    OrderId,
    QuantityDelta,
    ReturnChange,
    ReturnChanged,
    ReturnLine,
    ReturnUpdated,
    ShopDomain,
    StoreEvent,
)
from opsdesk.normalise.fields import (
    JSON,
    FieldError,
    each,
    find_decimal,
    find_id,
    get_id,
    get_int,
    occurred_at,
    text,
    within,
)
from opsdesk.normalise.orders import quantity_delta

_RETURN_TIMES = ("updated_at", "created_at")
_UPDATE_TIMES = ("updated_at",)

#: Shopify's ReturnReason enum.
_REASONS = frozenset(
    {
        "COLOR",
        "DEFECTIVE",
        "NOT_AS_DESCRIBED",
        "OTHER",
        "SIZE_TOO_LARGE",
        "SIZE_TOO_SMALL",
        "STYLE",
        "UNKNOWN",
        "UNWANTED",
        "WRONG_ITEM",
    }
)
#: The enum's display names (shopify.dev, admin-graphql ``enums/ReturnReason``), lower-cased.
_REASON_NAMES = {
    "color": "COLOR",
    "damaged or defective": "DEFECTIVE",
    "item not as described": "NOT_AS_DESCRIBED",
    "other": "OTHER",
    "size was too large": "SIZE_TOO_LARGE",
    "size was too small": "SIZE_TOO_SMALL",
    "style": "STYLE",
    "unknown": "UNKNOWN",
    "customer changed their mind": "UNWANTED",
    "received the wrong item": "WRONG_ITEM",
}


def return_changed(
    change: ReturnChange, payload: JSON, shop: ShopDomain, triggered_at: datetime | None
) -> tuple[StoreEvent, ...]:
    """``returns/request|approve|decline|cancel|close|reopen``: the return and its lines."""
    return (
        ReturnChanged(
            shop,
            occurred_at(payload, _RETURN_TIMES, triggered_at),
            change=change,
            return_id=get_id(payload),
            order=OrderId(_order_id(payload)),
            status=text(payload, "status"),
            lines=each(payload, "return_line_items", _return_line),
        ),
    )


def return_updated(payload: JSON, shop: ShopDomain, triggered_at: datetime | None) -> tuple[StoreEvent, ...]:
    """``returns/update``: ``return_line_items`` is ``{"removals": [...]}`` of return-line deltas."""
    lines = payload.get("return_line_items")
    removed = () if type(lines) is list else within(payload, "return_line_items", _removals) or ()
    order = _find_order_id(payload)
    return (
        ReturnUpdated(
            shop,
            occurred_at(payload, _UPDATE_TIMES, triggered_at),
            return_id=get_id(payload),
            order=None if order is None else OrderId(order),
            removed=removed,
        ),
    )


def _return_line(item: JSON) -> ReturnLine:
    line_item_id, price = _sold_line(item)
    return ReturnLine(
        line_item_id=line_item_id,
        quantity=get_int(item, "quantity"),
        reason=_reason(item),
        note=text(item, "return_reason_note") or text(item, "customer_note"),
        price=price,
    )


def _order_id(payload: JSON) -> int:
    order = _find_order_id(payload)
    if order is None:
        raise FieldError("order_id", "is missing (nor is there an order.id)")
    return order


def _find_order_id(payload: JSON) -> int | None:
    """The order's id from ``order.id`` (request, approve, decline) or ``order_id`` (the others)."""
    order = within(payload, "order", find_id)
    return find_id(payload, "order_id", "admin_graphql_api_order_id") if order is None else order


def _removals(lines: JSON) -> tuple[QuantityDelta, ...]:
    return each(lines, "removals", quantity_delta)


def _sold_line(item: JSON) -> tuple[int | None, Decimal | None]:
    """The returned line item's id and price, wherever this API version puts them."""
    sold = within(item, "line_item", _id_and_price)
    if sold is None:
        sold = within(item, "fulfillment_line_item", _fulfilled_line)
    return (find_id(item, "line_item_id", None), None) if sold is None else sold


def _fulfilled_line(fulfilled: JSON) -> tuple[int | None, Decimal | None] | None:
    return within(fulfilled, "line_item", _id_and_price)


def _id_and_price(line_item: JSON) -> tuple[int | None, Decimal | None]:
    return find_id(line_item), find_decimal(line_item, "price")


def _reason(item: JSON) -> str:
    """The enum value; a reason-definition handle or a legacy value we do not know is kept as sent."""
    defined = within(item, "return_reason_definition", _defined_reason)
    if defined is not None and defined in _REASONS:
        return defined
    legacy = text(item, "return_reason")
    if legacy:
        return legacy.upper()
    return defined or "UNKNOWN"


def _defined_reason(definition: JSON) -> str:
    handle = text(definition, "handle")
    as_enum = handle.upper().replace("-", "_")
    if as_enum in _REASONS:
        return as_enum
    name = text(definition, "name")
    return _REASON_NAMES.get(name.strip().lower()) or handle or name
