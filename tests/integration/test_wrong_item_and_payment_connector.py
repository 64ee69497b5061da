"""The Shopify connector's return approval and payment re-check against the local Admin API stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.domain.outbox import Delivered, Rejected, RetryLater
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from tests.integration._servers import TOKEN, outbox_action


@pytest.fixture
def fake() -> Iterator[FakeShopifyAdmin]:
    with FakeShopifyAdmin(access_tokens={TOKEN}) as server:
        yield server


@pytest.fixture
def shopify(fake: FakeShopifyAdmin) -> Iterator[ShopifyAdmin]:
    with ShopifyAdmin(fake.url_for, lambda shop: TOKEN, timeout=0.3) as connector:
        yield connector


def test_a_requested_return_is_approved_once_when_the_action_is_sent_again_after_a_crash(
    fake: FakeShopifyAdmin, shopify: ShopifyAdmin
) -> None:
    action = outbox_action("approve_return", 7, {"return_id": 4_000_001})
    fake.script("503")  # the first try fails before Shopify does anything
    assert isinstance(shopify.send(action), RetryLater)
    assert shopify.send(action) == Delivered({"return_id": "gid://shopify/Return/4000001", "status": "OPEN"})
    # The worker died before recording that: the action is claimed and sent again.
    assert shopify.send(action) == Delivered(
        {"return_id": "gid://shopify/Return/4000001", "status": "OPEN", "already": True}
    )
    assert [e.kind for e in fake.effects] == ["returnApproveRequest"]


def test_approving_a_requested_return_reports_its_new_status(
    fake: FakeShopifyAdmin, shopify: ShopifyAdmin
) -> None:
    result = shopify.send(outbox_action("approve_return", 7, {"return_id": 4_000_002}))
    assert result == Delivered({"return_id": "gid://shopify/Return/4000002", "status": "OPEN"})
    assert [(e.kind, e.target) for e in fake.effects] == [
        ("returnApproveRequest", "gid://shopify/Return/4000002")
    ]


def test_a_declined_return_is_not_approved_and_a_person_is_needed(
    fake: FakeShopifyAdmin, shopify: ShopifyAdmin
) -> None:
    fake.set_return(4_000_003, "DECLINED")
    result = shopify.send(outbox_action("approve_return", 7, {"return_id": 4_000_003}))
    assert result == Rejected("return gid://shopify/Return/4000003 cannot be approved: it is DECLINED")
    assert fake.effects == []


def test_the_payment_re_check_reports_shopifys_status_gateways_and_transactions(
    fake: FakeShopifyAdmin, shopify: ShopifyAdmin
) -> None:
    fake.add_order(9, financial_status="PENDING", gateway="paypal")
    result = shopify.send(outbox_action("check_payment", 9, {}))
    assert result == Delivered(
        {
            "order_id": "gid://shopify/Order/9",
            "financial_status": "PENDING",
            "gateways": ["paypal"],
            "transactions": [
                {
                    "id": "gid://shopify/OrderTransaction/91",
                    "kind": "SALE",
                    "status": "PENDING",
                    "gateway": "paypal",
                }
            ],
        }
    )
    assert fake.effects == []  # a query changes nothing


def test_a_throttled_re_check_is_retried_later(fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.script("throttled")
    assert isinstance(shopify.send(outbox_action("check_payment", 9, {})), RetryLater)
