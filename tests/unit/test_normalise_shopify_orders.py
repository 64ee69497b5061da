"""Shopify's order webhooks become order events: the whole snapshot, each topic's change, order edits."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from opsdesk.domain.events import (
    LineItem,
    OrderChange,
    OrderChanged,
    OrderEdited,
    OrderId,
    OrderSnapshot,
    QuantityDelta,
    ShippingAddress,
)
from opsdesk.domain.money import Money
from opsdesk.normalise import normalise
from tests.unit.shopify_samples import NEW_YEAR, SHOP, TRIGGERED, USD, assert_events, sample

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
