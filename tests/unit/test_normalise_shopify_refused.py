"""A Shopify webhook the normaliser cannot read is refused, naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from opsdesk.domain.errors import InvalidPayload
from opsdesk.normalise import normalise
from tests.unit.shopify_samples import SHOP, TRIGGERED, sample

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
