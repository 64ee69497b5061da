"""Carrier scans judged by when they happened, not when they arrived (ADR 0065): a delay or a failure older than a
later scan that shows the parcel moving again is history; a deleted scan stops counting."""

from __future__ import annotations

from collections.abc import Sequence
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
from opsdesk.domain.orders import OrderState, Versioned, apply, superseded
from opsdesk.normalise import normalise
from tests.samples import sample

SHOP, ORDER, FULFILMENT = ShopDomain("alpha.myshopify.com"), OrderId(450_789_469), 8_400_000_001
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TROUBLE = ("delayed", "failure", "attempted_delivery", "buyer_action_required", "returning_to_sender")
ARRIVAL = ("delivered", "picked_up")
MOVING = ("carrier_picked_up", "in_transit", "out_for_delivery", "ready_for_pickup", "ready_for_recipient_pickup",
          *ARRIVAL)
NEITHER = ("label_purchased", "label_printed", "confirmed")


def at(minutes: int) -> datetime:
    return AT + timedelta(minutes=minutes)


def scan(event_id: int, status: str, minutes: int) -> FulfillmentEventRecorded:
    return FulfillmentEventRecorded(SHOP, at(minutes), event_id, FULFILMENT, ORDER, status)


def deleted(event_id: int, status: str, minutes: int, deleted_minutes: int) -> StoreEvent:
    """The ``fulfillment_events/delete`` webhook of a scan, from Shopify's sample, triggered when it was deleted."""
    payload = sample("fulfillment_events/delete") | {
        "id": event_id, "fulfillment_id": FULFILMENT, "order_id": ORDER, "status": status,
        "happened_at": at(minutes).isoformat(), "created_at": at(minutes).isoformat(),
        "updated_at": at(minutes).isoformat()}
    result = normalise("fulfillment_events/delete", SHOP, payload, at(deleted_minutes))
    assert isinstance(result, tuple), result
    [event] = result
    return event


def update(shipment: str, minutes: int) -> FulfillmentChanged:
    return FulfillmentChanged(SHOP, at(minutes), FULFILMENT, ORDER, "success", shipment, "UPS", None, False)


def fold(events: Sequence[StoreEvent]) -> OrderState:
    state = OrderState(SHOP, ORDER)
    for event in events:
        state = apply(state, event).state
    return state


def verdicts(events: Sequence[StoreEvent]) -> dict[int, bool]:
    """Each scan's verdict as the pipeline gives it: superseded or not, by the state folded up to and with it."""
    state, found = OrderState(SHOP, ORDER), {}
    for event in events:
        state = apply(state, event).state
        if isinstance(event, FulfillmentEventRecorded):
            found[event.event_id] = bool(superseded(event, state))
    return found


def test_a_delay_delivered_after_a_later_in_transit_scan_is_history() -> None:
    delay = scan(1, "delayed", 0)
    assert superseded(delay, fold([scan(2, "in_transit", 60), delay])) == (
        f"fulfilment {FULFILMENT} was in_transit at {at(60).isoformat()}: its carrier's delayed of "
        f"{at(0).isoformat()}, delivered late, is not news")


def test_trouble_after_the_last_movement_is_news_whatever_came_before() -> None:
    failure = scan(3, "failure", 120)
    assert superseded(failure, fold([scan(1, "in_transit", 0), scan(2, "delayed", 60), failure])) == ""
    # A fulfilment's own update is dated by Shopify, not by the carrier: it does not make a scan history.
    assert superseded(scan(4, "delayed", 0), fold([update("in_transit", 30), scan(4, "delayed", 0)])) == ""


SCANS = st.lists(
    st.tuples(st.sampled_from(TROUBLE + MOVING + NEITHER), st.integers(0, 50)), min_size=1, max_size=7
).map(lambda found: [scan(i + 1, status, minutes * 10 + i) for i, (status, minutes) in enumerate(found)])


@given(SCANS.flatmap(lambda scans: st.tuples(st.just(scans), st.permutations(scans))))
def test_shuffled_scans_fold_to_the_in_order_state_and_trouble_is_acted_on_only_while_current(
    runs: tuple[list[FulfillmentEventRecorded], list[FulfillmentEventRecorded]],
) -> None:
    in_order, shuffled = runs
    assert fold(shuffled) == fold(in_order)
    for i, current in enumerate(shuffled):
        seen = shuffled[: i + 1]
        moved_after = any(s.status in MOVING and s.occurred_at > current.occurred_at for s in seen)
        newest = max(seen, key=lambda s: s.occurred_at)
        arrived_after = newest.status in ARRIVAL and current.status not in ARRIVAL and newest is not current
        expected = (current.status in TROUBLE and moved_after) or arrived_after
        assert verdicts(shuffled)[current.event_id] == expected, (current, seen)
    last = max(in_order, key=lambda s: s.occurred_at)
    assert verdicts(shuffled)[last.event_id] is False  # the newest scan is always news, in any order


def test_the_sample_delete_reads_as_the_scan_it_withdraws() -> None:
    result = normalise("fulfillment_events/delete", SHOP, sample("fulfillment_events/delete"), at(0))
    assert isinstance(result, tuple) and [e.key for e in result] == ["fulfillment_event.deleted:1234567"]


def delivered_by_mistake() -> list[StoreEvent]:
    """A parcel in transit, a delivery scanned by mistake (and Shopify's update of the fulfilment), then deleted."""
    return [scan(1, "in_transit", 0), scan(2, "delivered", 60), update("delivered", 61),
            deleted(2, "delivered", 60, 180)]


@given(st.deferred(lambda: st.permutations(delivered_by_mistake())))
def test_a_deleted_delivery_is_not_a_delivery_in_any_delivery_order(events: list[StoreEvent]) -> None:
    state = fold(events)
    assert state.shipments == {FULFILMENT: Versioned("in_transit", at(0))}
    assert state.carrier_status == Versioned("in_transit", at(0))


def test_a_scan_delivered_after_its_deletion_is_not_news_and_shopifys_later_word_counts() -> None:
    delay = scan(5, "delayed", 30)
    state = fold([scan(1, "in_transit", 0), deleted(5, "delayed", 30, 90), delay])
    assert state.shipments == {FULFILMENT: Versioned("in_transit", at(0))}
    assert superseded(delay, state) == (
        f"carrier event 5 of fulfilment {FULFILMENT} was deleted: its delayed of {at(30).isoformat()}, "
        f"delivered late, is not news")
    # Delivered for real after the mistake was deleted: a fulfilment update newer than the deletion counts.
    assert fold([*delivered_by_mistake(), update("delivered", 240)]).carrier_status == Versioned("delivered", at(240))
