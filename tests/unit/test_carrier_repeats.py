"""A carrier saying the same trouble again about the same parcel is not news (``shipments.repeated``, ADR 0065
amended in session 14): the desk acts once per fulfilment on a parcel returning to the sender or waiting for the
buyer, whichever of the carrier's scans arrives first; the same status after the parcel moved again is news."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opsdesk.domain.events import FulfillmentEventDeleted
from opsdesk.domain.orders import OrderState
from opsdesk.domain.shipments import repeated
from tests.unit.test_carrier_statuses import fold, scan

TROUBLE = ("returning_to_sender", "buyer_action_required")


@pytest.mark.parametrize("status", TROUBLE)
def test_the_first_scan_of_a_status_is_news_and_the_next_repeats_it_in_either_arrival_order(status: str) -> None:
    first, again = scan(1, status, 0), scan(2, status, 60)
    assert not repeated(first, fold(first))
    assert repeated(again, fold(first, again))
    assert not repeated(again, fold(again))  # the later one came first: it was the news
    assert repeated(first, fold(again, first))


@pytest.mark.parametrize("status", TROUBLE)
def test_the_same_trouble_after_the_parcel_moved_again_is_news(status: str) -> None:
    first, moved, again = scan(1, status, 0), scan(2, "in_transit", 30), scan(3, status, 60)
    assert not repeated(again, fold(first, moved, again))


def test_another_status_another_fulfilment_or_a_deleted_scan_is_no_repeat() -> None:
    back = scan(1, "returning_to_sender", 0)
    assert not repeated(scan(2, "buyer_action_required", 60), fold(back, scan(2, "buyer_action_required", 60)))
    other = scan(3, "returning_to_sender", 60, fulfilment=8_400_000_002)
    assert not repeated(other, fold(back, other))
    again = scan(4, "returning_to_sender", 90)
    gone = FulfillmentEventDeleted(back.shop, back.occurred_at + timedelta(minutes=5), back.event_id,
                                   back.fulfillment_id, back.order, back.status, back.occurred_at)
    assert not repeated(again, fold(back, gone, again))  # the scan it would repeat was deleted: it no longer counts
    assert not repeated(back, None) and not repeated(back, OrderState(back.shop, back.order_id))
