"""Every one of Shopify's carrier statuses is read for what it says about the parcel (ADR 0065, amended in session
14): the carrier collecting it, a pickup point holding it and the customer collecting it all show it moving on, so
a delay older than them is history; the customer collecting it is an arrival, like a delivery; a label or a
confirmation says nothing about the journey, so a delay before one is still news."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsdesk.domain.events import FulfillmentEventRecorded, OrderId, ShopDomain, StoreEvent
from opsdesk.domain.orders import OrderState, Versioned, apply, superseded
from opsdesk.domain.shipments import KINDS

SHOP, ORDER, FULFILMENT = ShopDomain("alpha.myshopify.com"), OrderId(450_789_469), 8_400_000_001
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: Shopify's ``FulfillmentEventStatus`` (Admin GraphQL 2026-10; the Customer API adds PICKED_UP, the unstable
#: version BUYER_ACTION_REQUIRED, READY_FOR_RECIPIENT_PICKUP and RETURNING_TO_SENDER), as the REST ``status`` and the
#: sweep (``carrier_event_payload``: the enum in lower case) give them, by what they say about the parcel.
MOVEMENT = ("carrier_picked_up", "in_transit", "out_for_delivery", "ready_for_pickup", "ready_for_recipient_pickup")
ARRIVAL = ("delivered", "picked_up")
TROUBLE = ("delayed", "failure", "attempted_delivery", "buyer_action_required", "returning_to_sender")
NEITHER = ("label_purchased", "label_printed", "confirmed")


def scan(event_id: int, status: str, minutes: int, fulfilment: int = FULFILMENT) -> FulfillmentEventRecorded:
    return FulfillmentEventRecorded(SHOP, AT + timedelta(minutes=minutes), event_id, fulfilment, ORDER, status)


def fold(*events: StoreEvent) -> OrderState:
    state = OrderState(SHOP, ORDER)
    for event in events:
        state = apply(state, event).state
    return state


def test_every_status_shopify_sends_is_classified() -> None:
    assert {s: KINDS[s] for s in MOVEMENT + ARRIVAL + TROUBLE + NEITHER} == {
        **dict.fromkeys(MOVEMENT, "movement"), **dict.fromkeys(ARRIVAL, "arrival"),
        **dict.fromkeys(TROUBLE, "trouble"), **dict.fromkeys(NEITHER, "neither")}


@pytest.mark.parametrize("later", MOVEMENT + ARRIVAL)
@pytest.mark.parametrize("trouble", TROUBLE)
def test_trouble_before_a_later_movement_or_arrival_is_history_in_either_arrival_order(
    trouble: str, later: str
) -> None:
    old, moved = scan(1, trouble, 0), scan(2, later, 60)
    assert superseded(old, fold(moved, old)).startswith(f"fulfilment {FULFILMENT} was {later} at ")
    assert superseded(moved, fold(old, moved)) == ""  # the movement itself is news


@pytest.mark.parametrize("later", NEITHER)
def test_a_delay_before_a_label_or_a_confirmation_is_still_news(later: str) -> None:
    delay = scan(1, "delayed", 0)
    assert superseded(delay, fold(scan(2, later, 60), delay)) == ""


def test_the_customer_collecting_the_parcel_is_its_arrival() -> None:
    ready, out, collected = scan(1, "ready_for_pickup", 0), scan(2, "out_for_delivery", 30), scan(3, "picked_up", 90)
    state = fold(ready, collected, out)
    assert state.carrier_status == Versioned("picked_up", AT + timedelta(minutes=90))
    # A scan (not trouble) older than the collection is not news either, as one older than a delivery.
    assert superseded(out, state).startswith(f"fulfilment {FULFILMENT} was picked_up at ")

