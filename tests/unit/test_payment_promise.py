"""An order's promised ship-by runs from its payment when it was placed unpaid and paid later, and comes out
the same whatever order its deliveries arrive in (``domain.orders.promised_ship_by``)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from opsdesk.domain.events import OrderChange, OrderChanged, OrderId, OrderSnapshot, ShopDomain
from opsdesk.domain.money import Money
from opsdesk.domain.orders import OrderState, apply, promised_ship_by

SHOP, ORDER = ShopDomain("alpha.myshopify.com"), OrderId(1001)
PLACED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HANDLING = timedelta(hours=48)
USD = "USD"


def changed(status: str, at: datetime, change: OrderChange) -> OrderChanged:
    snapshot = OrderSnapshot(
        id=ORDER, name="#1001", email="", customer_id=None, currency=USD, total=Money(Decimal("10"), USD),
        subtotal=Money(Decimal("10"), USD), total_discounts=Money(Decimal("0"), USD), financial_status=status,
        fulfillment_status="", cancelled_at=None, created_at=PLACED, updated_at=at, tags=(), source_name="web",
        line_items=(), discount_codes=(), shipping_country="US", location_id=None,
    )
    return OrderChanged(shop=SHOP, occurred_at=at, change=change, order=snapshot)


def promised(*events: OrderChanged) -> datetime | None:
    state = OrderState(shop=SHOP, order_id=ORDER)
    for event in events:
        state = promised_ship_by(state, apply(state, event).state, HANDLING)
    return state.ship_by


def test_an_order_paid_when_placed_is_promised_from_its_order_time() -> None:
    assert promised(changed("paid", PLACED, OrderChange.CREATED)) == PLACED + HANDLING


def test_an_order_placed_unpaid_and_paid_on_day_three_is_promised_from_its_payment() -> None:
    paid = PLACED + timedelta(days=3)
    assert promised(changed("pending", PLACED, OrderChange.CREATED), changed("paid", paid, OrderChange.PAID)) == (
        paid + HANDLING
    )


def test_a_payment_within_the_handling_time_keeps_the_later_of_the_two_promises() -> None:
    paid = PLACED + timedelta(hours=2)
    assert promised(changed("pending", PLACED, OrderChange.CREATED), changed("paid", paid, OrderChange.PAID)) == (
        paid + HANDLING
    )
    refunded = changed("refunded", PLACED + timedelta(days=9), OrderChange.UPDATED)  # not "awaiting": no move
    assert promised(changed("paid", PLACED, OrderChange.CREATED), refunded) == PLACED + HANDLING


def test_every_delivery_order_gives_the_same_promise() -> None:
    events = [
        changed("pending", PLACED, OrderChange.CREATED),
        changed("pending", PLACED + timedelta(hours=5), OrderChange.UPDATED),
        changed("paid", PLACED + timedelta(days=3), OrderChange.PAID),
        changed("paid", PLACED + timedelta(days=3, hours=1), OrderChange.UPDATED),
    ]
    found = {promised(*order) for order in itertools.permutations(events)}
    assert found == {PLACED + timedelta(days=5)}


def test_a_pickup_plan_that_moved_the_promise_earlier_is_kept_for_an_order_paid_on_time() -> None:
    empty = OrderState(shop=SHOP, order_id=ORDER)
    state = promised_ship_by(empty, apply(empty, changed("paid", PLACED, OrderChange.CREATED)).state, HANDLING)
    planned = replace(state, ship_by=PLACED + timedelta(hours=6))  # the same-day pickup's ship-by
    updated = apply(planned, changed("paid", PLACED + timedelta(hours=1), OrderChange.UPDATED)).state
    assert promised_ship_by(planned, updated, HANDLING).ship_by == PLACED + timedelta(hours=6)
