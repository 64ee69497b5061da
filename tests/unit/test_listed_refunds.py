"""The refunds an order's payload lists (``orders/cancelled`` of an order cancelled with a refund, and every
``orders/*`` after a refund) count in the order's refund ledger as their own ``refunds/create`` does, once each by
refund id, whichever arrives first (ADR 0041, session 15). Shopify's 2026-07 samples: ``orders/cancelled`` listing
the ``refunds/create`` sample's refund (the samples' ``refunds`` lists are empty; Shopify's REST order lists each
refund as the refund resource, the webhook's body)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import OrderChanged, RefundCreated, ShopDomain, StoreEvent
from opsdesk.domain.orders import OrderState, apply
from opsdesk.normalise import normalise
from opsdesk.policy import loader
from opsdesk.testing import InMemoryDatabase, ManualClock
from tests.pipeline_harness import drain, feed, starter_playbooks
from tests.samples import delivery, sample

SHOP = ShopDomain("demo-store.myshopify.com")
AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
ORDER = sample("orders/create")["id"]  # exact, from its gid
# 85.00 through two transactions, five lines, of the samples' order (its order_id rounded by a JavaScript parse)
REFUND = {**sample("refunds/create"), "order_id": ORDER}


def order(topic: str = "orders/create", refunds: Sequence[dict[str, Any]] = (), **more: Any) -> dict[str, Any]:
    """Shopify's sample for the order ``topic``, listing ``refunds``."""
    payload = sample(topic)
    payload.update(refunds=list(refunds), **more)
    return payload


def cancelled(*refunds: dict[str, Any]) -> dict[str, Any]:
    return order("orders/cancelled", refunds, updated_at="2022-01-01T10:00:00-05:00")


def events(topic: str, payload: dict[str, Any]) -> tuple[StoreEvent, ...]:
    found = normalise(topic, SHOP, payload, AT)
    assert isinstance(found, tuple)
    return found


def test_an_order_cancelled_with_a_refund_brings_the_refund_as_its_own_webhook_does() -> None:
    [change, refund] = events("orders/cancelled", cancelled(REFUND))

    assert isinstance(change, OrderChanged) and change.name == "order.cancelled"  # the order's own event first
    assert events("refunds/create", REFUND) == (refund,)  # the same key, time, money and lines
    assert isinstance(refund, RefundCreated)
    assert (refund.key, refund.amount.amount, len(refund.lines)) == (f"refund.created:{REFUND['id']}",
                                                                      Decimal("85.00"), 5)


def test_a_listed_refund_is_the_orders_whatever_order_id_it_says() -> None:
    [_, refund] = events("orders/cancelled", cancelled({**REFUND, "order_id": 820982911946154500}))

    assert refund.order_id == ORDER  # a rounded id (as in the sample) is not the order's


def test_a_listed_refund_that_does_not_read_is_left_out_and_the_order_is_taken() -> None:
    unreadable = {**REFUND, "id": 1, "transactions": [{**REFUND["transactions"][0], "amount": "lots"}]}
    found = events("orders/cancelled", {**cancelled(unreadable, REFUND), "refunds": [unreadable, "refund", REFUND]})

    assert [e.name for e in found] == ["order.cancelled", "refund.created"]
    assert found[1].key == f"refund.created:{REFUND['id']}"
    with pytest.raises(InvalidPayload, match=r"refunds/create: field 'transactions\[0\]\.amount'"):
        normalise("refunds/create", SHOP, unreadable, AT)  # its own webhook is refused, naming the field
    assert [e.name for e in events("orders/cancelled", {**cancelled(), "refunds": "none"})] == ["order.cancelled"]


def fold(found: Sequence[StoreEvent]) -> OrderState:
    state = OrderState(SHOP, ORDER)
    for event in found:
        state = apply(state, event).state
    return state


DELIVERIES = [
    ("orders/create", order()),
    ("orders/cancelled", cancelled(REFUND)),
    ("refunds/create", REFUND),
    ("orders/cancelled", cancelled(REFUND)),  # Shopify's retry
]


@given(st.permutations(range(len(DELIVERIES))))
def test_the_ledger_counts_a_cancels_refund_once_in_any_delivery_order(arrival: list[int]) -> None:
    for heard in range(1, len(arrival) + 1):  # from the first delivery that brings the refund, it is counted once
        state = fold([e for i in arrival[:heard] for e in events(*DELIVERIES[i])])
        brought = any(i > 0 for i in arrival[:heard])
        assert (list(state.refunds), state.refunded) == (
            ([REFUND["id"]], Decimal("85.00")) if brought else ([], Decimal(0)))

    assert state == fold([e for topic, payload in DELIVERIES for e in events(topic, payload)])
    assert (list(state.refunds), state.refunded) == ([REFUND["id"]], Decimal("85.00"))
    assert [line for line, _ in state.refunded_for[REFUND["id"]].lines] == [
        line["line_item"]["id"] for line in REFUND["refund_line_items"]]  # exact, from its gid
    assert state.snapshot is not None and state.snapshot.cancelled_at is not None


def test_a_cancel_with_no_refund_changes_nothing_in_the_ledger() -> None:
    state = fold(events("orders/create", order()) + events("orders/cancelled", cancelled()))

    assert (state.refunds, state.refunded_for, state.refunded) == ({}, {}, Decimal(0))


NOTICE = """\
playbook: refund-notice
owner: team:support
description: A refund made in Shopify is recorded (a probe for decisions).
default: ignore
rules:
  - id: seen
    when: [refund.created]
    if: event.amount > 0.0
    then:
      - {type: add_tags, tags: [refund-seen]}
"""


def test_an_order_listing_a_refund_is_decided_at_once_and_the_refunds_own_webhook_is_not_news(
    tmp_path: Path,
) -> None:
    (tmp_path / "notice.yaml").write_text(NOTICE)
    playbooks = [*starter_playbooks(), *loader.load([tmp_path])]
    db, clock = InMemoryDatabase(), ManualClock(AT)
    # an order the desk never heard of, its first delivery listing a refund (the sweep's, say): it does not wait
    # for the order it brings itself
    feed(db, [delivery("orders/cancelled", cancelled(REFUND), "w-1", triggered_at=AT)], clock)
    first = drain(db, clock, playbooks)
    feed(db, [delivery("refunds/create", REFUND, "w-2", triggered_at=AT)], clock)
    again = drain(db, clock, playbooks)

    assert (first.waiting, first.automated, again.automated, again.decisions) == (0, 1, 0, 0)
    assert [a.kind for a in db.tables.actions.values()] == ["add_tags"]
