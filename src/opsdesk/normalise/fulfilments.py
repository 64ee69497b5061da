"""``fulfillments/*``, ``fulfillment_events/create|delete`` and fulfilment-order holds."""

from __future__ import annotations

from datetime import datetime

from opsdesk.domain.events import (
    FulfillmentChanged,
    FulfillmentEventDeleted,
    FulfillmentEventRecorded,
    FulfillmentHeld,
    OrderId,
    ShopDomain,
    StoreEvent,
)
from opsdesk.domain.tracking import Parcel, clean, parcels
from opsdesk.normalise.fields import (
    JSON,
    FieldError,
    each,
    find_id,
    get_id,
    get_text,
    occurred_at,
    show,
    text,
    within,
)

_FULFILLMENT_TIMES = ("updated_at", "created_at")
# A carrier scan happened when the carrier says, not when Shopify stored it.
_SCAN_TIMES = ("happened_at", "updated_at", "created_at")
# A deletion happened when Shopify triggered its webhook; without the header, the scan's own last change stands in.
_DELETION_TIMES = ("updated_at", "created_at", "happened_at")
_NO_TIMES: tuple[str, ...] = ()
_UNDESCRIBED_HOLD = ("", "", "")
#: The fields that say a fulfilment's tracking numbers: a payload with neither says nothing of its tracking.
_NUMBERS = ("tracking_numbers", "tracking_number")


def fulfillment_changed(
    created: bool, payload: JSON, shop: ShopDomain, triggered_at: datetime | None
) -> tuple[StoreEvent, ...]:
    """``fulfillments/create|update``: the fulfilment's status, carrier and tracking."""
    return (
        FulfillmentChanged(
            shop,
            occurred_at(payload, _FULFILLMENT_TIMES, triggered_at),
            fulfillment_id=get_id(payload),
            order=OrderId(get_id(payload, "order_id", None)),
            status=text(payload, "status"),
            shipment_status=text(payload, "shipment_status"),
            tracking_company=clean(text(payload, "tracking_company")),
            location_id=find_id(payload, "location_id", None),
            created=created,
            parcels=_parcels(payload),
        ),
    )


def _parcels(payload: JSON) -> tuple[Parcel, ...] | None:
    """The tracking numbers and links (``tracking_numbers``/``tracking_urls``, else the one of ``tracking_number``/
    ``tracking_url``), as far as they are safe to show; None when the payload has no tracking number field."""
    if not any(key in payload for key in _NUMBERS):
        return None
    return parcels(_texts(payload, "tracking_numbers", "tracking_number"),
                   _texts(payload, "tracking_urls", "tracking_url"))


def _texts(payload: JSON, many: str, one: str) -> tuple[str, ...]:
    """The strings of the list ``many``, else the string ``one`` alone (missing, null or empty: none)."""
    items = payload.get(many)
    if items is None or items == []:
        single = text(payload, one)
        return (single,) if single else ()
    if type(items) is not list:
        raise FieldError(many, f"is not a list: {show(items)}")
    for index, item in enumerate(items):
        if type(item) is not str and item is not None:
            raise FieldError(f"{many}[{index}]", f"is not a string: {show(item)}")
    return tuple(item or "" for item in items)


def fulfillment_event_recorded(
    payload: JSON, shop: ShopDomain, triggered_at: datetime | None
) -> tuple[StoreEvent, ...]:
    """``fulfillment_events/create``: a carrier scan; its status is kept as sent, known or not."""
    return (
        FulfillmentEventRecorded(
            shop,
            occurred_at(payload, _SCAN_TIMES, triggered_at),
            event_id=get_id(payload),
            fulfillment_id=get_id(payload, "fulfillment_id", None),
            order=OrderId(get_id(payload, "order_id", None)),
            status=get_text(payload, "status"),
        ),
    )


def fulfillment_event_deleted(
    payload: JSON, shop: ShopDomain, triggered_at: datetime | None
) -> tuple[StoreEvent, ...]:
    """``fulfillment_events/delete``: a carrier scan deleted; the body is the scan as it was."""
    return (
        FulfillmentEventDeleted(
            shop,
            triggered_at if triggered_at is not None else occurred_at(payload, _DELETION_TIMES, None),
            event_id=get_id(payload),
            fulfillment_id=get_id(payload, "fulfillment_id", None),
            order=OrderId(get_id(payload, "order_id", None)),
            status=get_text(payload, "status"),
            happened_at=occurred_at(payload, _SCAN_TIMES, triggered_at),
        ),
    )


def placed_on_hold(payload: JSON, shop: ShopDomain, triggered_at: datetime | None) -> tuple[StoreEvent, ...]:
    """``fulfillment_orders/placed_on_hold``: the hold that moved the order to ON_HOLD, else every hold."""
    order_gid = within(payload, "fulfillment_order", _gid)
    if order_gid is None:
        raise FieldError("fulfillment_order", "is missing")
    created = within(payload, "created_fulfillment_hold", _hold)
    holds = (created,) if created is not None else within(payload, "fulfillment_order", _holds) or ()
    at = occurred_at(payload, _NO_TIMES, triggered_at)
    # The fulfilment order is on hold even when the payload describes no hold.
    return tuple(FulfillmentHeld(shop, at, order_gid, *hold) for hold in holds or (_UNDESCRIBED_HOLD,))


def hold_added(payload: JSON, shop: ShopDomain, triggered_at: datetime | None) -> tuple[StoreEvent, ...]:
    """``fulfillment_holds/added``: one hold added to a fulfilment order."""
    order_gid = within(payload, "fulfillment_order", _gid)
    hold = within(payload, "fulfillment_hold", _hold)
    if order_gid is None or hold is None:
        raise FieldError("fulfillment_order" if order_gid is None else "fulfillment_hold", "is missing")
    return (FulfillmentHeld(shop, occurred_at(payload, _NO_TIMES, triggered_at), order_gid, *hold),)


def _gid(resource: JSON) -> str:
    return get_text(resource, "id")


def _holds(order: JSON) -> tuple[tuple[str, str, str], ...]:
    return each(order, "fulfillment_holds", _hold)


def _hold(hold: JSON) -> tuple[str, str, str]:
    """A hold's gid, reason and note (older versions send holds without a gid)."""
    return text(hold, "id"), text(hold, "reason"), text(hold, "reason_notes")
