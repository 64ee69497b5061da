"""A fulfilment's shipment status in the order projection: the newest report wins, whichever webhook made it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from opsdesk.domain.events import (
    FulfillmentChanged,
    FulfillmentEventRecorded,
    OrderId,
    ShopDomain,
    StoreEvent,
)
from opsdesk.domain.orders import OrderState, Versioned, apply

SHOP, ORDER = ShopDomain("alpha.myshopify.com"), OrderId(450_789_469)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def update(fulfilment: int, minutes: int, shipment: str) -> FulfillmentChanged:
    return FulfillmentChanged(SHOP, AT + timedelta(minutes=minutes), fulfilment, ORDER, "success", shipment, "UPS",
                              None, False)


def scan(fulfilment: int, minutes: int, status: str) -> FulfillmentEventRecorded:
    return FulfillmentEventRecorded(SHOP, AT + timedelta(minutes=minutes), 9_000 + minutes, fulfilment, ORDER, status)


def fold(events: list[StoreEvent]) -> OrderState:
    state = OrderState(SHOP, ORDER)
    for event in events:
        state = apply(state, event).state
    return state


EVENTS: list[StoreEvent] = [update(1, 0, "confirmed"), scan(1, 30, "in_transit"), update(1, 31, "in_transit"),
                            scan(2, 40, "out_for_delivery"), update(1, 90, "delivered"), update(2, 95, ""),
                            scan(1, 89, "delivered")]


@given(st.permutations(EVENTS))
def test_each_fulfilments_shipment_status_is_its_newest_report_whatever_the_delivery_order(
    events: list[StoreEvent],
) -> None:
    state = fold(events)
    at, scanned = AT + timedelta(minutes=90), AT + timedelta(minutes=40)
    assert state.shipments == {1: Versioned("delivered", at), 2: Versioned("out_for_delivery", scanned)}
    assert state.carrier_status == Versioned("delivered", at)  # the order's: the newest of any fulfilment


def test_a_later_fulfilment_update_without_a_shipment_status_keeps_the_one_held() -> None:
    shipped, changed = AT + timedelta(minutes=5), AT + timedelta(minutes=9)
    state = fold([update(3, 5, "in_transit"), update(3, 9, "")])
    assert (state.fulfillments, state.shipments, state.carrier_status) == (
        {3: Versioned("success", changed)}, {3: Versioned("in_transit", shipped)}, Versioned("in_transit", shipped))
