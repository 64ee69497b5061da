"""Shopify's refund, dispute and return webhooks become events with their money, lines and reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from opsdesk.domain.events import (
    DisputeChange,
    DisputeChanged,
    OrderId,
    QuantityDelta,
    RefundCreated,
    RefundLine,
    ReturnChange,
    ReturnChanged,
    ReturnLine,
    ReturnUpdated,
)
from opsdesk.domain.money import Money
from opsdesk.normalise import normalise
from tests.unit.shopify_samples import NEW_YEAR, SHOP, TRIGGERED, USD, assert_events, sample

# -- money: refunds and disputes ---------------------------------------------------------------------


def test_refund_amount_is_its_successful_refund_transactions_in_the_sets_currency() -> None:
    result = normalise("refunds/create", SHOP, sample("refunds/create"), TRIGGERED)

    assert result == (
        RefundCreated(
            SHOP,
            NEW_YEAR,
            refund_id=890088186047892319,
            order=OrderId(820982911946154500),
            amount=Money(Decimal("85.00"), USD),
            note="Things were damaged",
            return_id=None,  # the sample's "return": null, a refund not made from a return
            lines=(  # exact ids, from each line item's gid; each line's subtotal and tax (85.00 paid for 414.95)
                RefundLine(487817672276298554, 1, Decimal("89.99"), Decimal("0.00")),
                RefundLine(789012345678901234, 1, Decimal("19.99"), Decimal("0.00")),
                RefundLine(890123456789012345, 1, Decimal("24.99"), Decimal("0.00")),
                RefundLine(976318377106520349, 1, Decimal("159.99"), Decimal("0.00")),
                RefundLine(315789986012684393, 1, Decimal("119.99"), Decimal("0.00")),
            ),
            shipping=Decimal(0),  # no refund_shipping_lines, no order_adjustments
        ),
    )


def test_a_refund_made_from_a_return_names_it_and_its_lines_name_their_line_items() -> None:
    payload = sample("refunds/create")
    payload["return"] = {"id": 4_000_001, "admin_graphql_api_id": "gid://shopify/Return/4000001"}
    payload["refund_line_items"] = [{**payload["refund_line_items"][0], "quantity": 2, "line_item": None,
                                     "line_item_id": 487817672276298554}, {"quantity": 1, "subtotal": 1}]

    (event,) = assert_events(normalise("refunds/create", SHOP, payload, TRIGGERED))

    assert isinstance(event, RefundCreated)
    assert (event.return_id, event.lines) == (
        4_000_001, (RefundLine(487817672276298554, 2, Decimal("89.99"), Decimal("0.00")),)
    )


def test_refund_without_successful_transactions_counts_its_refunded_lines() -> None:
    payload = sample("refunds/create")
    for transaction in payload["transactions"]:
        transaction["status"] = "failure"

    (event,) = assert_events(normalise("refunds/create", SHOP, payload, TRIGGERED))

    assert isinstance(event, RefundCreated)
    assert event.amount == Money(Decimal("414.95"), USD)


def test_dispute_created_sample() -> None:
    result = normalise("disputes/create", SHOP, sample("disputes/create"), TRIGGERED)

    assert result == (
        DisputeChanged(
            SHOP,
            NEW_YEAR,
            change=DisputeChange.CREATED,
            dispute_id=285332461850802050,
            order=OrderId(820982911946154500),
            amount=Money(Decimal("11.50"), "CAD"),
            kind="chargeback",
            reason="fraudulent",
            status="under_review",
            evidence_due_by=datetime(2021, 12, 31, tzinfo=UTC),
        ),
    )


def test_dispute_update_is_dated_by_its_latest_step() -> None:
    payload = sample("disputes/update") | {"status": "won", "finalized_on": "2022-02-01T10:00:00Z"}

    (event,) = assert_events(normalise("disputes/update", SHOP, payload, TRIGGERED))

    assert isinstance(event, DisputeChanged)
    assert (event.status, event.occurred_at) == ("won", datetime(2022, 2, 1, 10, tzinfo=UTC))


# -- returns -----------------------------------------------------------------------------------------


def returned_line(**fields: Any) -> dict[str, Any]:
    """A return line as live shops send it (the 2026-07 sample's list is empty)."""
    return {
        "id": 6200524949,
        "admin_graphql_api_id": "gid://shopify/ReturnLineItem/6200524949",
        "fulfillment_line_item": {
            "id": 10736341352597,
            "admin_graphql_api_id": "gid://shopify/FulfillmentLineItem/10736341352597",
            "line_item": {
                "id": 12695210000533,
                "admin_graphql_api_id": "gid://shopify/LineItem/12695210000533",
            },
        },
        "quantity": 1,
        "return_reason": "unwanted",
        "return_reason_note": "",
        "customer_note": None,
    } | fields


def test_return_requested_sample() -> None:
    result = normalise("returns/request", SHOP, sample("returns/request"), TRIGGERED)

    assert result == (
        ReturnChanged(
            SHOP,
            TRIGGERED,
            change=ReturnChange.REQUESTED,
            return_id=123134564567890,
            order=OrderId(4783296544821),
            status="requested",
            lines=(),
        ),
    )


def test_return_lines_carry_reason_note_and_the_sold_line() -> None:
    payload = sample("returns/request") | {
        "return_line_items": [
            returned_line(customer_note="too big"),
            returned_line(
                return_reason=None,
                return_reason_definition={"handle": "size-too-small", "name": "Size was too small"},
                fulfillment_line_item=None,
                line_item={"id": 42, "price": "19.90"},
                quantity=2,
            ),
        ]
    }

    (event,) = assert_events(normalise("returns/request", SHOP, payload, TRIGGERED))

    assert isinstance(event, ReturnChanged)
    assert event.lines == (
        ReturnLine(line_item_id=12695210000533, quantity=1, reason="UNWANTED", note="too big", price=None),
        ReturnLine(line_item_id=42, quantity=2, reason="SIZE_TOO_SMALL", note="", price=Decimal("19.90")),
    )
    assert event.simple_purchase_error


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (returned_line(return_reason="wrong_item"), "WRONG_ITEM"),
        (returned_line(return_reason="arrived_by_owl"), "ARRIVED_BY_OWL"),
        (returned_line(return_reason=None), "UNKNOWN"),
        (
            returned_line(return_reason_definition={"handle": "x", "name": "Customer changed their mind"}),
            "UNWANTED",
        ),
        (
            returned_line(
                return_reason=None, return_reason_definition={"handle": "too-tight", "name": "Too tight"}
            ),
            "too-tight",
        ),
        (
            returned_line(return_reason="size_too_small", return_reason_definition={"handle": "too-tight"}),
            "SIZE_TOO_SMALL",
        ),
    ],
)
def test_return_reason_maps_known_values_and_keeps_unknown_ones(line: dict[str, Any], reason: str) -> None:
    payload = sample("returns/request") | {"return_line_items": [line]}

    (event,) = assert_events(normalise("returns/request", SHOP, payload, TRIGGERED))

    assert isinstance(event, ReturnChanged)
    assert event.reasons == (reason,)


@pytest.mark.parametrize(
    ("topic", "change", "status"),
    [
        ("returns/approve", ReturnChange.APPROVED, "open"),
        ("returns/decline", ReturnChange.DECLINED, "declined"),
        ("returns/cancel", ReturnChange.CANCELLED, "canceled"),
        ("returns/close", ReturnChange.CLOSED, "closed"),
        ("returns/reopen", ReturnChange.REOPENED, "open"),
    ],
)
def test_each_return_topic_finds_the_order_wherever_it_is(
    topic: str, change: ReturnChange, status: str
) -> None:
    (event,) = assert_events(normalise(topic, SHOP, sample(topic), TRIGGERED))

    assert isinstance(event, ReturnChanged)
    assert (event.change, event.status, event.order_id, event.return_id) == (
        change,
        status,
        4783296544821,
        123134564567890,
    )


def test_return_update_names_the_removed_return_lines() -> None:
    result = normalise("returns/update", SHOP, sample("returns/update"), TRIGGERED)

    assert result == (
        ReturnUpdated(
            SHOP, TRIGGERED, return_id=123134564567890, order=None, removed=(QuantityDelta(987654321, 2),)
        ),
    )
