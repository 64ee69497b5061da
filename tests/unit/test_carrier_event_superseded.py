"""A carrier's delay or failure that reaches the desk after the parcel's delivery is not news (ADR 0040): the
reconciliation sweep recovers lost carrier events after the fact, and Shopify retries a failed delivery for hours."""

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
from opsdesk.domain.orders import OrderState, apply, superseded
from opsdesk.domain.policies import Decision, Outcome, Playbook, Rule, decide
from opsdesk.services.facts import facts_for

SHOP, ORDER, FULFILMENT = ShopDomain("alpha.myshopify.com"), OrderId(450_789_469), 8_400_000_001
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def scan(event_id: int, status: str, minutes: int) -> FulfillmentEventRecorded:
    return FulfillmentEventRecorded(
        SHOP, AT + timedelta(minutes=minutes), event_id, FULFILMENT, ORDER, status
    )


def update(shipment: str, minutes: int) -> FulfillmentChanged:
    return FulfillmentChanged(
        SHOP, AT + timedelta(minutes=minutes), FULFILMENT, ORDER, "success", shipment, "UPS", None, False
    )


def fold(events: Sequence[StoreEvent]) -> OrderState:
    state = OrderState(SHOP, ORDER)
    for event in events:
        state = apply(state, event).state
    return state


DELAYED, DELIVERED = scan(1, "delayed", 0), scan(2, "delivered", 90)
LATE = (
    f"fulfilment {FULFILMENT} was delivered at {(AT + timedelta(minutes=90)).isoformat()}: its carrier's "
    f"delayed of {AT.isoformat()}, delivered late, is not news"
)


@given(st.permutations([DELAYED, DELIVERED, update("delayed", 0), update("delivered", 90)]))
def test_a_delay_folded_with_the_later_delivery_is_superseded_in_any_delivery_order(
    events: list[StoreEvent],
) -> None:
    state = fold(events)
    assert superseded(DELAYED, state) == LATE
    assert superseded(DELIVERED, state) == ""  # the delivery itself is news


def test_a_carrier_event_is_news_until_a_later_delivery_is_held() -> None:
    assert superseded(DELAYED, fold([DELAYED])) == ""
    assert superseded(DELAYED, fold([update("in_transit", 30), DELAYED])) == ""  # on its way: still late
    assert superseded(scan(3, "failure", 120), fold([DELIVERED, scan(3, "failure", 120)])) == ""  # after it


def test_the_carrier_delays_playbook_records_a_superseded_delay_as_ignored_and_no_rule_runs() -> None:
    tell = Rule("tell", frozenset({"fulfillment_event.created"}), None, "", escalation=None)
    playbook = Playbook(
        "carrier-delays", "team:ops", "v1", (tell,), listens=frozenset({"fulfillment_event.created"})
    )
    facts = facts_for(DELAYED, fold([DELIVERED, DELAYED]))
    assert decide(playbook, "fulfillment_event.created", facts, {}, AT) == Decision(
        "carrier-delays", "v1", "superseded", Outcome.IGNORE, LATE, owner="team:ops"
    )
    fresh = facts_for(DELAYED, fold([DELAYED]))
    assert decide(playbook, "fulfillment_event.created", fresh, {}, AT) == Decision(
        "carrier-delays", "v1", "tell", Outcome.IGNORE, "rule tell ignores: always", owner="team:ops"
    )
