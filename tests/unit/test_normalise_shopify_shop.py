"""Shopify's discount, inventory and compliance webhooks become events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsdesk.domain.events import (
    ComplianceKind,
    ComplianceRequested,
    DiscountChange,
    DiscountChanged,
    InventoryLevelChanged,
)
from opsdesk.normalise import normalise
from tests.unit.shopify_samples import NEW_YEAR, SHOP, TRIGGERED, sample

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
