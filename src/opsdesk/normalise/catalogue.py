"""``discounts/*`` and ``inventory_levels/update``: what the store sells, at what price, from where."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from opsdesk.domain.events import (
    DiscountChange,
    DiscountChanged,
    InventoryItemChanged,
    InventoryLevelChanged,
    ShopDomain,
    StoreEvent,
)
from opsdesk.normalise.fields import (
    JSON,
    FieldError,
    find_decimal,
    find_int,
    get_id,
    get_text,
    gid_parameter,
    occurred_at,
    text,
)

_DISCOUNT_TIMES = ("updated_at", "deleted_at", "created_at")
_LEVEL_TIMES = ("updated_at",)
_ITEM_TIMES = ("updated_at", "created_at")


def discount_changed(
    change: DiscountChange, payload: JSON, shop: ShopDomain, triggered_at: datetime | None
) -> tuple[StoreEvent, ...]:
    """``discounts/create|update|delete``: the payload names the discount only (gid, title, status)."""
    return (
        DiscountChanged(
            shop,
            occurred_at(payload, _DISCOUNT_TIMES, triggered_at),
            change=change,
            discount_gid=get_text(payload, "admin_graphql_api_id"),
            title=text(payload, "title"),
            status=text(payload, "status"),
        ),
    )


def inventory_level_changed(
    payload: JSON, shop: ShopDomain, triggered_at: datetime | None
) -> tuple[StoreEvent, ...]:
    """``inventory_levels/update``: stock of one item at one location (``available`` may be null)."""
    # The gid ends in "?inventory_item_id=<exact id>", so it wins over a possibly rounded number.
    item = gid_parameter(payload.get("admin_graphql_api_id"), "inventory_item_id")
    return (
        InventoryLevelChanged(
            shop,
            occurred_at(payload, _LEVEL_TIMES, triggered_at),
            inventory_item_id=get_id(payload, "inventory_item_id", None) if item is None else item,
            location_id=get_id(payload, "location_id", None),
            available=find_int(payload, "available"),
        ),
    )


def inventory_item_changed(
    payload: JSON, shop: ShopDomain, triggered_at: datetime | None
) -> tuple[StoreEvent, ...]:
    """``inventory_items/create|update``: the item's SKU, which links its stock levels to order lines."""
    return (
        InventoryItemChanged(
            shop,
            occurred_at(payload, _ITEM_TIMES, triggered_at),
            inventory_item_id=get_id(payload),
            sku=text(payload, "sku"),
            tracked=payload.get("tracked") is not False,
            cost=_cost(payload),
        ),
    )


def _cost(payload: JSON) -> Decimal | None:
    """The item's unit cost: only a hint for the discount guard, so an odd value is no cost, not an error."""
    try:
        return find_decimal(payload, "cost")
    except FieldError:
        return None
